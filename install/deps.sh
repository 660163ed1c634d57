#!/usr/bin/env bash
# Installs everything sixrd needs to build and to run every test, from Debian packages only.
# Idempotent; run as root (CI and the development machines are root; elsewhere use sudo).
set -euo pipefail

packages=(
  # build: compiler, CMake, and the libraries (static archives of libnl and libcap; the rest is
  # header-only)
  g++ cmake make pkg-config
  libnl-3-dev libnl-route-3-dev libcap-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev
  # tests on the host kernel: namespaces, veth, reading state back independently
  iproute2 iputils-ping jq procps kmod
  # the DaemonSet manifest check (tests/install/manifest_check.py)
  python3 python3-yaml
  # the VM with a sit-capable kernel (the host kernel has no sit) and what the e2e runs in it
  qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils binutils util-linux iperf3 nftables
  # CNI conformance: a libcni driver built offline, the reference plugins to chain with (portmap
  # needs ip6tables), and shellcheck for the kind scripts
  golang-go golang-github-appc-cni-dev containernetworking-plugins iptables shellcheck
  # fuzzing (tests/fuzz): clang with libFuzzer and the sanitizer runtimes; llvm-symbolizer
  clang libclang-rt-14-dev llvm-14
)

if [ "$(id -u)" != 0 ]; then
  echo "install/deps.sh: run as root (sudo bash install/deps.sh): it installs Debian packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install/deps.sh: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install/deps.sh: every dependency is installed"
fi
