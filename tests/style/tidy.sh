#!/usr/bin/env bash
# tidy.sh SOURCE_DIR BUILD_DIR — ctest style_tidy: clang-tidy-14 with the committed .clang-tidy
# (WarningsAsErrors: every finding fails) over the product sources: every translation unit in
# BUILD_DIR/compile_commands.json outside tests/ and BUILD_DIR, and the repository headers they
# include (tests/ aside). One check per translation unit; the findings are printed under it.
# Env: SIXRD_TIDY_JOBS parallel clang-tidy runs (default 2), SIXRD_CLANG_TIDY (clang-tidy-14).
# Fix a finding, or silence it on its line with // NOLINT(check-name) and a reason.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SOURCE_DIR BUILD_DIR" >&2; exit 2; }
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
# shellcheck source=tests/lib/harness.sh
. "$src/tests/lib/harness.sh"
HARNESS_NAME=style_tidy
tool=${SIXRD_CLANG_TIDY:-clang-tidy-14}
jobs=${SIXRD_TIDY_JOBS:-2}
command -v "$tool" >/dev/null || { echo "style_tidy: $tool is missing (bash install/deps.sh test)" >&2; exit 1; }
db=$build/compile_commands.json
[ -f "$db" ] || { echo "style_tidy: no $db (configure with cmake first)" >&2; exit 1; }

# The product translation units: under the source tree, not under tests/ or the build tree.
mapfile -t units < <(jq -r '.[].file' "$db" | sort -u |
  awk -v s="$src/" -v b="$build/" 'index($0, s) == 1 && index($0, s "tests/") != 1 && index($0, b) != 1')
[ ${#units[@]} -gt 0 ] || { echo "style_tidy: no product source in $db" >&2; exit 1; }
# Headers count when they sit in a top-level folder (tests/ aside) that holds a unit or a header
# git tracks: cni|install|ipam|tunnel|...
dirs=$({
  printf '%s\n' "${units[@]#"$src/"}"
  git -C "$src" ls-files -- '*.h' '*.hh' '*.hpp'
} | sed -n 's|/.*||p' | grep -vx tests | sort -u | paste -sd'|')
root_re=$(printf '%s' "$src" | sed 's/[][\.*^$+?(){}|]/\\&/g')
header_filter="^$root_re/($dirs)/"

work=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-tidy.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
start=$SECONDS
# shellcheck disable=SC2016 # $0..$4 belong to the inner bash
printf '%s\0' "${units[@]}" | xargs -0 -P "$jobs" -I{} bash -c '
  out=$4/$(printf "%s" "$3" | tr / _)
  "$0" -p "$1" --quiet --header-filter="$2" "$3" >"$out.log" 2>&1
  echo $? >"$out.rc"' "$tool" "$build" "$header_filter" {} "$work"

for u in "${units[@]}"; do
  out=$work/$(printf '%s' "$u" | tr / _)
  rel=${u#"$src/"}
  if [ "$(cat "$out.rc" 2>/dev/null)" = 0 ] && ! grep -q ': \(warning\|error\): ' "$out.log"; then
    pass "$rel"
  else
    fail "$rel (exit $(cat "$out.rc" 2>/dev/null || echo none))"
    grep -v '^[0-9]* warnings\? \(generated\|treated as errors\?\)\.\?$' "$out.log" | sed 's/^/     | /'
  fi
done
echo "style_tidy: ${#units[@]} translation units, $jobs at a time, $((SECONDS - start)) s; headers: $header_filter"
summary
