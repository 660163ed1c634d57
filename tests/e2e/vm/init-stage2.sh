#!/bin/busybox sh
# shellcheck shell=sh
# sixrd VM, stage 2: PID 1 after switch_root, running under the busybox that stage 1 copied to
# /run/sixrd-vm (a tmpfs) on the overlay root (host / read-only over 9p + tmpfs), with /proc,
# /sys, /dev, /run and the rest already mounted by stage 1.
#
# Runs the requested script with a clean environment and its stdout and stderr on the
# virtio-serial ports sixrd.stdout and sixrd.stderr (the host streams them to its own stdout and
# stderr), reports the exit status on the serial console as "SIXRD-VM-EXIT=<n>" and powers off.
# Nothing here may exit: PID 1 exiting panics the kernel (the host then reports a harness failure
# instead of the script's status).

bb=/run/sixrd-vm/busybox
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

say() { echo "$*" >/dev/console; }
uptime_s() { $bb cut -d' ' -f1 /proc/uptime; }

# virtio-serial ports by name (no udev, so no /dev/virtio-ports/ symlinks).
port() {
	for p in /sys/class/virtio-ports/*; do
		[ -r "$p/name" ] || continue
		if [ "$($bb cat "$p/name")" = "$1" ]; then
			echo "/dev/${p##*/}"
			return 0
		fi
	done
	say "SIXRD-VM-WARNING stage2: no virtio port $1, using the console"
	echo /dev/console
}
out=$(port sixrd.stdout)
err=$(port sixrd.stderr)

# run.conf sets script and cwd and the positional parameters (the script's arguments).
script=
cwd=/
# shellcheck source=/dev/null
. /run/sixrd-vm/run.conf

say "SIXRD-VM-START uptime=$(uptime_s)"
cd "$cwd" 2>/dev/null || cd /
# A clean environment: what a root login would have plus the variables passed through (env.conf,
# sourced by the child shell). The script itself is exec'd by path, so busybox applets never
# stand in for the host's tools.
$bb env -i PATH="$PATH" HOME=/root USER=root LOGNAME=root SHELL=/bin/sh TERM=dumb LANG=C.UTF-8 \
	$bb sh -c '. /run/sixrd-vm/env.conf && exec "$@"' sixrd-vm "$script" "$@" \
	</dev/null >"$out" 2>"$err"
rc=$?
say "SIXRD-VM-END uptime=$(uptime_s)"
say "SIXRD-VM-EXIT=$rc"
$bb sync
echo o >/proc/sysrq-trigger
while :; do $bb sleep 1; done
