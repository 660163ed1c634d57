#!/usr/bin/env bash
# profile.sh [BUILD_DIR] — where one sixrd ADD spends its time beyond the kernel floor: runs
# tests/bench/profile-vm.sh in one throwaway VM (tests/e2e/vm/run-in-vm.sh) and prints its report:
# the syscalls of one ADD against the kernel floor's, one ADD traced call by call with the gaps
# between calls (user-space time), with SIXRD_PROFILE_PERF=1 a perf profile (linux-perf), and with
# SIXRD_PROFILE_CALLGRIND=1 the instructions of one ADD by function (valgrind).
# Knobs: SIXRD_PROFILE_WARM (warm-up ADDs, 5), SIXRD_PROFILE_N (ADDs under perf, 20),
# SIXRD_PROFILE_BINARY (the sixrd to profile, default BUILD_DIR/sixrd; give an unstripped build
# for symbol names). Not a test. See README.md "Performance".
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
build=${1:-$root/build}
if [ -f "$build/CMakeCache.txt" ]; then
  cmake --build "$build" -j2 --target sixrd sixrd_kernel_floor
fi
command -v strace >/dev/null || { echo "$0: needs strace (apt-get install strace)" >&2; exit 2; }

exec "$root/tests/e2e/vm/run-in-vm.sh" --timeout 900 --smp 2 --mem 2048 \
  "$here/profile-vm.sh" "${SIXRD_PROFILE_BINARY:-$build/sixrd}" "$build/tests/sixrd-kernel-floor"
