#!/usr/bin/env bash
# run-conformance.sh — upstream Kubernetes sig-network conformance on a kind cluster whose only pod
# network is sixrd. Needs a Linux workstation with Docker, kind, kubectl, curl and a kernel with
# sit (`sudo modprobe sit`); see conformance/README.md.
#
# Usage: conformance/kind/run-conformance.sh [--dry-run] [--keep] [--reuse-image]
#                                            [--artifacts DIR] [--name CLUSTER]
#   --dry-run      print every step with the resolved values (versions, paths, focus regex, the
#                  rendered ConfigMap) and execute nothing: no docker, kind, kubectl or download
#   --keep         leave the cluster running afterwards (default: delete it)
#   --reuse-image  do not rebuild the sixrd image when it exists already
#   --artifacts    where results go (default: ./_artifacts/kind-conformance-<date>)
#   --name         kind cluster name (default: sixrd-conformance)
#
# Steps, the way kind's own CI (kind/hack/ci/e2e-k8s.sh) runs conformance: build the sixrd image,
# create the cluster (kind-config.yaml: no default CNI, single-stack IPv6, podSubnet = the sixrd
# prefix), load the image into the nodes, apply install/kubernetes/sixrd.yaml with the ConfigMap
# set to this cluster (prefix; underlay = the IPv4 subnet of the docker network "kind"), wait for
# the nodes to become Ready, patch CoreDNS for an offline IPv6 cluster (as kind's CI does), fetch
# e2e.test + ginkgo for the cluster's Kubernetes version, run them with
# --ginkgo.focus='\[sig-network\].*\[Conformance\]' --provider=skeleton, and collect the JUnit
# reports, the cluster logs and sixrd's state in the artifacts directory.
#
# Settings (environment):
#   KIND_NODE_IMAGE   node image (default below, with digest, built for KIND_VERSION)
#   KIND_VERSION      the kind release that image belongs to (a different kind only warns)
#   K8S_VERSION       Kubernetes version of e2e.test (default: the node image's)
#   SIXRD_IMAGE       image tag built from install/Dockerfile and loaded into kind (sixrd:dev)
#   SIXRD_PREFIX      6rd prefix = podSubnet (fdcd:6a70::/48)
#   SERVICE_SUBNET    serviceSubnet, outside the prefix (fd00:96::/112)
#   SIXRD_UNDERLAY    IPv4 underlay (default: read from `docker network inspect kind`)
#   SIXRD_CHAIN       meta plugins chained after sixrd (portmap: hostPort is in conformance)
#   E2E_FOCUS         ginkgo focus regex ('\[sig-network\].*\[Conformance\]')
#   E2E_SKIP          ginkgo skip regex (empty)
#   GINKGO_NODES      parallel ginkgo processes (4)
#   E2E_CACHE         where e2e.test/ginkgo are cached (${XDG_CACHE_HOME:-~/.cache}/sixrd-conformance)
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$here/../.." && pwd)

# --- settings -----------------------------------------------------------------------------------
KIND_VERSION=${KIND_VERSION:-v0.27.0}
KIND_NODE_IMAGE=${KIND_NODE_IMAGE:-kindest/node:v1.32.2@sha256:f226345927d7e348497136874b6d207e0b32cc52154ad8323129352923a3142f}
node_tag=${KIND_NODE_IMAGE#*:}
K8S_VERSION=${K8S_VERSION:-${node_tag%%@*}}
SIXRD_IMAGE=${SIXRD_IMAGE:-sixrd:dev}
SIXRD_PREFIX=${SIXRD_PREFIX:-fdcd:6a70::/48}
SERVICE_SUBNET=${SERVICE_SUBNET:-fd00:96::/112}
SIXRD_UNDERLAY=${SIXRD_UNDERLAY:-}
SIXRD_CHAIN=${SIXRD_CHAIN:-portmap}
E2E_FOCUS=${E2E_FOCUS:-'\[sig-network\].*\[Conformance\]'}
E2E_SKIP=${E2E_SKIP:-}
GINKGO_NODES=${GINKGO_NODES:-4}
E2E_CACHE=${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sixrd-conformance}

dry_run=0
keep=0
reuse_image=0
cluster=sixrd-conformance
artifacts=
usage() { sed -n '5,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --dry-run) dry_run=1 ;;
    --keep) keep=1 ;;
    --reuse-image) reuse_image=1 ;;
    --artifacts) artifacts=${2:?--artifacts needs a directory}; shift ;;
    --name) cluster=${2:?--name needs a cluster name}; shift ;;
    -h | --help) usage ;;
    *) echo "run-conformance.sh: unknown argument $1" >&2; usage ;;
  esac
  shift
done
artifacts=${artifacts:-$PWD/_artifacts/kind-conformance-$(date +%Y%m%d-%H%M%S)}

case $(uname -m) in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
e2e_url=https://dl.k8s.io/$K8S_VERSION/kubernetes-test-linux-$arch.tar.gz
e2e_dir=$E2E_CACHE/$K8S_VERSION-$arch
kind_config=$here/kind-config.yaml
manifest=$repo/install/kubernetes/sixrd.yaml
dockerfile=$repo/install/Dockerfile
kubeconfig=$artifacts/kubeconfig

# --- helpers ------------------------------------------------------------------------------------
step_no=0
step() { step_no=$((step_no + 1)); printf '\n== step %d: %s\n' "$step_no" "$*"; }
note() { printf '   %s\n' "$*"; }
die() { echo "run-conformance.sh: $*" >&2; exit 1; }
# quote ARG : ARG as a shell word a user can paste (single quotes only where needed)
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}
quoted() { local a out=''; for a; do out+=" $(quote "$a")"; done; printf '%s' "${out# }"; }
# run CMD... : print it, execute it unless --dry-run.
run() {
  printf '+ %s\n' "$(quoted "$@")"
  ((dry_run)) || "$@"
}
have() { command -v "$1" >/dev/null 2>&1; }
found() { if have "$1"; then echo "found: $(command -v "$1")"; else echo "MISSING"; fi; }

# prefix_len CIDR
cidr_len() { echo "${1##*/}"; }

# The sixrd manifest with the ConfigMap set for this cluster and the image we loaded. The keys are
# the ConfigMap's documented ones (prefix, underlay, mtu, chain); a line that does not match is
# reported, never silently skipped.
render_manifest() { # render_manifest OUT UNDERLAY
  local out=$1 underlay=$2 key
  sed -e "s#^\(  prefix:\) .*#\1 \"$SIXRD_PREFIX\"#" \
    -e "s#^\(  underlay:\) .*#\1 \"$underlay\"#" \
    -e "s#^\(  mtu:\) .*#\1 \"\"#" \
    -e "s#^\(  chain:\) .*#\1 \"$SIXRD_CHAIN\"#" \
    -e "s#^\(\( *\)image:\) sixrd:.*#\1 $SIXRD_IMAGE#" \
    "$manifest" >"$out"
  # In a single-stack IPv6 cluster status.hostIP is the node's IPv6 address, but sixrd's nodeIP is
  # its IPv4 inside the underlay: drop SIXRD_NODE_IP and let `sixrd install` find that address.
  sed -i -e '/^ *# The node.s own IPv4/d' -e '/- name: SIXRD_NODE_IP/,/fieldPath: status.hostIP/d' "$out"
  for key in prefix underlay chain; do
    grep -q "^  $key: " "$out" || die "$manifest has no ConfigMap key '$key' any more: update render_manifest"
  done
  grep -q "image: $SIXRD_IMAGE\$" "$out" || die "$manifest has no 'image: sixrd:...' line any more: update render_manifest"
}

# kind_underlay : the IPv4 subnet of the docker network "kind"
kind_underlay() {
  docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\n' | grep -m1 -E '^[0-9]+(\.[0-9]+){3}/[0-9]+$'
}

# --- plan ---------------------------------------------------------------------------------------
if ((dry_run)); then
  echo "sixrd kind conformance — DRY RUN: nothing below is executed"
else
  echo "sixrd kind conformance"
fi
cat <<EOF
  repository       $repo
  kind             $KIND_VERSION expected ($(found kind))
  node image       $KIND_NODE_IMAGE
  kubernetes       $K8S_VERSION (e2e.test and ginkgo from $e2e_url)
  e2e cache        $e2e_dir
  cluster          $cluster: 1 control-plane + 2 workers, ipFamily ipv6, no default CNI ($kind_config)
  sixrd image      $SIXRD_IMAGE built from $dockerfile
  manifest         $manifest
  prefix           $SIXRD_PREFIX (= podSubnet)
  service subnet   $SERVICE_SUBNET
  underlay         ${SIXRD_UNDERLAY:-<IPv4 subnet of docker network kind, read after the cluster exists>}
  chain            $SIXRD_CHAIN
  focus            $E2E_FOCUS
  skip             ${E2E_SKIP:-<none>}
  ginkgo nodes     $GINKGO_NODES
  artifacts        $artifacts
  kubeconfig       $kubeconfig
  tools            docker $(found docker); kubectl $(found kubectl); curl $(found curl)
EOF

# --- preflight ----------------------------------------------------------------------------------
step "preflight: tools, the host kernel's sit module, the 6rd rule"
if ((!dry_run)); then
  for t in docker kind kubectl curl tar; do have "$t" || die "$t is missing (see conformance/README.md)"; done
  have_kind=$(kind version 2>/dev/null | awk '{print $2}')
  [ "$have_kind" = "$KIND_VERSION" ] || note "warning: kind $have_kind, the node image was built for $KIND_VERSION"
  [ -f "$dockerfile" ] || die "$dockerfile is missing"
  [ -f "$manifest" ] || die "$manifest is missing"
  if [ ! -d /sys/module/sit ] && ! grep -qw sit /proc/modules 2>/dev/null; then
    die "the host kernel has no sit module loaded; the kind nodes share it: run 'sudo modprobe sit'"
  fi
fi
note "the node containers share this kernel: it needs sit (sudo modprobe sit)"
plen=$(cidr_len "$SIXRD_PREFIX")
if [ -n "$SIXRD_UNDERLAY" ]; then
  ulen=$(cidr_len "$SIXRD_UNDERLAY")
  ((plen + 32 - ulen <= 64)) || die "6rd rule: $SIXRD_PREFIX + (32 - $ulen) > 64; use a shorter prefix or a smaller underlay"
  note "6rd rule: $plen + (32 - $ulen) = $((plen + 32 - ulen)) <= 64"
fi

step "build the sixrd image"
if ((reuse_image)) && ((!dry_run)) && docker image inspect "$SIXRD_IMAGE" >/dev/null 2>&1; then
  note "reusing $SIXRD_IMAGE"
else
  note "in $repo:"
  (cd "$repo" && run docker build -f install/Dockerfile -t "$SIXRD_IMAGE" .)
fi

step "create the kind cluster"
rendered_config=$artifacts/kind-config.yaml
run mkdir -p "$artifacts"
note "kind config: $kind_config with podSubnet $SIXRD_PREFIX, serviceSubnet $SERVICE_SUBNET -> $rendered_config"
if ((!dry_run)); then
  sed -e "s#^\(  podSubnet:\) .*#\1 \"$SIXRD_PREFIX\"#" -e "s#^\(  serviceSubnet:\) .*#\1 \"$SERVICE_SUBNET\"#" \
    "$kind_config" >"$rendered_config"
  # shellcheck disable=SC2317 # run by the EXIT trap
  cleanup() {
    local rc=$?
    if ((keep)); then
      echo "cluster $cluster kept: export KUBECONFIG=$kubeconfig; delete with: kind delete cluster --name $cluster"
    else
      kind delete cluster --name "$cluster" || true
    fi
    exit "$rc"
  }
  trap cleanup EXIT
fi
run kind create cluster --name "$cluster" --image "$KIND_NODE_IMAGE" --config "$rendered_config" \
  --kubeconfig "$kubeconfig" --retain
export KUBECONFIG=$kubeconfig

step "find the underlay and check the 6rd rule"
if [ -z "$SIXRD_UNDERLAY" ]; then
  printf '+ %s\n' "$(quoted docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}')"
  if ((dry_run)); then
    underlay="<IPv4 subnet of docker network kind>"
  else
    underlay=$(kind_underlay) || die "the docker network kind has no IPv4 subnet"
    ulen=$(cidr_len "$underlay")
    ((plen + 32 - ulen <= 64)) || die "6rd rule: $SIXRD_PREFIX + (32 - $ulen) > 64: set SIXRD_PREFIX to a /$((32 + ulen)) or shorter"
  fi
else
  underlay=$SIXRD_UNDERLAY
fi
note "underlay $underlay"

step "load the sixrd image into the nodes"
run kind load docker-image "$SIXRD_IMAGE" --name "$cluster"

step "apply install/kubernetes/sixrd.yaml with the ConfigMap set for this cluster"
rendered_manifest=$artifacts/sixrd.yaml
if ((dry_run)); then
  # Rendered into a temporary file only to show what would be applied (and to prove the
  # substitutions still match the manifest).
  if [ -f "$manifest" ]; then
    tmp=$(mktemp)
    render_manifest "$tmp" "$underlay"
    note "rendered ConfigMap and image (from $manifest):"
    grep -E '^  (prefix|underlay|mtu|underlayInterface|chain): |image: ' "$tmp" | sed 's/^/     | /'
    grep -q SIXRD_NODE_IP "$tmp" || note "SIXRD_NODE_IP (status.hostIP, IPv6 here) removed: sixrd install finds the node's IPv4 in the underlay"
    rm -f "$tmp"
  else
    note "$manifest does not exist yet"
  fi
else
  render_manifest "$rendered_manifest" "$underlay"
fi
run kubectl apply -f "$rendered_manifest"
run kubectl -n kube-system rollout status daemonset/sixrd --timeout=5m

step "wait for the nodes to become Ready (the kubelet sees the conflist sixrd wrote)"
run kubectl wait --for=condition=Ready nodes --all --timeout=5m

step "CoreDNS for an offline IPv6 cluster (as kind's CI does for ipFamily ipv6)"
coredns_patch=(sed -e 's/^.*kubernetes cluster\.local/& internal/' -e '/^.*upstream$/d'
  -e '/^.*fallthrough.*$/d' -e '/^.*forward . \/etc\/resolv.conf$/d' -e '/^.*loop$/d')
printf '+ kubectl -n kube-system get configmap coredns -o yaml | %s | kubectl apply -f -\n' "$(quoted "${coredns_patch[@]}")"
if ((!dry_run)); then
  kubectl -n kube-system get configmap coredns -o yaml | "${coredns_patch[@]}" | kubectl apply -f -
fi
run kubectl -n kube-system rollout restart deployment/coredns
run kubectl -n kube-system rollout status deployment/coredns --timeout=5m
run kubectl get pods -A -o wide

step "fetch e2e.test and ginkgo for Kubernetes $K8S_VERSION"
if ((!dry_run)) && [ -x "$e2e_dir/e2e.test" ] && [ -x "$e2e_dir/ginkgo" ]; then
  note "cached in $e2e_dir"
else
  run mkdir -p "$e2e_dir"
  printf '+ curl -fsSL %s | tar -xz -C %s --strip-components=3 kubernetes/test/bin/e2e.test kubernetes/test/bin/ginkgo\n' \
    "$(quote "$e2e_url")" "$(quote "$e2e_dir")"
  if ((!dry_run)); then
    curl -fsSL "$e2e_url" | tar -xz -C "$e2e_dir" --strip-components=3 kubernetes/test/bin/e2e.test kubernetes/test/bin/ginkgo
  fi
fi

step "run the conformance tests"
# As kind's CI: this env keeps the e2e framework from provider setup; the runtime variables make
# the RuntimeClass tests work.
e2e_env=(KUBERNETES_CONFORMANCE_TEST=y KUBE_CONTAINER_RUNTIME=remote
  KUBE_CONTAINER_RUNTIME_ENDPOINT=unix:///run/containerd/containerd.sock KUBE_CONTAINER_RUNTIME_NAME=containerd)
rc=0
run env "${e2e_env[@]}" "$e2e_dir/ginkgo" --nodes="$GINKGO_NODES" --timeout=2h \
  "$e2e_dir/e2e.test" -- \
  --kubeconfig="$kubeconfig" --provider=skeleton --num-nodes=2 \
  --ginkgo.focus="$E2E_FOCUS" --ginkgo.skip="$E2E_SKIP" \
  --report-dir="$artifacts" --disable-log-dump=true || rc=$?

step "collect results"
run kind export logs "$artifacts/kind-logs" --name "$cluster"
if ((!dry_run)); then
  {
    kubectl get nodes -o wide
    kubectl get pods -A -o wide
    kubectl -n kube-system logs daemonset/sixrd -c install --tail=-1 || true
  } >"$artifacts/cluster-state.txt" 2>&1 || true
  for node in $(kind get nodes --name "$cluster"); do
    docker exec "$node" sh -c 'cat /etc/cni/net.d/10-sixrd.conflist; ip -d link show sixrd0; ip -6 route' \
      >"$artifacts/node-$node.txt" 2>&1 || true
  done
  # <testsuite ... tests="N" skipped="S" failures="F" ...> in each JUnit report (attribute order varies)
  summary=$(cat "$artifacts"/junit_*.xml 2>/dev/null | grep -o '<testsuite [^>]*>' | awk '
    function attr(name,   m) { return match($0, name "=\"[0-9]+\"") ? substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 3) + 0 : 0 }
    { t += attr("tests"); s += attr("skipped"); f += attr("failures") + attr("errors") }
    END { if (NR) printf "%d run, %d failed (%d not selected by the focus)", t - s, f, s }')
  echo "results: ${summary:-no JUnit report} — $artifacts"
else
  note "JUnit reports: $artifacts/junit_*.xml; logs: $artifacts/kind-logs; sixrd state: $artifacts/node-*.txt"
  note "the cluster is deleted afterwards unless --keep"
fi
exit "$rc"
