#!/usr/bin/env bash
# side-by-side.sh SIXRD_A SIXRD_B [PODS] — whether a change to sixrd makes its calls faster: the two
# binaries (say, a copy of the release before the change and the build with it) exec'd directly in
# one throwaway VM (tests/e2e/vm/run-in-vm.sh), alternating pod by pod, PODS pods each (default
# 100), in two passes with the order swapped; prints each binary's ADD and DEL p25/p50/p75 and B's
# p50 over A's (tests/bench/side-by-side-vm.sh). Copy the binaries first: the VM reads them while
# it runs, and a rebuild meanwhile would change what is measured.
#
# The benchmark (tests/bench/bench.sh) compares sixrd with the floors through libcni; at 30 pods a
# set its p50s move by 1-2 ms between runs of the same binaries, more than most changes. Side by
# side, the same host load falls on both binaries: a ratio of 0.98 or 1.02 repeated in both passes
# is a change, one that flips sign between them is noise. Not a test. See README.md "Performance".
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then echo "usage: $0 SIXRD_A SIXRD_B [PODS]" >&2; exit 2; fi
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
for b in "$1" "$2"; do
  [ -x "$b" ] || { echo "$0: $b is not an executable file" >&2; exit 2; }
done
pods=${3:-100}
# 8 calls a pod (2 passes x 2 binaries x ADD and DEL) of 30-50 ms each under emulation, the pod
# namespaces, the boot, and room for a busy host.
timeout=$((300 + pods * 4))

exec "$root/tests/e2e/vm/run-in-vm.sh" --quiet --timeout "$timeout" --smp 2 --mem 2048 \
  "$here/side-by-side-vm.sh" "$(realpath "$1")" "$(realpath "$2")" "$pods"
