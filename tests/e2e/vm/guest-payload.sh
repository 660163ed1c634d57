#!/usr/bin/env bash
# Fetches the Debian packages the test VM needs but the host must not install, and unpacks them
# into a cache without dpkg knowing: Debian's kernel with its modules (the host kernel has no
# sit), containerd and runc (the CRI e2e runs one containerd per node inside the VM).
#
# Installing linux-image-amd64 on the host would add a second kernel and run update-initramfs,
# which can change what the machine boots; installing containerd would start a service. Here
# `apt-get download` + `dpkg-deb -x` only put files under the cache, which the VM harness
# (run-in-vm.sh) reads: the kernel image from root/boot, the modules from root/lib/modules
# (bind-mounted over /lib/modules/<version> inside the guest), the binaries from root/usr.
#
# usage: tests/e2e/vm/guest-payload.sh            fetch what is missing (as root; idempotent)
#        tests/e2e/vm/guest-payload.sh --print-dir   print the unpacked root and exit
# env:   SIXRD_GUEST_CACHE   cache directory (default /var/cache/sixrd/guest; the unpacked tree
#                            is its root/ subdirectory)
set -euo pipefail

cache=${SIXRD_GUEST_CACHE:-/var/cache/sixrd/guest}
root=$cache/root
case ${1-} in
--print-dir) echo "$root"; exit 0 ;;
-h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
'') ;;
*) echo "guest-payload: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac
[[ $(id -u) == 0 ]] || { echo "guest-payload: run as root (it calls apt-get)" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb depmod; do
	command -v "$tool" >/dev/null || { echo "guest-payload: $tool missing (a Debian system is needed)" >&2; exit 1; }
done

# The concrete kernel package behind the linux-image-amd64 metapackage (e.g.
# linux-image-6.1.0-41-amd64): the metapackage itself holds no files.
kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
kpkg=$(kernel_package)
if [[ -z $kpkg ]]; then
	apt-get update -q >/dev/null
	kpkg=$(kernel_package)
fi
[[ -n $kpkg ]] || { echo "guest-payload: apt knows no linux-image-amd64 (check the apt sources)" >&2; exit 1; }
packages=("$kpkg" containerd runc)

mkdir -p "$cache/debs" "$root"
# apt-get download drops privileges to _apt, which must be able to write the target directory.
chown _apt "$cache/debs" 2>/dev/null || :
cd "$cache/debs"
for p in "${packages[@]}"; do
	version=$(apt-cache policy "$p" | awk '$1 == "Candidate:" { print $2; exit }')
	[[ -n $version && $version != "(none)" ]] || { apt-get update -q >/dev/null; version=$(apt-cache policy "$p" | awk '$1 == "Candidate:" { print $2; exit }'); }
	[[ -n $version && $version != "(none)" ]] || { echo "guest-payload: no installable version of $p" >&2; exit 1; }
	stamp=$cache/unpacked-$p-${version//[:\/]/_}
	[[ -e $stamp ]] && continue
	echo "guest-payload: fetching $p $version"
	rm -f -- "${p}"_*.deb
	apt-get download -q "$p=$version" >/dev/null
	deb=$(compgen -G "${p}_*.deb" | head -n 1) || :
	[[ -n $deb ]] || { echo "guest-payload: apt-get download $p left no .deb" >&2; exit 1; }
	dpkg-deb -x "$deb" "$root"
	# The package's postinst would run depmod; modules.dep is what the harness and modprobe read.
	if [[ $p == "$kpkg" ]]; then
		for m in "$root"/lib/modules/*/; do
			m=${m%/}
			depmod -b "$root" "${m##*/}" || { echo "guest-payload: depmod ${m##*/} failed" >&2; exit 1; }
		done
	fi
	rm -f -- "$deb" "$cache"/unpacked-"$p"-*
	: >"$stamp"
done
echo "guest-payload: ${packages[*]} unpacked in $root"
