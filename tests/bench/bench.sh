#!/usr/bin/env bash
# bench.sh — sixrd benchmarks, run on the host. Builds sixrd, the two floors (sixrd-floor-plugin,
# sixrd-kernel-floor: tests/CMakeLists.txt) and the libcni driver when missing, then runs
# tests/bench/bench-vm.sh inside ONE throwaway VM (tests/e2e/vm/run-in-vm.sh: Debian's
# kernel with sit under qemu) and prints its report, ending in a summary table.
#
# Usage: tests/bench/bench.sh [BUILD_DIR]        (default: build)
#
# Knobs (passed into the VM; defaults in brackets):
#   SIXRD_BENCH_PODS      pods per libcni latency run, serial and 4-worker, each plugin   [50]
#   SIXRD_BENCH_ROUNDS    interleaved rounds the serial pods are split into               [5]
#   SIXRD_BENCH_VERSION   VERSION calls per plugin (start-up cost)                        [100]
#   SIXRD_BENCH_WORKERS   parallel workers of the libcni latency runs                     [4]
#   SIXRD_BENCH_SCALE     pods on one sixrd node in the scale run                         [1000]
#   SIXRD_BENCH_IPERF     seconds per iperf3 run                                          [5]
#   SIXRD_BENCH_SETTLE    seconds of quiet after each libcni set's namespaces go          [1]
#   SIXRD_BENCH_SMP, SIXRD_BENCH_MEM   guest CPUs and RAM (MB)                            [2, 2048]
#   SIXRD_BENCH_TIMEOUT   seconds before the VM is killed                                 [1500]
#   SIXRD_BENCH_SCALE_FLOORS  kernel-floor layouts measured alone in the scale run ["sixrd classic"]
#   SIXRD_BENCH_SCALE_PAIRED  1: then sixrd interleaved with the floor in its layout           [1]
# Not a test: nothing here is registered in ctest. See README.md "Performance".
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
build=${1:-$root/build}

# A directory that is not a CMake build (a copy of the binaries, say, so that rebuilding during
# the run cannot change what is measured) is used as it is.
if [ -f "$build/CMakeCache.txt" ]; then
  cmake --build "$build" -j2 --target sixrd sixrd_floor_plugin sixrd_kernel_floor
  "$root/conformance/build-driver.sh" "$build/conformance"
fi

exec "$root/tests/e2e/vm/run-in-vm.sh" --timeout "${SIXRD_BENCH_TIMEOUT:-1500}" \
  --smp "${SIXRD_BENCH_SMP:-2}" --mem "${SIXRD_BENCH_MEM:-2048}" \
  "$here/bench-vm.sh" "$build/sixrd" "$build/conformance/cnidriver" \
  "$build/tests/sixrd-floor-plugin" "$build/tests/sixrd-kernel-floor"
