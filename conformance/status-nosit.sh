#!/usr/bin/env bash
# status-nosit.sh SIXRD_BINARY — on a kernel WITHOUT sit (this machine's own), a node is not ready:
# CNI STATUS (cniVersion 1.1.0) must fail with error code 50 and say why, and ADD must fail with
# code 101 leaving nothing behind. Runs on the host kernel as root inside a throwaway node
# namespace with an underlay address (198.18.0.0/16, RFC 2544); removes it whatever happens.
# Exit 77 (ctest: skipped) when not root or when this kernel does have sit.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 SIXRD_BINARY" >&2; exit 2; }
SIXRD=$(realpath "$1")
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (network namespaces)"; exit 77; }

node=sxconf-nosit-$$
pod=sxconf-nosit-pod-$$
state=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-nosit.XXXXXX")
cleanup() {
  ip netns del "$pod" 2>/dev/null || true
  ip netns del "$node" 2>/dev/null || true
  rm -rf -- "$state"
}
trap cleanup EXIT

ip netns add "$node"
ip netns add "$pod"
ip -n "$node" link set lo up
ip -n "$node" link add eth0 type veth peer name ul0   # this kernel may lack dummy, never veth
ip -n "$node" link set ul0 up
ip -n "$node" addr add 198.18.7.9/16 dev eth0
ip -n "$node" link set eth0 up
if ip -n "$node" link add sxprobe type sit 2>/dev/null; then
  echo "skipped: this kernel has sit; run conformance/libcni.sh in the VM for the sit-capable case"
  exit 77
fi

conf=$(jq -n --arg d "$state/data" --arg l "$state/sixrd.log" \
  '{cniVersion: "1.1.0", name: "conformance", type: "sixrd", prefix: "fd00:10::/48",
    underlay: "198.18.0.0/16", dataDir: $d, log: {file: $l, level: "debug"}}')
run() { # run VERB [CONTAINER IFNAME NETNS] -> the plugin's stdout; status in $rc
  rc=0
  out=$(ip netns exec "$node" env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="${2:-}" \
    CNI_IFNAME="${3:-}" CNI_NETNS="${4:-}" CNI_PATH=/usr/lib/cni \
    CNI_ARGS="${2:+IgnoreUnknown=1;K8S_POD_NAMESPACE=conformance;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=$2}" \
    "$SIXRD" <<<"$conf") || rc=$?
}

not() { ! "$@" 2>/dev/null; }
passed=0
failed=0
check() { # check "what" command...
  local what=$1
  shift
  if "$@" >/dev/null; then
    passed=$((passed + 1))
    echo "ok   $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what"
    echo "     | exit $rc: $out" >&2
  fi
}

run STATUS
check "STATUS exits non-zero" [ "$rc" != 0 ]
check "STATUS answers CNI error code 50 (plugin not available), cniVersion 1.1.0" \
  jq -e '.code == 50 and .cniVersion == "1.1.0"' <<<"$out"
check "STATUS says sit is missing" jq -e '.msg | test("sit")' <<<"$out"

run ADD nosit-pod eth0 "/run/netns/$pod"
check "ADD fails with code 101 (no sit/6rd in the kernel)" jq -e '.code == 101' <<<"$out"
veths=$(ip -n "$node" -j link show type veth | jq '[.[] | select(.ifname | startswith("sx"))] | length')
check "ADD left no veth on the node" [ "$veths" = 0 ]
check "ADD left no eth0 in the pod" not ip -n "$pod" link show eth0
leases=$( (find "$state/data" -type f 2>/dev/null || true) | wc -l)
check "ADD left no lease" [ "$leases" = 0 ]

run STATUS
check "STATUS is still 50 after the failed ADD" jq -e '.code == 50' <<<"$out"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
