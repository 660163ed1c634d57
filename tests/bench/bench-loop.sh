#!/usr/bin/env bash
# bench-loop.sh OUT VERB CONFIG ID... — the timed loop of bench-vm.sh's scale run, run INSIDE the
# node namespace (one `ip netns exec` for the whole loop). For each ID it executes $SIXRD once with
# CNI_COMMAND=VERB, container ID, eth0, netns /run/netns/bp-ID and CONFIG on stdin, and appends
# the call's wall time in microseconds ($EPOCHREALTIME, no fork) to OUT; the plugin's stderr and
# a "FAIL VERB ID" line per failed call go to OUT.err.
set -euo pipefail
# shellcheck source=tests/lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

out=$1 verb=$2 conf=$3
shift 3
: >"$out"
for id in "$@"; do
  t0=$EPOCHREALTIME
  cni_call -E -a "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=$id" \
    "$verb" "$id" eth0 "/run/netns/bp-$id" <"$conf" >/dev/null 2>>"$out.err" ||
    echo "FAIL $verb $id" >>"$out.err"
  t1=$EPOCHREALTIME
  echo $((${t1/./} - ${t0/./})) >>"$out"
done
