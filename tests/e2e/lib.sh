#!/usr/bin/env bash
# Shared pieces of the multi-node e2e and the demo. Runs as root inside the VM (a kernel with sit):
# an IPv4 bridge is the underlay (198.18.0.0/16), each node is a network namespace with one address
# on it, and sixrd is invoked per node exactly as a runtime would: CNI_* environment and the
# config on stdin, from inside the node's namespace. Checks (expect, summary) and cni_call come
# from tests/lib/harness.sh, sourced here.
set -euo pipefail
# shellcheck source=tests/lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

SIXRD=${SIXRD:?SIXRD must name the sixrd binary}
E2E_PREFIX=${E2E_PREFIX:-fd00:10::/48}
E2E_UNDERLAY=${E2E_UNDERLAY:-198.18.0.0/16}
E2E_NODES=${E2E_NODES:-3}
E2E_PODS=${E2E_PODS:-2}
E2E_STATE=${E2E_STATE:-/run/sixrd-e2e}
E2E_BRIDGE=sxe2ebr
E2E_VERSION=${E2E_VERSION:-1.1.0}

node_ns() { echo "sxe2e-n$1"; }
pod_ns() { echo "sxe2e-n$1-p$2"; }
node_ip() { echo "198.18.$1.$((10 + $1))"; }
pod_id() { echo "e2e-node$1-pod$2"; }

conf() { # conf NODE [extra json object merged in]  (E2E_CONF_EXTRA is merged into every conf)
  local extra=${2:-'{}'}
  extra=$(jq -n --argjson a "${E2E_CONF_EXTRA:-{\}}" --argjson b "$extra" '$a + $b')
  jq -n --arg v "$E2E_VERSION" --arg p "$E2E_PREFIX" --arg u "$E2E_UNDERLAY" \
    --arg d "$E2E_STATE/node$1/data" --arg l "$E2E_STATE/node$1/sixrd.log" --argjson x "$extra" \
    '{cniVersion: $v, name: "e2e", type: "sixrd", prefix: $p, underlay: $u,
      dataDir: $d, log: {file: $l, level: "debug"}} + $x'
}

# cni NODE VERB CONTAINER IFNAME NETNS [config]  -> stdout of the plugin; returns its status
cni() {
  local node=$1 verb=$2 cid=$3 ifname=$4 netns=$5 config=${6:-}
  [ -n "$config" ] || config=$(conf "$node")
  cni_call -n "$(node_ns "$node")" -a "IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=$cid" \
    ${SIXRD_TEST_FAULT:+-e "SIXRD_TEST_FAULT=$SIXRD_TEST_FAULT"} "$verb" "$cid" "$ifname" "$netns" <<<"$config"
}

# For the tools that run in the VM on their own (tests/bench/*-vm.sh):
# require_sit HOST_SCRIPT: sit loaded, or exit 2 saying to run HOST_SCRIPT (which boots the VM).
require_sit() {
  modprobe sit 2>/dev/null || [ -d /sys/module/sit ] || {
    echo "$0: no sit in this kernel; run me through $1" >&2
    exit 2
  }
}
# nearest_rank P: the P-th percentile (nearest rank) of the numbers on stdin, one a line; nothing
# when there are none.
nearest_rank() {
  sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (!NR) exit
    i = int((p * NR + 99) / 100); if (i < 1) i = 1; print a[i] }'
}
# nodes_up NETNS_PREFIX: the nodes (E2E_NODES) with their underlay, after removing any left by an
# earlier run; on exit (the EXIT trap) the namespaces named NETNS_PREFIX* and the nodes go.
nodes_up() {
  # shellcheck disable=SC2064 # the prefix is fixed now
  trap "set +e; del_netns_prefix '$1'; teardown" EXIT
  teardown
  underlay_up
}

underlay_up() {
  modprobe sit 2>/dev/null || true
  mkdir -p "$E2E_STATE"
  ip link add "$E2E_BRIDGE" type bridge
  ip link set "$E2E_BRIDGE" up
  for n in $(seq 1 "$E2E_NODES"); do
    local ns
    ns=$(node_ns "$n")
    ip netns add "$ns"
    ip link add "sxe2e-u$n" type veth peer name eth0 netns "$ns"
    ip link set "sxe2e-u$n" master "$E2E_BRIDGE" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(node_ip "$n")/16" dev eth0
    ip -n "$ns" link set eth0 up
    mkdir -p "$E2E_STATE/node$n"
  done
}

# add_pod NODE POD -> records the pod address in $E2E_STATE/node$n/pod$p.addr
add_pod() {
  local n=$1 p=$2 out
  ip netns add "$(pod_ns "$n" "$p")"
  out=$(cni "$n" ADD "$(pod_id "$n" "$p")" eth0 "/run/netns/$(pod_ns "$n" "$p")")
  echo "$out" >"$E2E_STATE/node$n/pod$p.json"
  jq -r '.ips[0].address | split("/")[0]' <<<"$out" >"$E2E_STATE/node$n/pod$p.addr"
}

pod_addr() { cat "$E2E_STATE/node$1/pod$2.addr"; }
overlay_addr() { "$SIXRD" node-prefix --prefix "$E2E_PREFIX" --underlay "$E2E_UNDERLAY" \
  --node-ip "$(node_ip "$1")" --json | jq -r '.overlayAddress | split("/")[0]'; }

del_pod() {
  local n=$1 p=$2
  cni "$n" DEL "$(pod_id "$n" "$p")" eth0 "/run/netns/$(pod_ns "$n" "$p")" >/dev/null
  ip netns del "$(pod_ns "$n" "$p")" 2>/dev/null || true
}

# del_netns_prefix PREFIX: removes every network namespace whose name starts with PREFIX, in one
# ip -batch (pods a bench or profile made by the hundred); quiet, never fails.
del_netns_prefix() {
  local batch=$E2E_STATE.del
  ip netns list | awk -v p="$1" 'index($1, p) == 1 {print "netns del " $1}' >"$batch" 2>/dev/null
  [ -s "$batch" ] && ip -force -batch "$batch" 2>/dev/null
  rm -f "$batch"
  return 0
}

# Removes everything the e2e made; safe to call twice and after a partial setup.
teardown() {
  local ns
  for ns in $(ip netns list | awk '/^sxe2e-/ {print $1}'); do ip netns del "$ns" || true; done
  ip link del "$E2E_BRIDGE" 2>/dev/null || true
  rm -rf "$E2E_STATE"
}

# ping6 from a namespace; quiet; returns ping's status
ping_from() { ip netns exec "$1" ping -6 -c1 -W2 -q "$2" >/dev/null 2>&1; }
