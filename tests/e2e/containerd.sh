#!/usr/bin/env bash
# CRI e2e, run inside the VM: a real containerd (Debian's, unpacked by tests/e2e/vm/guest-payload.sh)
# on each of two nodes runs pod sandboxes through its CRI, with sixrd as the network that
# `sixrd install` configured with its defaults. It shows what a kubelet would see: the runtime
# reports each pod's IP inside its node's /64, pods on different nodes reach each other, and
# StopPodSandbox + RemovePodSandbox leave no veth, no route and no lease behind.
#
# Each node is a network namespace on the bridge underlay of lib.sh, running its own containerd
# (own root, state, socket, CNI bin and conf dir) entered with nsenter, which, unlike
# `ip netns exec`, keeps the cgroup2 mount runc needs. The sandbox ("pause") image is built here
# from a static C program and imported with ctr: there is no registry. The CRI calls come from
# tests/e2e/cri/cri.py (python3-grpcio, messages encoded by hand).
#
# Usage: containerd.sh SIXRD_BINARY
# env:   SIXRD_GUEST_ROOT  where containerd, ctr, the runc shim and runc are unpacked
#                          (default /var/cache/sixrd/guest/root, as guest-payload.sh makes it)
#        SIXRD_CTR_PODS    pods per node (default 1)
set -euo pipefail
SIXRD=$(realpath "$1")
export SIXRD
here=$(cd "$(dirname "$0")" && pwd)
E2E_NODES=2
E2E_STATE=/run/sixrd-ctr
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

GUEST_ROOT=${SIXRD_GUEST_ROOT:-/var/cache/sixrd/guest/root}
PODS=${SIXRD_CTR_PODS:-1}
SANDBOX_IMAGE=registry.k8s.io/sixrd-e2e/pause:1
CGROUP_PARENT=/sixrd-e2e
CNI_PLUGINS=/usr/lib/cni # Debian containernetworking-plugins: portmap (the default chain), loopback
CTR_PATH=$GUEST_ROOT/usr/bin:$GUEST_ROOT/usr/sbin:$PATH
# Debian's python3-grpcio belongs to Debian's python3, whatever else PATH finds first.
PY=/usr/bin/python3

missing() { echo "containerd.sh: $*" >&2; exit 1; }
for f in usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/bin/ctr usr/sbin/runc; do
  [ -x "$GUEST_ROOT/$f" ] || missing "$GUEST_ROOT/$f is missing: run tests/e2e/vm/guest-payload.sh" \
    "as root on the host first (it unpacks Debian's containerd and runc there without installing" \
    "them), or point SIXRD_GUEST_ROOT at the unpacked tree"
done
for f in portmap loopback; do
  [ -x "$CNI_PLUGINS/$f" ] || missing "$CNI_PLUGINS/$f is missing (Debian containernetworking-plugins)"
done
[ -f /usr/lib/python3/dist-packages/grpc/__init__.py ] || missing "grpc for $PY is missing (Debian python3-grpcio)"
command -v gcc >/dev/null || missing "gcc is missing (it builds the static pause binary)"

nodedir() { echo "$E2E_STATE/node$1"; }
sock() { echo "$(nodedir "$1")/containerd.sock"; }
in_node() { local n=$1; shift; nsenter --net="/run/netns/$(node_ns "$n")" "$@"; }
section() { echo "== $* (${SECONDS}s)"; }
# cri NODE VERB [ARGS...]: one CRI call through the client started below (one python process for
# the whole test: importing grpc alone takes seconds under emulation). The result goes to stdout;
# an RPC error to stderr, with status 1.
cri() {
  local n=$1 reply
  shift
  echo "$(sock "$n") $*" >&"${CRI_CLIENT[1]}"
  IFS= read -r -t 300 reply <&"${CRI_CLIENT[0]}" || { echo "the CRI client did not answer" >&2; return 1; }
  case $reply in
  ok) ;;
  "ok "*) printf '%s\n' "${reply#ok }" ;;
  *) echo "${reply#error }" >&2; return 1 ;;
  esac
}
ctr_() { local n=$1; shift; "$GUEST_ROOT/usr/bin/ctr" -a "$(sock "$n")" -n k8s.io "$@"; }
node64() { "$SIXRD" node-prefix --prefix "$E2E_PREFIX" --underlay "$E2E_UNDERLAY" \
  --node-ip "$(node_ip "$1")" --json | jq -r .nodePrefix; }
pod_file() { echo "$(nodedir "$1")/pod$2.$3"; } # NODE POD id|ip|netns|state
pod_field() { cat "$(pod_file "$1" "$2" "$3")"; }

# Everything this script made, in reverse: sandboxes (through the CRI while containerd is still
# up), shims and pause processes (by the pids containerd recorded), containerd itself, mounts
# under the state dir, pod network namespaces, cgroups, then lib.sh's namespaces and bridge.
cleanup() {
  set +e
  local n d pid id f
  [ -n "${CRI_CLIENT_PID:-}" ] && { kill "$CRI_CLIENT_PID"; wait "$CRI_CLIENT_PID"; } 2>/dev/null
  for n in $(seq 1 "$E2E_NODES"); do
    d=$(nodedir "$n")
    [ -f "$d/containerd.pid" ] || continue
    pid=$(cat "$d/containerd.pid")
    # After a failed check the runtime may still hold sandboxes (one whose network setup failed
    # has no id here): ask it, with the one-shot client.
    if [ "$failed" != 0 ] && kill -0 "$pid" 2>/dev/null; then
      for id in $(timeout 60 "$PY" "$here/cri/cri.py" "$(sock "$n")" list 2>/dev/null); do
        timeout 60 "$PY" "$here/cri/cri.py" "$(sock "$n")" stop "$id" >/dev/null 2>&1
        timeout 60 "$PY" "$here/cri/cri.py" "$(sock "$n")" remove "$id" >/dev/null 2>&1
      done
    fi
    for f in "$d"/state/io.containerd.runtime.v2.task/*/*/{init,shim}.pid; do
      [ -f "$f" ] && [[ $(cat "$f") =~ ^[0-9]+$ ]] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  findmnt -rn -o TARGET | grep "^$E2E_STATE/" | sort -r | while read -r f; do umount -l "$f"; done
  for f in "$E2E_STATE"/node*/pod*.netns; do
    [ -f "$f" ] || continue
    f=$(cat "$f")
    [ -n "$f" ] && [ -e "$f" ] && { umount "$f"; rm -f "$f"; }
  done
  [ -d /sys/fs/cgroup$CGROUP_PARENT ] && find "/sys/fs/cgroup$CGROUP_PARENT" -depth -type d -exec rmdir {} \;
  teardown
  set -e
}
trap cleanup EXIT
cleanup

coproc CRI_CLIENT { exec "$PY" "$here/cri/cri.py" --serve; }

section "the sandbox image, built here"
mkdir -p "$E2E_STATE"
gcc -static -Os -s -o "$E2E_STATE/pause" "$here/cri/pause.c"
"$PY" "$here/cri/oci-image.py" "$E2E_STATE/pause.tar" "$SANDBOX_IMAGE" "$E2E_STATE/pause"
echo "   $SANDBOX_IMAGE: $(stat -c %s "$E2E_STATE/pause.tar") bytes (static /pause)"

section "nodes: sixrd install (defaults), then containerd"
underlay_up
install_node() {
  local n=$1 d
  d=$(nodedir "$n")
  mkdir -p "$d/cni/bin" "$d/cni/net.d" "$d/root" "$d/state"
  cp "$CNI_PLUGINS/portmap" "$CNI_PLUGINS/loopback" "$d/cni/bin/"
  # A clean environment: no SIXRD_* variable of the caller may change a default. Only what is
  # the node's own is given: the cluster prefix and underlay, and where its files go.
  in_node "$n" env -i PATH="$PATH" "$SIXRD" install --prefix "$E2E_PREFIX" --underlay "$E2E_UNDERLAY" \
    --cni-bin-dir "$d/cni/bin" --cni-conf-dir "$d/cni/net.d" --data-dir "$d/data" \
    --log-file "$d/sixrd.log" >"$d/install.log" 2>&1 || { sed 's/^/   /' "$d/install.log"; return 1; }
  echo "   node$n conflist: $(jq -c '{cniVersion, cniVersions, plugins: [.plugins[].type]}' "$d"/cni/net.d/*.conflist)"
}
start_containerd() {
  local n=$1 d pid
  d=$(nodedir "$n")
  sed -e "s|@ROOT@|$d/root|g" -e "s|@STATE@|$d/state|g" -e "s|@SOCKET@|$(sock "$n")|g" \
    -e "s|@SANDBOX_IMAGE@|$SANDBOX_IMAGE|g" -e "s|@CNI_BIN_DIR@|$d/cni/bin|g" \
    -e "s|@CNI_CONF_DIR@|$d/cni/net.d|g" -e "s|@RUNC@|$GUEST_ROOT/usr/sbin/runc|g" \
    "$here/cri/containerd.toml.in" >"$d/config.toml"
  # nsenter and env exec: $! is containerd's own pid. The shim is found through PATH. The CRI
  # client's pipes stay here: neither containerd nor its shims inherit them.
  local client_in=${CRI_CLIENT[1]} client_out=${CRI_CLIENT[0]}
  in_node "$n" env PATH="$CTR_PATH" containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 \
    {client_in}>&- {client_out}<&- &
  pid=$!
  echo "$pid" >"$d/containerd.pid"
  for _ in $(seq 120); do
    kill -0 "$pid" 2>/dev/null || break
    ctr_ "$n" version >/dev/null 2>&1 && break
    sleep 0.5
  done
  ctr_ "$n" version >/dev/null 2>&1 || { echo "   containerd on node$n did not come up:"; tail -20 "$d/containerd.log" | sed 's/^/   /'; return 1; }
  ctr_ "$n" images import --snapshotter native --platform linux/amd64 "$E2E_STATE/pause.tar" >/dev/null
}
cri_version() {
  local v
  v=$(cri "$1" version) || return 1
  echo "   node$1: $(jq -r '"\(.runtimeName) \(.runtimeVersion), CRI \(.runtimeApiVersion)"' <<<"$v")"
  jq -e '.runtimeName == "containerd" and .runtimeApiVersion == "v1"' <<<"$v" >/dev/null
}
network_ready() {
  local st
  for _ in $(seq 20); do # the CNI config is loaded at start-up; give its first sync a moment
    st=$(cri "$1" status) || return 1
    jq -e '.RuntimeReady.status and .NetworkReady.status' <<<"$st" >/dev/null && return 0
    sleep 0.5
  done
  echo "   $st"
  return 1
}
for n in $(seq 1 "$E2E_NODES"); do
  expect "node$n: sixrd install with its defaults writes the conflist and brings up the tunnel" install_node "$n"
  expect "node$n: containerd starts (own root, state, socket, CNI dirs) and imports the sandbox image" start_containerd "$n"
  expect "node$n: CRI Version answers (runtime.v1)" cri_version "$n"
  expect "node$n: CRI Status reports RuntimeReady and NetworkReady" network_ready "$n"
done

section "pods through the CRI"
run_pod() { # NODE POD: RunPodSandbox, then the runtime's own view of it (PodSandboxStatus)
  local n=$1 p=$2 id err
  if ! id=$(cri "$n" run "ctr-n$n-p$p" sixrd-e2e "uid-n$n-p$p" "$CGROUP_PARENT" 2>"$E2E_STATE/err"); then
    err=$(cat "$E2E_STATE/err")
    echo "   ${err:0:600}"
    [ -f "$(nodedir "$n")/sixrd.log" ] && tail -3 "$(nodedir "$n")/sixrd.log" | sed 's/^/   sixrd.log: /'
    return 1
  fi
  echo "$id" >"$(pod_file "$n" "$p" id)"
  cri "$n" inspect "$id" >"$E2E_STATE/inspect" || return 1
  jq -r '.ip, .netns, .state' "$E2E_STATE/inspect" | {
    read -r ip && read -r netns && read -r state &&
      echo "$ip" >"$(pod_file "$n" "$p" ip)" && echo "$netns" >"$(pod_file "$n" "$p" netns)" &&
      echo "$state" >"$(pod_file "$n" "$p" state)"
  }
}
pod_in_node64() { # the IP containerd reports lies in the node's /64 and the sandbox is ready
  local n=$1 p=$2 ip net
  [ -f "$(pod_file "$n" "$p" state)" ] || return 1
  ip=$(pod_field "$n" "$p" ip)
  net=$(node64 "$n")
  echo "   node$n pod$p: $ip ($(pod_field "$n" "$p" state)), node /64 $net, netns $(pod_field "$n" "$p" netns)"
  [ "$(pod_field "$n" "$p" state)" = SANDBOX_READY ] &&
    "$PY" -S -c 'import ipaddress, sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' "$ip" "$net"
}
pod_link() { # eth0 in the sandbox's netns holds that address as /128, MTU 1480
  local n=$1 p=$2 ns
  [ -f "$(pod_file "$n" "$p" state)" ] || return 1
  ns=$(pod_field "$n" "$p" netns)
  nsenter --net="$ns" ip -j addr show dev eth0 | jq -e --arg a "$(pod_field "$n" "$p" ip)" \
    '.[0].mtu == 1480 and ([.[0].addr_info[] | select(.local == $a and .prefixlen == 128)] | length == 1)' >/dev/null
}
host_route() { # the node routes the pod's /128 to a sixrd host veth
  local n=$1 p=$2
  [ -f "$(pod_file "$n" "$p" state)" ] || return 1
  ip -n "$(node_ns "$n")" -6 -j route show "$(pod_field "$n" "$p" ip)/128" |
    jq -e 'length == 1 and (.[0].dev | startswith("sx"))' >/dev/null
}
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$PODS"); do
  expect "node$n pod$p: RunPodSandbox" run_pod "$n" "$p"
  expect "node$n pod$p: READY, the runtime reports an IP in the node's /64" pod_in_node64 "$n" "$p"
  expect "node$n pod$p: eth0 in the sandbox netns has that IP as /128, MTU 1480" pod_link "$n" "$p"
  expect "node$n pod$p: the node routes that /128 to its sixrd veth" host_route "$n" "$p"
done; done

section "traffic between the runtime's pods, across nodes"
pod_ping() { # FROM_NODE FROM_POD TO_NODE TO_POD
  [ -f "$(pod_file "$1" "$2" state)" ] && [ -f "$(pod_file "$3" "$4" state)" ] || return 1
  nsenter --net="$(pod_field "$1" "$2" netns)" ping -6 -c1 -W3 -q "$(pod_field "$3" "$4" ip)" >/dev/null 2>&1
}
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$PODS"); do
  for m in $(seq 1 "$E2E_NODES"); do for q in $(seq 1 "$PODS"); do
    [ "$n$p" = "$m$q" ] && continue
    expect "node$n pod$p -> node$m pod$q (ping)" pod_ping "$n" "$p" "$m" "$q"
  done; done
done; done

section "StopPodSandbox and RemovePodSandbox"
sx_links() { ip -n "$(node_ns "$1")" -j link show | jq -r '[.[].ifname | select(startswith("sx"))] | join(" ")'; }
leases() { find "$(nodedir "$1")/data" -type f ! -name '.lock-*' 2>/dev/null | wc -l; }
stop_pod() { # Stop is where the runtime calls CNI DEL: the veth and the lease go there
  local n=$1 p=$2 id
  [ -f "$(pod_file "$n" "$p" id)" ] || return 1
  id=$(cat "$(pod_file "$n" "$p" id)")
  cri "$n" stop "$id" || return 1
  if ip -n "$(node_ns "$n")" -6 -j route show "$(pod_field "$n" "$p" ip)/128" | jq -e 'length > 0' >/dev/null; then
    echo "   /128 route left"
    return 1
  fi
  ! grep -rqs -- "$id" "$(nodedir "$n")/data" || { echo "   lease left"; return 1; }
}
remove_pod() { # Remove forgets the sandbox and its netns
  local n=$1 p=$2 id ns
  [ -f "$(pod_file "$n" "$p" id)" ] || return 1
  id=$(cat "$(pod_file "$n" "$p" id)")
  ns=$(pod_field "$n" "$p" netns)
  cri "$n" remove "$id" || return 1
  [[ " $(cri "$n" list) " != *" $id "* ]] && [ ! -e "$ns" ]
}
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$PODS"); do
  expect "node$n pod$p: StopPodSandbox releases its /128 route and lease" stop_pod "$n" "$p"
  expect "node$n pod$p: RemovePodSandbox; the runtime lists it no more, its netns is gone" remove_pod "$n" "$p"
done; done
nothing_left() {
  local n=$1 links routes
  links=$(sx_links "$n")
  routes=$(ip -n "$(node_ns "$n")" -6 -j route show | jq '[.[] | select(.dev // "" | startswith("sx"))] | length')
  if [ -n "$links" ] || [ "$routes" != 0 ] || [ "$(leases "$n")" != 0 ]; then
    echo "   node$n: veths '$links', routes via sx $routes, leases $(leases "$n")"
    return 1
  fi
}
for n in $(seq 1 "$E2E_NODES"); do
  expect "node$n: no sixrd veth, no pod route, no lease file left" nothing_left "$n"
done

echo
echo "${SECONDS}s in all"
summary
