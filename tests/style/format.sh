#!/usr/bin/env bash
# format.sh SOURCE_DIR — ctest style_format: every C/C++ file git tracks (tests/fuzz/corpus aside:
# fuzz inputs, not code) is formatted as the committed .clang-format says, checked with
# clang-format-14 --dry-run --Werror. Lists each unformatted file; fix with
#   clang-format-14 -i FILE...
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 SOURCE_DIR" >&2; exit 2; }
cd "$1"
# shellcheck source=tests/lib/harness.sh
. tests/lib/harness.sh
HARNESS_NAME=style_format
tool=${SIXRD_CLANG_FORMAT:-clang-format-14}
command -v "$tool" >/dev/null ||
  { echo "style_format: $tool is missing (bash install/deps.sh test)" >&2; exit 1; }

mapfile -t files < <(git ls-files -- '*.c' '*.cc' '*.cpp' '*.h' '*.hh' '*.hpp' ':!:tests/fuzz/corpus/*')
[ ${#files[@]} -gt 0 ] || { echo "style_format: git lists no C/C++ file in $PWD" >&2; exit 1; }
# One run over every file; a violation is reported as "FILE:LINE:COL: error: ...".
report=$("$tool" --dry-run --Werror "${files[@]}" 2>&1) || true
declare -A bad=()
while IFS= read -r line; do
  [[ $line =~ ^([^:]+):[0-9]+:[0-9]+:\ error: ]] && bad[${BASH_REMATCH[1]}]=1
done <<<"$report"
for f in "${files[@]}"; do
  if [ -n "${bad[$f]:-}" ]; then fail "$f is not clang-formatted"; else pass "$f"; fi
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "style_format: fix with: $tool -i ${!bad[*]}"
elif [ -n "$report" ]; then # an error that names no file of ours (a bad .clang-format, ...)
  printf '%s\n' "$report" >&2
  fail "$tool ran cleanly"
fi
summary
