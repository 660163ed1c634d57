#!/usr/bin/env bash
# dryrun-test.sh — ctest conformance_kind_dryrun: runs run-conformance.sh --dry-run (no Docker
# needed) and asserts that the plan holds the steps and values that matter; shellchecks the kind
# scripts when shellcheck is installed; checks kind-config.yaml's key settings. The rendered
# ConfigMap proves the substitutions still match install/kubernetes/sixrd.yaml.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-kind-dryrun.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# shellcheck source=tests/lib/harness.sh
. "$repo/tests/lib/harness.sh"
has() { # has "what" FIXED_STRING : the dry-run output holds the line fragment
  if grep -qF -- "$2" "$work/out"; then pass "$1"; else fail "$1 (no line with: $2)"; fi
}

rc=0
env -u SIXRD_PREFIX -u E2E_FOCUS -u E2E_SKIP -u SIXRD_IMAGE -u K8S_VERSION -u KIND_NODE_IMAGE \
  SIXRD_UNDERLAY=172.18.0.0/16 E2E_CACHE="$work/cache" \
  "$here/run-conformance.sh" --dry-run --artifacts "$work/artifacts" >"$work/out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then pass "dry run exits 0"; else fail "dry run exits $rc"; fi
sed 's/^/     | /' "$work/out"

has "says it is a dry run" "DRY RUN: nothing below is executed"
has "focus is sig-network conformance" "focus            \[sig-network\].*\[Conformance\]"
has "node image pinned with a digest" "node image       kindest/node:v1.32.2@sha256:"
has "e2e.test comes from the node image's Kubernetes version" "https://dl.k8s.io/v1.32.2/kubernetes-test-linux-"
has "builds the image from install/Dockerfile" "+ docker build -f install/Dockerfile -t sixrd:dev ."
has "creates the cluster from kind-config.yaml" "+ kind create cluster --name sixrd-conformance --image kindest/node:v1.32.2@sha256:"
has "loads the image into kind" "+ kind load docker-image sixrd:dev --name sixrd-conformance"
has "applies the rendered sixrd manifest" "+ kubectl apply -f $work/artifacts/sixrd.yaml"
has "waits for the DaemonSet" "+ kubectl -n kube-system rollout status daemonset/sixrd"
has "waits for the nodes to be Ready" "+ kubectl wait --for=condition=Ready nodes --all"
has "ConfigMap prefix = the podSubnet" '|   prefix: "fdcd:6a70::/48"'
has "ConfigMap underlay = the kind network's IPv4 subnet" '|   underlay: "172.18.0.0/16"'
has "portmap chained (hostPort is in conformance)" '|   chain: "portmap"'
has "the image in the manifest is the one loaded" "|           image: sixrd:dev"
has "6rd rule checked" "6rd rule: 48 + (32 - 16) = 64 <= 64"
has "ginkgo runs e2e.test in parallel" "ginkgo --nodes=4"
has "e2e.test with --provider=skeleton" "--provider=skeleton --num-nodes=2"
has "e2e.test with the focus regex" "'--ginkgo.focus=\[sig-network\].*\[Conformance\]'"
has "as kind's CI: KUBERNETES_CONFORMANCE_TEST=y" "KUBERNETES_CONFORMANCE_TEST=y"
has "collects the cluster logs" "+ kind export logs $work/artifacts/kind-logs"
if grep -q '^+ docker\|^+ kind\|^+ kubectl' "$work/out" && [ ! -e "$work/artifacts" ] && [ ! -e "$work/cache" ]; then
  pass "nothing was executed (no artifacts or cache directory made)"
else
  fail "the dry run created $work/artifacts or $work/cache"
fi

# An invalid combination must be refused before anything runs.
if SIXRD_UNDERLAY=10.0.0.0/8 "$here/run-conformance.sh" --dry-run --artifacts "$work/a2" >"$work/out2" 2>&1; then
  fail "a /8 underlay with a /48 prefix is refused (6rd rule)"
else
  if grep -q "6rd rule" "$work/out2"; then
    pass "a /8 underlay with a /48 prefix is refused (6rd rule)"
  else
    fail "a /8 underlay is refused, but without naming the 6rd rule"
  fi
fi

cfg=$here/kind-config.yaml
for want in 'disableDefaultCNI: true' 'ipFamily: ipv6' 'podSubnet: "fdcd:6a70::/48"' 'serviceSubnet: "fd00:96::/112"' 'role: worker'; do
  if grep -qF "$want" "$cfg"; then pass "kind-config.yaml: $want"; else fail "kind-config.yaml: $want"; fi
done

if command -v shellcheck >/dev/null; then
  if (cd "$repo" && shellcheck -x "$here/run-conformance.sh" "$here/dryrun-test.sh" "$repo/conformance/libcni.sh" \
    "$repo/conformance/status-nosit.sh" "$repo/conformance/build-driver.sh" "$repo/conformance/driver-check.sh"); then
    pass "shellcheck: conformance scripts are clean"
  else
    fail "shellcheck: conformance scripts"
  fi
else
  echo "skip shellcheck (apt-get install shellcheck)"
fi

summary
