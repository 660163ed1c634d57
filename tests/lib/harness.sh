# shellcheck shell=bash
# harness.sh — the one pass/fail harness of sixrd's shell tests (e2e, conformance, install, kind
# dry run, fuzz). Source it from bash (works with or without `set -euo pipefail`):
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"      (path relative to the script)
#
# Checks
#   expect "what" COMMAND...   runs COMMAND (a function, builtin or program) in this shell and
#                              prints "ok   what" when it exits 0, "FAIL what" otherwise; counts.
#                              COMMAND's output passes through, unless HARNESS_QUIET=1: then it is
#                              kept and printed (to stderr, each line as "     | ...") only when
#                              the check fails.
#   pass "what" / fail "what"  record a check decided by the caller (same lines, same counts).
#   not COMMAND...             succeeds when COMMAND fails (expect "gone" not ip link show x).
#   summary                    prints "SUMMARY <name>: N passed, M failed" and returns 1 when a
#                              check failed or none ran; make it the script's last command.
#                              <name> is $HARNESS_NAME, default the script's file name minus .sh.
#   $passed, $failed           the counts so far (read them; do not set them).
#
# Calling a CNI plugin the way a runtime does
#   cni_call [-n NETNS] [-p CNI_PATH] [-a CNI_ARGS] [-e NAME=VALUE]... [-E] [-x]
#            VERB [CONTAINERID IFNAME NETNS_PATH] [-- COMMAND...]   <CONFIG
#     Executes COMMAND (default: $SIXRD) with CNI_COMMAND=VERB, CNI_PATH (default /usr/lib/cni),
#     CNI_CONTAINERID/CNI_IFNAME/CNI_NETNS when given (even empty; VERSION, STATUS and GC calls
#     usually leave them out), CNI_ARGS only with -a, the network config on stdin. Returns the
#     plugin's status; stdout is the plugin's stdout (the result or the CNI error JSON).
#     -n NETNS  run it inside the named network namespace (`ip netns exec NETNS`), as on a node
#     -e        one more environment variable for the plugin (repeatable)
#     -E        keep this shell's environment instead of a clean one (env -i PATH=$PATH): no
#               extra exec per call, for tight loops that already run inside the node namespace
#     -x        exec: the plugin replaces the calling shell, so after `cni_call -x ... &` the pid in
#               $! is the plugin's own (to SIGKILL it mid-call)
#
# Example:
#   . "$here/../lib/harness.sh"
#   out=$(cni_call -n node1 ADD pod1 eth0 /run/netns/pod1 <<<"$config")
#   expect "ADD gives an IPv6 /128" jq -e '.ips[0].address | endswith("/128")' <<<"$out"
#   summary

passed=0
failed=0
HARNESS_NAME=${HARNESS_NAME:-$(basename -- "$0" .sh)}
HARNESS_QUIET=${HARNESS_QUIET:-0}

pass() {
  passed=$((passed + 1))
  echo "ok   $*"
}

fail() {
  failed=$((failed + 1))
  echo "FAIL $*"
}

not() { ! "$@"; }

# Quiet checks write into one unlinked temporary file, through a write fd and a read fd opened
# on it: a failed check prints what its command added since the last check, a passing one just
# moves the read fd past it. Nothing is left on disk, whatever way the script ends.
_harness_log_w=
_harness_log_r=
_harness_log_open() {
  local f
  f=$(mktemp "${TMPDIR:-/tmp}/sixrd-harness.XXXXXX") || return 1
  # shellcheck disable=SC2094 # two fds on one file, on purpose
  exec {_harness_log_w}>"$f" {_harness_log_r}<"$f"
  rm -f -- "$f"
}

expect() { # expect "what" COMMAND...
  local what=$1 line
  shift
  if [ "$HARNESS_QUIET" != 1 ]; then
    if "$@"; then pass "$what"; else fail "$what"; fi
    return 0
  fi
  [ -n "$_harness_log_w" ] || _harness_log_open
  if "$@" >&"$_harness_log_w" 2>&1; then
    pass "$what"
    while IFS= read -r -u "$_harness_log_r" line; do :; done
  else
    fail "$what"
    while IFS= read -r -u "$_harness_log_r" line || [ -n "$line" ]; do
      printf '     | %s\n' "$line"
    done >&2
  fi
  return 0
}

summary() {
  echo "SUMMARY $HARNESS_NAME: $passed passed, $failed failed"
  if [ $((passed + failed)) = 0 ]; then
    echo "$HARNESS_NAME: no check ran" >&2
    return 1
  fi
  [ "$failed" = 0 ]
}

cni_call() {
  local netns='' clean=1 replace=0 opt OPTIND=1 verb
  local -a vars=() cmd=()
  local cni_path=/usr/lib/cni
  while getopts 'n:p:a:e:Ex' opt; do
    case $opt in
    n) netns=$OPTARG ;;
    p) cni_path=$OPTARG ;;
    a) vars+=("CNI_ARGS=$OPTARG") ;;
    e) vars+=("$OPTARG") ;;
    E) clean=0 ;;
    x) replace=1 ;;
    *) echo "cni_call: bad option" >&2; return 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  [ $# -ge 1 ] || { echo "cni_call: no VERB" >&2; return 2; }
  verb=$1
  shift
  if [ $# -ge 3 ] && [ "$1" != -- ]; then
    vars+=("CNI_CONTAINERID=$1" "CNI_IFNAME=$2" "CNI_NETNS=$3")
    shift 3
  fi
  if [ $# -ge 1 ]; then
    [ "$1" = -- ] || { echo "cni_call: want VERB [CONTAINERID IFNAME NETNS] [-- COMMAND...]" >&2; return 2; }
    shift
    cmd=("$@")
  fi
  [ ${#cmd[@]} -gt 0 ] || cmd=("${SIXRD:?cni_call: SIXRD must name the plugin binary}")
  vars=("CNI_COMMAND=$verb" "CNI_PATH=$cni_path" "${vars[@]}")
  local -a run=()
  [ "$replace" = 0 ] || run=(exec)
  [ -z "$netns" ] || run+=(ip netns exec "$netns")
  if [ "$clean" = 1 ]; then
    "${run[@]}" env -i PATH="$PATH" "${vars[@]}" "${cmd[@]}"
  elif [ -n "$netns" ] || [ "$replace" = 1 ]; then
    "${run[@]}" env "${vars[@]}" "${cmd[@]}"
  else
    (
      for opt in "${vars[@]}"; do export "${opt?}"; done
      exec "${cmd[@]}"
    )
  fi
}
