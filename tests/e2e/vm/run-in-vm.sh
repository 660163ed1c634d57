#!/usr/bin/env bash
# run-in-vm.sh — run a script as root inside a throwaway VM that has the sit (6rd) driver.
#
# Usage: run-in-vm.sh [--timeout SECS] [--mem MB] [--smp N] [--env NAME[=VALUE]]... [--quiet]
#                     [--] SCRIPT [ARGS...]
#   --timeout SECS  kill the VM after SECS (default 600) and exit 124
#   --mem MB        guest RAM (default 1024); the guest's writes to / live in it
#   --smp N         guest CPUs (default 1: under TCG a second vCPU makes boot and exec slower)
#   --env NAME[=VALUE]  pass NAME (from here, or with VALUE) to SCRIPT; SIXRD_* pass by default
#   --quiet         no "=== ... ===" banner lines on stderr
#
# Why: this machine's own kernel has no sit driver; Debian's kernel (linux-image-amd64) does. The
# VM boots it under qemu-system-x86_64 with TCG (no KVM) and uses this machine's own / as its
# root filesystem, so the freshly built binaries and every installed tool run unchanged. The
# host is never written to. A trivial script takes about 3 s from start to exit on an idle host.
#
# How:
#   0. The guest kernel and its modules come from guest-payload.sh's cache (Debian's package
#      unpacked, not installed), or else from /boot and /lib/modules.
#   1. Cached in $SIXRD_VM_CACHE (default ${TMPDIR:-/tmp}/sixrd-vm-cache), rebuilt when their
#      inputs change (kernel, busybox, modules.dep, these scripts):
#      - an uncompressed vmlinux extracted from the vmlinuz-<ver>; qemu boots it through its
#        PVH entry point, skipping the xz decompression that costs 3 to 10 s under TCG
#        (SIXRD_VM_PVH=0 boots the bzImage instead);
#      - an initramfs: /bin/busybox (busybox-static), the guest's virtio, virtio_console, 9p and
#        overlay modules in modules.dep order, init-stage1.sh as /init and init-stage2.sh.
#      Each run appends a tiny second cpio archive with run.conf (script, cwd, arguments) and
#      env.conf (variables), all shell-quoted; nothing goes through the kernel command line.
#   2. qemu (q35 stripped of SATA/USB/SMBus/i8042, no NIC) exports / read-only over virtio-9p
#      (mount_tag hostroot, multidevs=remap because / spans several filesystems). Stage 1 (busybox
#      sh) insmods the modules, mounts 9p read-only with cache=loose, puts an overlay with a tmpfs
#      upper layer on top, moves /proc /sys /dev into it, mounts a fresh tmpfs /run, devpts,
#      /dev/shm, cgroup2, bpffs, debugfs, tracefs, adds /dev/fd, brings lo up, sets the hostname
#      sixrd-vm and switch_roots into stage 2 (busybox copied to /run/sixrd-vm). Stage 2 cds to
#      the caller's working directory and runs SCRIPT ARGS as root, stdin /dev/null, in a clean
#      environment (PATH, HOME=/root, USER, LANG=C.UTF-8, TERM=dumb + the passed variables).
#   3. SCRIPT's stdout and stderr go to two virtio-serial ports that the host streams, through
#      FIFOs, to its own stdout and stderr, so kernel messages never mix with them. The kernel
#      console (ttyS0, "quiet loglevel=3") goes to a log file; stage 2 writes SIXRD-VM-START,
#      SIXRD-VM-END and SIXRD-VM-EXIT=<n> there and powers off (sysrq o). This wrapper exits <n>.
#
# Exit status: the script's; 124 on timeout (qemu killed); 125 when the harness itself failed
# (bad usage, or the VM stopped without reporting a status, e.g. a kernel panic or oops: both end
# the VM at once); the console log is then printed to stderr. 130/143 on SIGINT/SIGTERM, after
# killing qemu. Temp files go in every case.
#
# The guest sees the host's files as they were when it read them (9p cache=loose): write what
# the test needs before starting the VM. Its writes land in RAM and vanish at power off. /run is
# empty in the guest; /tmp, /var (including /var/lib/cni), /etc and the rest show the host's
# content. Each exec of a host binary costs tens of ms (jq: 0.3 s) under TCG.
#
# Environment:
#   SIXRD_VM_CACHE    cache directory (initramfs ~3.5 MB, vmlinux ~65 MB)
#   SIXRD_VM_KVER     guest kernel version (default: the newest with a sit module, from the cache
#                     guest-payload.sh fills, else from /boot and /lib/modules)
#   SIXRD_GUEST_CACHE where guest-payload.sh unpacked the kernel, containerd and runc
#                     (default /var/cache/sixrd/guest; SIXRD_GUEST_ROOT names its root/ directly)
#   SIXRD_VM_TIMEOUT, SIXRD_VM_MEM, SIXRD_VM_SMP   defaults for --timeout, --mem, --smp
#   SIXRD_VM_CPU      qemu -cpu model (default max)
#   SIXRD_VM_PVH=0    boot the compressed bzImage (slower) instead of the extracted vmlinux
#   SIXRD_VM_VERBOSE=1  always print the guest console log (kernel messages) after the run
#   SIXRD_VM_APPEND   extra kernel parameters, e.g. "loglevel=7" or "sixrd.debug" (timestamps of
#                     the stage 1 steps on the console)
#   SIXRD_*           every other SIXRD_* variable (not SIXRD_VM_*) is passed to the guest script

set -euo pipefail

prog=run-in-vm
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# Top-level modules the initramfs needs; their dependencies come from modules.dep.
initramfs_modules=(virtio_pci virtio_console 9pnet_virtio 9p overlay)

usage() {
	sed -n '3,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit "${1:-125}"
}
die() {
	echo "$prog: $*" >&2
	exit 125
}
note() { ((quiet)) || echo "$prog: $*" >&2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
# Single-quote $1 for any POSIX sh.
shquote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
# qemu option values escape ',' by doubling it.
qesc() { printf '%s' "${1//,/,,}"; }

timeout_s=${SIXRD_VM_TIMEOUT:-600}
mem=${SIXRD_VM_MEM:-1024}
smp=${SIXRD_VM_SMP:-1}
quiet=0
env_args=()
while (($#)); do
	case $1 in
	--timeout) timeout_s=${2-}; shift 2 || usage ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--mem) mem=${2-}; shift 2 || usage ;;
	--mem=*) mem=${1#*=}; shift ;;
	--smp) smp=${2-}; shift 2 || usage ;;
	--smp=*) smp=${1#*=}; shift ;;
	--env) env_args+=("${2-}"); shift 2 || usage ;;
	--env=*) env_args+=("${1#*=}"); shift ;;
	-q | --quiet) quiet=1; shift ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) break ;;
	esac
done
(($#)) || usage
if ! is_uint "$timeout_s" || ((timeout_s == 0)); then die "--timeout wants a positive number of seconds"; fi
if ! is_uint "$mem" || ((mem < 256)); then die "--mem wants at least 256 (MB)"; fi
if ! is_uint "$smp" || ((smp == 0)); then die "--smp wants a positive number"; fi

script=$1
shift
[[ $script == /* ]] || script=$(realpath -- "$script")
[[ -f $script && -x $script ]] || die "not an executable file: $script"

# --- guest kernel -------------------------------------------------------------------------------
# Debian's kernel comes unpacked from the package into a cache (guest-payload.sh), not installed
# on the host; /boot is the fallback for a machine that has the package installed anyway.
guest_root=${SIXRD_GUEST_ROOT:-${SIXRD_GUEST_CACHE:-/var/cache/sixrd/guest}/root}
kver=${SIXRD_VM_KVER:-}
kernel='' moddir=''
for top in "$guest_root" ""; do
	for k in "$top"/boot/vmlinuz-*; do
		[[ -e $k ]] || continue
		v=${k##*/vmlinuz-}
		[[ -z ${SIXRD_VM_KVER:-} || $v == "$SIXRD_VM_KVER" ]] || continue
		if compgen -G "$top/lib/modules/$v/kernel/net/ipv6/sit.ko*" >/dev/null; then
			kver=$v kernel=$k moddir=$top/lib/modules/$v
		fi
	done
	[[ -n $kernel ]] && break
done
[[ -n $kernel ]] || die "no guest kernel with a sit module${kver:+ (version $kver)} in $guest_root/boot or /boot: run 'bash tests/e2e/vm/guest-payload.sh' as root (install/deps.sh does)"
[[ -r $kernel && -r $moddir/modules.dep ]] || die "cannot read $kernel or $moddir/modules.dep"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
[[ -x /bin/busybox ]] || die "/bin/busybox missing (apt-get install busybox-static)"
command -v cpio >/dev/null || die "cpio missing (apt-get install cpio)"

# --- per-run work directory, cleaned up whatever happens -----------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-vm.XXXXXX")
qemu_pid='' out_pid='' err_pid='' out_fd='' err_fd=''
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM HUP
	[[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
	[[ -n $out_fd ]] && exec {out_fd}>&-
	[[ -n $err_fd ]] && exec {err_fd}>&-
	[[ -n $out_pid ]] && kill "$out_pid" 2>/dev/null
	[[ -n $err_pid ]] && kill "$err_pid" 2>/dev/null
	rm -rf -- "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- cached base initramfs ---------------------------------------------------------------------
cache=${SIXRD_VM_CACHE:-${TMPDIR:-/tmp}/sixrd-vm-cache}
mkdir -p -- "$cache"
key=$(
	{
		echo "$kver $moddir ${initramfs_modules[*]}"
		stat -L -c '%s %Y' /bin/busybox "$moddir/modules.dep"
		cat "$here/init-stage1.sh" "$here/init-stage2.sh"
		cat "${BASH_SOURCE[0]}"
	} | sha256sum | cut -c1-16
)
base=$cache/initramfs-$kver-$key.cpio

# "name path" lines for initramfs_modules and their dependencies, dependencies first.
module_order() {
	awk -v want="${initramfs_modules[*]}" '
		function modname(p) { sub(/.*\//, "", p); sub(/\.ko.*/, "", p); gsub(/-/, "_", p); return p }
		function visit(n,   i, k, d) {
			if (n in seen) return
			seen[n] = 1
			if (!(n in file)) { if (!(n in builtin)) missing = missing " " n; return }
			k = split(deps[n], d, " ")
			for (i = 1; i <= k; i++) visit(modname(d[i]))
			print n, file[n]
		}
		FILENAME ~ /modules\.builtin$/ { builtin[modname($0)] = 1; next }
		{ p = $0; sub(/:.*/, "", p); n = modname(p); file[n] = p; deps[n] = $0; sub(/^[^:]*:/, "", deps[n]) }
		END {
			k = split(want, w, " ")
			for (i = 1; i <= k; i++) visit(w[i])
			if (missing != "") { print "missing modules:" missing > "/dev/stderr"; exit 1 }
		}
	' "$moddir/modules.builtin" "$moddir/modules.dep"
}

build_base() {
	local root=$work/base name f order
	order=$(module_order) || die "kernel modules missing in $moddir"
	mkdir -p "$root"/{bin,dev,proc,sys,mnt,mods,sixrd}
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 0755 "$here/init-stage1.sh" "$root/init"
	install -m 0755 "$here/init-stage2.sh" "$root/sixrd/stage2.sh"
	# Where the guest finds its modules in the 9p root when they are not /lib/modules/<kver>.
	printf 'kver=%s\nguest_moddir=%s\n' "$(shquote "$kver")" "$(shquote "$moddir")" >"$root/sixrd/modules.conf"
	: >"$root/mods/order"
	while read -r name f; do
		case $f in
		*.ko) cp "$moddir/$f" "$root/mods/$name.ko" ;;
		*.ko.xz) xz -dc "$moddir/$f" >"$root/mods/$name.ko" ;;
		*.ko.zst) zstd -qdc "$moddir/$f" >"$root/mods/$name.ko" ;;
		*.ko.gz) gzip -dc "$moddir/$f" >"$root/mods/$name.ko" ;;
		*) die "unsupported module file $f" ;;
		esac
		echo "$name" >>"$root/mods/order"
	done <<<"$order"
	# Uncompressed: unpacking is faster than decompressing under TCG, and size does not matter.
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$base.tmp.$$"
	mv -f "$base.tmp.$$" "$base"
	find "$cache" -maxdepth 1 -name "initramfs-$kver-*.cpio" ! -name "${base##*/}" -delete
	rm -rf "$root"
}
if [[ ! -s $base ]]; then
	note "building the initramfs for $kver in $cache"
	build_base
fi

# --- guest kernel image --------------------------------------------------------------------------
# The bzImage decompresses itself (xz) under TCG, which alone costs 3 to 10 s. qemu boots an
# uncompressed ELF vmlinux directly through its PVH entry point (Debian: CONFIG_PVH=y), so extract
# it once and cache it next to the initramfs. Falls back to the bzImage when extraction fails or
# the kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 0x12).
extract_vmlinux() {
	local out=$1 magic cmd pos
	for magic in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
		case ${magic%%:*} in
		xz) cmd=(xz -dc --single-stream) ;;
		zstd) cmd=(zstd -qdc) ;;
		gzip) cmd=(gzip -dc) ;;
		esac
		command -v "${cmd[0]}" >/dev/null || continue
		while read -r pos; do
			tail -c +$((pos + 1)) "$kernel" | "${cmd[@]}" >"$out" 2>/dev/null || :
			if [[ $(head -c 4 "$out" | od -An -tx1 | tr -d ' ') == 7f454c46 ]] &&
				readelf -n "$out" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)'; then
				return 0
			fi
		done < <(LC_ALL=C grep -obUaP "${magic#*:}" "$kernel" | cut -d: -f1 | head -n 4)
	done
	rm -f "$out"
	return 1
}
boot_kernel=$kernel
if [[ ${SIXRD_VM_PVH:-1} == 1 ]] && command -v readelf >/dev/null; then
	vmlinux=$cache/vmlinux-$kver-$(stat -L -c '%s-%Y' "$kernel")
	if [[ ! -s $vmlinux ]]; then
		note "extracting an uncompressed vmlinux (PVH boot) from $kernel"
		if extract_vmlinux "$vmlinux.tmp.$$"; then
			mv -f "$vmlinux.tmp.$$" "$vmlinux"
			find "$cache" -maxdepth 1 -name "vmlinux-$kver-*" ! -name "${vmlinux##*/}" -delete
		else
			note "no PVH-capable vmlinux in $kernel; booting the bzImage (slower)"
		fi
	fi
	[[ -s $vmlinux ]] && boot_kernel=$vmlinux
fi

# --- per-run archive: what to run, where and with which environment ----------------------------
mkdir -p "$work/run/sixrd"
{
	printf 'script=%s\n' "$(shquote "$script")"
	printf 'cwd=%s\n' "$(shquote "$PWD")"
	printf 'set --'
	for a in "$@"; do printf ' %s' "$(shquote "$a")"; done
	printf '\n'
} >"$work/run/sixrd/run.conf"
{
	while IFS= read -r name; do
		[[ $name == SIXRD_VM_* ]] && continue
		printf 'export %s=%s\n' "$name" "$(shquote "${!name}")"
	done < <(compgen -e | grep '^SIXRD_' || :)
	for e in "${env_args[@]}"; do
		name=${e%%=*}
		[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "--env: bad variable name '$name'"
		if [[ $e == *=* ]]; then
			printf 'export %s=%s\n' "$name" "$(shquote "${e#*=}")"
		elif [[ -n ${!name+set} ]]; then
			printf 'export %s=%s\n' "$name" "$(shquote "${!name}")"
		fi
	done
} >"$work/run/sixrd/env.conf"
(cd "$work/run" && find sixrd | cpio -o -H newc -R 0:0 --quiet) >"$work/run.cpio"
cat "$base" "$work/run.cpio" >"$work/initrd"

# --- output streams ------------------------------------------------------------------------------
mkfifo "$work/stdout" "$work/stderr"
cat "$work/stdout" &
out_pid=$!
cat "$work/stderr" >&2 &
err_pid=$!
# Hold the write ends ourselves so the readers see EOF only once qemu is gone, even if qemu dies
# before opening them.
exec {out_fd}>"$work/stdout" {err_fd}>"$work/stderr"

# --- boot ----------------------------------------------------------------------------------------
# panic=-1 + -no-reboot: a panic (oops=panic: any oops) ends qemu at once, the harness reports it.
# tsc=reliable, no_timer_check, cryptomgr.notests, mitigations=off: skip boot work that only
# costs time under TCG.
cmdline=(
	console=ttyS0 quiet loglevel=3 panic=-1 oops=panic
	mitigations=off tsc=reliable no_timer_check cryptomgr.notests 8250.nr_uarts=1
)
# Extra kernel parameters for debugging, e.g. SIXRD_VM_APPEND="loglevel=7" (later ones win).
read -r -a extra <<<"${SIXRD_VM_APPEND:-}"
cmdline+=("${extra[@]}")
qemu=(
	qemu-system-x86_64
	-nodefaults -no-user-config -no-reboot -display none
	-machine 'q35,sata=off,smbus=off,usb=off,i8042=off,vmport=off,graphics=off'
	-accel tcg -cpu "${SIXRD_VM_CPU:-max}" -smp "$smp" -m "$mem"
	-kernel "$boot_kernel" -initrd "$work/initrd" -append "${cmdline[*]}"
	-chardev "file,id=console,path=$(qesc "$work/console.log")"
	-serial chardev:console
	# Keeps SeaBIOS (and its terminal escape sequences) off the serial console; qemu warns
	# about the name, the warning is filtered out below.
	-fw_cfg 'name=etc/sercon-port,string=0'
	-fsdev 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap'
	-device 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot'
	-device 'virtio-serial-pci,id=vser'
	-chardev "file,id=sout,path=$(qesc "$work/stdout")"
	-device 'virtserialport,bus=vser.0,chardev=sout,name=sixrd.stdout'
	-chardev "file,id=serr,path=$(qesc "$work/stderr")"
	-device 'virtserialport,bus=vser.0,chardev=serr,name=sixrd.stderr'
)
note "=== $script in a VM (kernel $kver, ${mem} MB, $smp CPU, timeout ${timeout_s}s) ==="
t0=$EPOCHREALTIME
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$work/qemu.log" 2>&1 &
qemu_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=''
t1=$EPOCHREALTIME
exec {out_fd}>&- {err_fd}>&-
out_fd='' err_fd=''
wait "$out_pid" "$err_pid" || :
out_pid='' err_pid=''

# --- verdict -------------------------------------------------------------------------------------
console=$(tr -d '\r' <"$work/console.log" 2>/dev/null || :)
# Markers normally start a line, but firmware output without a final newline may precede them.
status=$(sed -n 's/^.*SIXRD-VM-EXIT=\([0-9][0-9]*\)$/\1/p' <<<"$console" | tail -n1)
up_start=$(sed -n 's/^.*SIXRD-VM-START uptime=\([0-9.]*\)$/\1/p' <<<"$console" | tail -n1)
up_end=$(sed -n 's/^.*SIXRD-VM-END uptime=\([0-9.]*\)$/\1/p' <<<"$console" | tail -n1)
# Console lines not worth showing: our own markers and the power-off messages.
console_noise='SIXRD-VM-\(START\|END\|EXIT\)\|sysrq: Power Off\|reboot: Power down\|^$'
show_console() {
	echo "$prog: --- guest console ---" >&2
	grep -v "$console_noise" <<<"$console" >&2 || :
	if grep -qv 'fw_cfg item names should be prefixed' "$work/qemu.log"; then
		echo "$prog: --- qemu ---" >&2
		grep -v 'fw_cfg item names should be prefixed' "$work/qemu.log" >&2 || :
	fi
	echo "$prog: ---------------------" >&2
}

if [[ -z $status ]]; then
	if ((qemu_rc == 124 || qemu_rc == 137)); then
		echo "$prog: TIMEOUT: $script did not finish within ${timeout_s}s; qemu killed" >&2
		show_console
		exit 124
	fi
	echo "$prog: the VM stopped (qemu status $qemu_rc) without reporting the exit status of $script" >&2
	show_console
	exit 125
fi
if ((status != 0)) || [[ ${SIXRD_VM_VERBOSE:-0} == 1 ]]; then
	grep -qv "$console_noise" <<<"$console" && show_console
fi
if ((!quiet)); then
	awk -v t0="$t0" -v t1="$t1" -v s="${up_start:-0}" -v e="${up_end:-0}" -v rc="$status" -v p="$prog" \
		'BEGIN { total = t1 - t0; run = e - s;
		         printf "%s: === exit %d: script %.1fs, VM overhead %.1fs (guest uptime at start %.1fs), total %.1fs ===\n",
		                p, rc, run, total - run, s, total }' >&2
fi
exit "$status"
