#!/usr/bin/env bash
# Installs what sixrd needs, from Debian packages only (bookworm), on a minimal system.
# Idempotent; run as root (CI and the development machines are root; elsewhere use sudo).
#
# usage: bash install/deps.sh [GROUP...]      (default: all groups)
#   build    compile the static `sixrd` binary and its unit tests (the short list: enough for a
#            user who only wants the binary)
#   test     the rest of the host-side tests: namespaces (iproute2, ping, jq read kernel state
#            back), the manifest and Dockerfile checks (python3, PyYAML), the style checks
#            (clang-format-14, clang-tidy-14), valgrind (callgrind counts a refused call's
#            instructions: binary_static_unwind; its syscall trace: binary_static_origin)
#   vm       the demo and the e2e: qemu, busybox, bc (timings in the e2e scripts), and Debian's
#            kernel (with sit), containerd and runc *unpacked into a cache* by
#            tests/e2e/vm/guest-payload.sh, not installed: the host gets no second kernel, no
#            update-initramfs run, no containerd service
#   cni      CNI conformance: Go + Debian's libcni source (a libcni driver built offline), the
#            reference plugins to chain with (portmap needs iptables), python3-grpcio (the CRI
#            client that drives containerd), shellcheck (the kind scripts)
#   fuzz     libFuzzer targets: clang, its sanitizer runtimes, llvm-symbolizer
#   fresh    tests/fresh-machine.sh (the README's commands in a freshly debootstrapped bookworm)
set -euo pipefail

declare -A group=(
  [build]="g++ cmake make pkg-config libnl-3-dev libnl-route-3-dev libcap-dev nlohmann-json3-dev
           libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev"
  [test]="iproute2 iputils-ping jq procps kmod util-linux python3 python3-yaml git clang-format-14
          clang-tidy-14 valgrind"
  [vm]="qemu-system-x86 busybox-static cpio xz-utils binutils kmod util-linux iproute2 iperf3
        nftables libseccomp2 ca-certificates bc tayga curl"
  [cni]="golang-go golang-github-appc-cni-dev containernetworking-plugins iptables python3
         python3-grpcio shellcheck"
  [fuzz]="clang libclang-rt-14-dev llvm-14"
  [fresh]="debootstrap git tar"
)
order=(build test vm cni fuzz fresh)

want=("$@")
[[ ${#want[@]} -gt 0 ]] || want=("${order[@]}")
packages=()
for g in "${want[@]}"; do
  [[ -n ${group[$g]+set} ]] || { echo "install/deps.sh: unknown group $g (groups: ${order[*]})" >&2; exit 2; }
  read -r -a list <<<"${group[$g]//$'\n'/ }"
  packages+=("${list[@]}")
done

if [ "$(id -u)" != 0 ]; then
  echo "install/deps.sh: run as root (sudo bash install/deps.sh): it installs Debian packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in $(printf '%s\n' "${packages[@]}" | sort -u); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install/deps.sh: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install/deps.sh: every package of ${want[*]} is installed"
fi

for g in "${want[@]}"; do
  if [[ $g == vm ]]; then
    bash "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/vm/guest-payload.sh"
  fi
done
