#!/usr/bin/env bash
# static_origin_check.sh SIXRD — the static binary's start-up reads no /proc/self/exe
# (util/static_origin.cpp): glibc's _dl_get_origin is bound to a stub by -Wl,--wrap, so no CNI call
# pays a lookup in /proc for a $ORIGIN that only dlopen would use. Runs one VERSION call under
# valgrind with its system calls traced, and fails when one of them reads that link.
set -euo pipefail

sixrd=${1:?usage: static_origin_check.sh SIXRD}
if ! command -v valgrind >/dev/null; then
  echo "static_origin_check: needs valgrind (bash install/deps.sh test)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%s' '{"cniVersion":"1.0.0"}' |
  CNI_COMMAND=VERSION valgrind --tool=none --trace-syscalls=yes --log-file="$work/valgrind.log" \
    "$sixrd" >"$work/stdout"

if ! grep -q '"supportedVersions"' "$work/stdout"; then
  echo "static_origin_check: VERSION printed no version list:" >&2
  cat "$work/stdout" >&2
  exit 1
fi
# The trace itself, or the check below proves nothing.
if ! grep -q 'sys_read' "$work/valgrind.log"; then
  echo "static_origin_check: valgrind traced no system call (--trace-syscalls?):" >&2
  tail -n 20 "$work/valgrind.log" >&2
  exit 1
fi
if grep -q 'readlink.*/proc/self/exe' "$work/valgrind.log"; then
  echo "static_origin_check: start-up reads /proc/self/exe (-Wl,--wrap=_dl_get_origin gone?):" >&2
  grep 'readlink' "$work/valgrind.log" >&2
  exit 1
fi
echo "static_origin_check: a VERSION call reads no /proc/self/exe"
