#!/usr/bin/env bash
# bench-loop.sh OUT VERB CONFIG ID... — the timed loop of bench-vm.sh's scale run, run INSIDE the
# node namespace (one `ip netns exec` for the whole loop). For each ID it executes $SIXRD once with
# CNI_COMMAND=VERB, container ID, eth0, netns /run/netns/bp-ID and CONFIG on stdin, and appends
# the call's wall time in microseconds ($EPOCHREALTIME, no fork) to OUT; the plugin's stderr and
# a "FAIL VERB ID" line per failed call go to OUT.err. CONFIG "-": no sixrd call, only the
# kernel floor's (OUT then stays empty); the IDs still number the pods.
# With KFLOOR (sixrd-kernel-floor) and KFLOORS set ("NAME:NODE_NETNS_PATH:POD_NETNS_PREFIX:LAYOUT
# ...", LAYOUT as sixrd-kernel-floor takes it, "-" for sixrd's), each call is followed by one
# kernel-floor call of the same verb per entry, for pod N (the number ending ID) in that node
# namespace, netns /run/netns/POD_NETNS_PREFIX-N; the floor's own timing of its work goes to
# OUT.NAME, and the wall time of its whole process (fork, exec, its switch into the node
# namespace, its work, exit), taken as sixrd's is, to OUT.NAME.wall. Interleaved, all see the same
# state of the machine.
set -euo pipefail
# shellcheck source=tests/lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

out=$1 verb=$2 conf=$3
shift 3
: >"$out"
read -r -a floors <<<"${KFLOORS:-}"
for f in "${floors[@]}"; do : >"$out.${f%%:*}" && : >"$out.${f%%:*}.wall"; done
[ -z "${TRIVIAL:-}" ] || : >"$out.trivial"
for id in "$@"; do
  if [ "$conf" != - ]; then
    t0=$EPOCHREALTIME
    cni_call -E -a "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=$id" \
      "$verb" "$id" eth0 "/run/netns/bp-$id" <"$conf" >/dev/null 2>>"$out.err" ||
      echo "FAIL $verb $id" >>"$out.err"
    t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >>"$out"
  fi
  for f in "${floors[@]}"; do
    IFS=: read -r name node pods layout <<<"$f"
    [ "$layout" = - ] && layout=
    n=${id##*-}
    t0=$EPOCHREALTIME
    # shellcheck disable=SC2086 # no layout: no argument
    "$KFLOOR" "${verb,,}" "$node" "/run/netns/$pods-$n" "$n" $layout >>"$out.$name" 2>>"$out.err" ||
      echo "FAIL kernel floor $name $verb $n" >>"$out.err"
    t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >>"$out.$name.wall"
  done
  if [ -n "${TRIVIAL:-}" ]; then
    t0=$EPOCHREALTIME
    CNI_COMMAND=VERSION "$TRIVIAL" </dev/null >/dev/null 2>>"$out.err" || echo "FAIL trivial $id" >>"$out.err"
    t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >>"$out.trivial"
  fi
done
