#!/usr/bin/env bash
# hot-sections-vm.sh SIXRD — the guest half of tests/bench/hot-sections.sh: runs one ADD, its DEL
# and a VERSION of SIXRD (a build that keeps its symbols) under callgrind (--demangle=no), after a
# warm-up ADD that creates the tunnel, and prints the functions each ran: a "### VERB" line, then
# that run's callgrind "fn=" lines (the guest's files do not reach the host; its stdout does).
# Runs as root INSIDE the VM (a kernel with sit). Not a test. Everything it made is removed on exit.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 SIXRD_BINARY" >&2; exit 2; }
SIXRD=$(realpath "$1")
export SIXRD
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
command -v valgrind >/dev/null || { echo "$0: needs valgrind in the guest" >&2; exit 2; }

export E2E_NODES=1 E2E_PODS=0 E2E_STATE=/run/sixrd-hot E2E_VERSION=1.0.0
# shellcheck source=tests/e2e/lib.sh
. "$here/../e2e/lib.sh"
require_sit tests/bench/hot-sections.sh
nodes_up hs-
conf 1 '{"name": "bench", "log": {"file": "'"$E2E_STATE"'/node1/sixrd.log", "level": "info"}}' >"$E2E_STATE/conf.json"
ip netns add hs-warm
ip netns add hs-1
out=$E2E_STATE/callgrind
mkdir -p "$out"

# call VERB POD [COMMAND PREFIX...]: one call of SIXRD in node 1, as a runtime makes it
call() {
  local verb=$1 pod=$2
  shift 2
  ip netns exec "$(node_ns 1)" env -i PATH="$PATH" CNI_COMMAND="$verb" CNI_CONTAINERID="$pod" \
    CNI_IFNAME=eth0 CNI_NETNS="/run/netns/$pod" CNI_PATH=/usr/lib/cni "$@" "$SIXRD" \
    <"$E2E_STATE/conf.json" >/dev/null
}
grind() { echo valgrind -q --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="$out/$1.cg"; }

call ADD hs-warm
# shellcheck disable=SC2046 # grind's words are the command prefix
call ADD hs-1 $(grind add)
# shellcheck disable=SC2046
call DEL hs-1 $(grind del)
# shellcheck disable=SC2046
call VERSION hs-1 $(grind version)
call DEL hs-warm
for verb in add del version; do
  echo "### $verb"
  grep -E '^c?fn=' "$out/$verb.cg"
done
