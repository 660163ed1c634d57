#!/usr/bin/env bash
# robustness-pods.sh OPS TAG FIRST LAST DEADLINE — the inner loop of one robustness.sh worker, run
# INSIDE the node namespace (robustness.sh's pods(): one `ip netns exec` per batch, not per call:
# each exec of a host binary costs tens of ms under emulation). For i in FIRST..LAST (until the
# epoch second DEADLINE), pod rb-TAG-i in netns sxe2e-TAG-i:
#   OPS cycle: ADD then DEL;  add: ADD only;  del: DEL only.
# Environment: SIXRD (the plugin), CONF_FILE (its config), OUT (file prefix: OUT.addr gets
# "cid address" per successful ADD, OUT.err one line per failed call).
set -euo pipefail
# shellcheck source=tests/lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

# The pod address from an ADD result, without an exec.
addr_of() { [[ $1 =~ \"address\":\ *\"([0-9a-f:]+)/128\" ]] && echo "${BASH_REMATCH[1]}"; }

ops=$1 tag=$2 first=$3 last=$4 deadline=$5
tmp=$OUT.$$.tmp
call() { # VERB CID NETNS : the plugin's stdout into $tmp; this shell's environment, no extra exec
  cni_call -E -a "IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=$2" "$1" "$2" eth0 "$3" \
    <"$CONF_FILE" >"$tmp"
}
for ((i = first; i <= last; i++)); do
  [ "$EPOCHSECONDS" -lt "$deadline" ] || break
  cid=rb-$tag-$i ns=/run/netns/sxe2e-$tag-$i
  if [ "$ops" != del ]; then
    if call ADD "$cid" "$ns" && a=$(addr_of "$(<"$tmp")"); then
      echo "$cid $a" >>"$OUT.addr"
    else
      echo "ADD $cid: $(<"$tmp")" >>"$OUT.err"
    fi
  fi
  if [ "$ops" != add ] && ! call DEL "$cid" "$ns"; then echo "DEL $cid: $(<"$tmp")" >>"$OUT.err"; fi
done
rm -f "$tmp"
