#!/usr/bin/env bash
# status-nosit.sh SIXRD_BINARY — on a kernel WITHOUT sit (this machine's own), a node is not ready:
# CNI STATUS (cniVersion 1.1.0) must fail with error code 50 and say why, and ADD must fail with
# code 101 leaving nothing behind. Runs on the host kernel as root inside a throwaway node
# namespace with an underlay address (198.18.0.0/16, RFC 2544); removes it whatever happens.
# Exit 77 (ctest: skipped) when not root or when this kernel does have sit.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 SIXRD_BINARY" >&2; exit 2; }
SIXRD=$(realpath "$1")
# shellcheck source=tests/lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/harness.sh"
HARNESS_QUIET=1  # a check's output is shown only when it fails
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
run() { # run VERB [CONTAINER IFNAME NETNS] -> the plugin's stdout in $out, its status in $rc
  rc=0
  out=$(cni_call -n "$node" \
    -a "${2:+IgnoreUnknown=1;K8S_POD_NAMESPACE=conformance;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=$2}" \
    "$1" "${2:-}" "${3:-}" "${4:-}" <<<"$conf") || rc=$?
}
# with_answer COMMAND... : COMMAND, printing the last plugin answer when it fails
with_answer() { "$@" || { echo "exit $rc: $out"; return 1; }; }

run STATUS
expect "STATUS exits non-zero" with_answer [ "$rc" != 0 ]
expect "STATUS answers CNI error code 50 (plugin not available), cniVersion 1.1.0" with_answer \
  jq -e '.code == 50 and .cniVersion == "1.1.0"' <<<"$out"
expect "STATUS says sit is missing" with_answer jq -e '.msg | test("sit")' <<<"$out"

run ADD nosit-pod eth0 "/run/netns/$pod"
expect "ADD fails with code 101 (no sit/6rd in the kernel)" with_answer jq -e '.code == 101' <<<"$out"
veths=$(ip -n "$node" -j link show type veth | jq '[.[] | select(.ifname | startswith("sx"))] | length')
expect "ADD left no veth on the node" with_answer [ "$veths" = 0 ]
expect "ADD left no eth0 in the pod" with_answer not ip -n "$pod" link show eth0
leases=$( (find "$state/data" -type f 2>/dev/null || true) | wc -l)
expect "ADD left no lease" with_answer [ "$leases" = 0 ]

run STATUS
expect "STATUS is still 50 after the failed ADD" with_answer jq -e '.code == 50' <<<"$out"

summary
