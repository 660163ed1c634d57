#!/usr/bin/env bash
# hot-sections.sh — regenerates hot-sections.ld, the linker script that gathers the code a CNI call
# runs at the start of the sixrd binary (fewer page faults per call; README.md "Performance").
# Builds sixrd with its symbols and a link map in a scratch build directory, runs one ADD, its DEL
# and a VERSION under callgrind in one throwaway VM (tests/bench/hot-sections-vm.sh through
# tests/e2e/vm/run-in-vm.sh), and writes the functions they ran, as input sections of that link,
# to hot-sections.ld (tests/bench/hot_sections.py). Run it after changes to what a call runs, and
# commit the result; a stale script only leaves the new code where the linker would put it anyway.
# Knob: SIXRD_HOT_BUILD (the scratch build directory, default a temporary one, removed after).
# Not a test.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
scratch=${SIXRD_HOT_BUILD:-}
if [ -z "$scratch" ]; then
  scratch=$(mktemp -d /tmp/sixrd-hot.XXXXXX)
  trap 'rm -rf "$scratch"' EXIT
fi
cmake -S "$root" -B "$scratch" -DCMAKE_BUILD_TYPE=Release -DSIXRD_STRIP=OFF \
  "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-Map=$scratch/sixrd.map" >/dev/null
cmake --build "$scratch" -j2 --target sixrd
"$root/tests/e2e/vm/run-in-vm.sh" --timeout 900 --smp 2 --mem 2048 \
  "$here/hot-sections-vm.sh" "$scratch/sixrd" >"$scratch/functions.txt"
grep -q '^### version' "$scratch/functions.txt" || {
  echo "$0: the VM run printed no callgrind output; it ended with:" >&2
  tail -n 20 "$scratch/functions.txt" >&2
  exit 1
}
python3 "$here/hot_sections.py" "$scratch/sixrd.map" "$scratch/sixrd" "$scratch/functions.txt" \
  >"$root/hot-sections.ld"
echo "wrote $root/hot-sections.ld"
