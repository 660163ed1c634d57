#!/usr/bin/env bash
# Host-side checks of run-in-vm.sh itself: exit status passing, timeout, argument and environment
# quoting, stdout/stderr separation, large output, a guest kernel panic and clean-up. Runs
# selftest.sh first (the guest environment). Boots about ten VMs; takes a minute or two.
#
#   tests/e2e/vm/check-harness.sh
# SC2015: pass never fails, so "cond && pass || fail" is an if-else. SC2016: the single-quoted
# $-expressions are meant for the guest.
# shellcheck disable=SC2015,SC2016
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
run=$here/run-in-vm.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-vm-check.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
failures=0

pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
# guest NAME BODY: an executable script in $tmp (visible in the guest at the same path).
guest() {
	printf '#!/bin/bash\n%s\n' "$2" >"$tmp/$1"
	chmod +x "$tmp/$1"
	echo "$tmp/$1"
}
# expect_rc WANT NAME CMD...: run CMD, its stdout in $tmp/NAME.out, stderr in $tmp/NAME.err.
expect_rc() {
	local want=$1 name=$2 rc=0 t0=$SECONDS
	shift 2
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
	if ((rc == want)); then
		pass "$name: exit $rc ($((SECONDS - t0)) s)"
	else
		fail "$name: exit $rc, want $want"
		sed 's/^/    /' "$tmp/$name.err"
	fi
}

echo "== selftest.sh in the VM"
if "$run" "$here/selftest.sh"; then pass "selftest"; else fail "selftest (exit $?)"; fi

expect_rc 0 true "$run" "$(guest true.sh 'exit 0')"
expect_rc 3 exit3 "$run" "$(guest exit3.sh 'exit 3')"
expect_rc 124 timeout "$run" --timeout 20 "$(guest hang.sh 'sleep 600')"
grep -q TIMEOUT "$tmp/timeout.err" && pass "timeout: message" || fail "timeout: no TIMEOUT message"
echo 'exit 0' >"$tmp/plain.sh"
expect_rc 125 not-executable "$run" "$tmp/plain.sh"
expect_rc 125 panic "$run" "$(guest panic.sh 'echo c >/proc/sysrq-trigger; sleep 60')"
grep -q 'without reporting' "$tmp/panic.err" && grep -qi 'panic\|sysrq' "$tmp/panic.err" &&
	pass "panic: reported with the console log" || fail "panic: no console log"

# Arguments and environment arrive intact; stdout and stderr stay apart; cwd follows the caller.
args=$(guest args.sh 'printf "<%s>\n" "$@"; echo "foo=<$SIXRD_FOO> bar=<$BAR> vm=<${SIXRD_VM_TIMEOUT-unset}>"; pwd; echo to-stderr >&2')
cd "$tmp"
SIXRD_FOO=$'it\'s "x"\n$HOME `id`' SIXRD_VM_TIMEOUT=300 \
	expect_rc 0 args "$run" --env BAR='a b' "$args" 'one two' "it's" '' '$(id)' '*'
cd "$OLDPWD"
want=$(printf '<%s>\n' 'one two' "it's" '' '$(id)' '*'
	echo "foo=<it's \"x\""
	echo "\$HOME \`id\`> bar=<a b> vm=<unset>"
	echo "$tmp")
[[ $(cat "$tmp/args.out") == "$want" ]] && pass "args: arguments, environment, cwd" ||
	{ fail "args: stdout differs"; diff <(echo "$want") "$tmp/args.out" || :; }
grep -qx to-stderr "$tmp/args.err" && ! grep -q to-stderr "$tmp/args.out" &&
	pass "args: stderr separate" || fail "args: stderr mixed up"

# 20 MB through the stdout port, 1 MB through stderr, nothing lost.
expect_rc 0 bulk "$run" --quiet "$(guest bulk.sh 'seq 1 3000000 | head -c 20000000; head -c 1000000 /dev/zero | tr "\0" x >&2')"
cmp -s "$tmp/bulk.out" <(seq 1 3000000 | head -c 20000000) && pass "bulk: 20 MB stdout intact" ||
	fail "bulk: stdout is $(stat -c %s "$tmp/bulk.out") bytes"
cmp -s "$tmp/bulk.err" <(head -c 1000000 /dev/zero | tr '\0' x) && pass "bulk: 1 MB stderr intact" ||
	fail "bulk: stderr damaged"

# SIGTERM to the harness stops qemu and removes its temp files.
descendants() {
	local p
	for p in $(pgrep -P "$1"); do
		echo "$p"
		descendants "$p"
	done
}
before=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'sixrd-vm.*' | wc -l)
"$run" "$(guest long.sh 'sleep 600')" >/dev/null 2>&1 &
pid=$!
sleep 8
# shellcheck disable=SC2207 # pids, no spaces
kids=($(descendants "$pid"))
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
sleep 1
after=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'sixrd-vm.*' | wc -l)
alive=0
for k in "${kids[@]}"; do kill -0 "$k" 2>/dev/null && alive=$((alive + 1)); done
if ((rc == 143 && after == before && alive == 0 && ${#kids[@]} > 0)); then
	pass "sigterm: exit 143, ${#kids[@]} child processes gone (qemu among them), temp files removed"
else
	fail "sigterm: exit $rc, temp dirs $before -> $after, $alive of ${#kids[@]} children alive"
fi

echo
if ((failures)); then
	echo "$failures check(s) FAILED"
	exit 1
fi
echo "all checks passed"
