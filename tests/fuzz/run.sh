#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined; objects cached in
# BUILD_DIR) and runs each for SECONDS over a temporary copy of its seed corpus
# (tests/fuzz/corpus/<target>/; new inputs never go into the repository). Fails when any target
# finds a crash, a hang (-timeout per input) or runs out of memory, printing the reproducer (kept
# under BUILD_DIR/artifacts/<target>/) and the crash output.
#
# Usage: tests/fuzz/run.sh [--build-only] BUILD_DIR [SECONDS_PER_TARGET (45)] [TARGET...]
#   TARGET: config prevresult cni_args env (default: all four)
# Environment: SIXRD_FUZZ_CXX (default clang++); SIXRD_FUZZ_ARGS: extra libFuzzer flags;
#   SIXRD_FUZZ_MAX_LEN: the longest input libFuzzer makes, for every target (default: 1 MiB + 16
#   for config, so stdin reaches the plugin's 1 MiB bound and past it; 4096 for the others).
# Exit: 0 all passed, 1 a target failed, 77 no clang/libFuzzer here (the test is skipped).
# Reproduce a finding:  BUILD_DIR/fuzz_<target> BUILD_DIR/artifacts/<target>/crash-...
#   (SIXRD_FUZZ_VERBOSE=1 prints every plugin invocation and its stdout).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_only=0
if [ "${1:-}" = --build-only ]; then
  build_only=1
  shift
fi
if [ $# -lt 1 ]; then
  sed -n '2,15p' "$0" >&2
  exit 2
fi
build=$(mkdir -p "$1" && cd "$1" && pwd)
seconds=${2:-45}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "tests/fuzz: SECONDS must be a positive integer (libFuzzer reads 0 as unlimited)" >&2
  exit 2
fi
shift $(($# >= 2 ? 2 : 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config prevresult cni_args env json)

cxx=${SIXRD_FUZZ_CXX:-clang++}
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe_dir/probe.cpp"
if ! command -v "$cxx" >/dev/null 2>&1 ||
  ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" \
    >"$probe_dir/probe.log" 2>&1; then
  echo "tests/fuzz: SKIP: $cxx cannot link a libFuzzer target (Debian: apt-get install clang" \
    "libclang-rt-14-dev):" >&2
  cat "$probe_dir/probe.log" >&2 || true
  exit 77
fi

echo "tests/fuzz: building the fuzz targets with $cxx into $build"
cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" -j"$(nproc)" >"$build/build.log" 2>&1 ||
  { cat "$build/build.log" >&2; exit 1; }
[ "$build_only" = 1 ] && { echo "tests/fuzz: built ${targets[*]}"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-fuzz-run.XXXXXX")
trap 'rm -rf "$probe_dir" "$work"' EXIT
symbolizer=$(command -v llvm-symbolizer || true)
for candidate in /usr/lib/llvm-*/bin/llvm-symbolizer; do
  [ -z "$symbolizer" ] && [ -x "$candidate" ] && symbolizer=$candidate
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH="$symbolizer"

max_len_of() {
  if [ -n "${SIXRD_FUZZ_MAX_LEN:-}" ]; then echo "$SIXRD_FUZZ_MAX_LEN"; return; fi
  case $1 in config) echo $((1048576 + 16)) ;; *) echo 4096 ;; esac
}
dict_of() { case $1 in config | prevresult | json) echo config.dict ;; *) echo "$1.dict" ;; esac; }
stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n1; }

passed=0
failed=0
for t in "${targets[@]}"; do
  binary=$build/fuzz_$t
  [ -x "$binary" ] || { echo "tests/fuzz: no target $t ($binary)" >&2; failed=$((failed + 1)); continue; }
  corpus=$work/corpus/$t
  artifacts=$build/artifacts/$t
  log=$build/logs/$t.log
  mkdir -p "$corpus" "$work/tmp/$t" "$build/logs"
  rm -rf "$artifacts" && mkdir -p "$artifacts"
  cp -r "$here/corpus/$t/." "$corpus/"
  if [ "$t" = config ]; then
    # Stdin of exactly the plugin's 1 MiB bound (accepted) and one byte more (refused, code 6):
    # made here rather than kept in the repository.
    big_head='{"cniVersion":"1.1.0","name":"fuzznet","type":"sixrd","prefix":"fd00:10::/48",'
    big_head+='"underlay":"198.18.0.0/16","dns":{"options":["'
    big_tail='"]}}'
    for size in 1048576 1048577; do
      { printf %s "$big_head"
        head -c $((size - ${#big_head} - ${#big_tail})) /dev/zero | tr '\0' x
        printf %s "$big_tail"; } >"$corpus/generated-stdin-$size"
    done
  fi
  seeds=$(find "$corpus" -type f | wc -l)
  max_len=$(max_len_of "$t")
  echo "tests/fuzz: $t: ${seconds}s over $seeds seeds, inputs up to $max_len bytes (log $log)"
  rc=0
  # shellcheck disable=SC2086  # SIXRD_FUZZ_ARGS is a list of flags
  TMPDIR=$work/tmp/$t "$binary" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -max_len="$max_len" -dict="$here/$(dict_of "$t")" -artifact_prefix="$artifacts/" \
    -print_final_stats=1 ${SIXRD_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1 || rc=$?
  found=$(find "$artifacts" -type f | sort)
  execs=$(stat_of number_of_executed_units "$log")
  rate=$(stat_of average_exec_per_sec "$log")
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1 || true)
  entries=$(find "$corpus" -type f | wc -l)
  # The longest input the run kept (seeds included); libFuzzer reports no per-input sizes.
  longest=$(find "$corpus" -type f -printf '%s\n' | sort -n | tail -n1)
  if [ "$rc" = 0 ] && [ -z "$found" ]; then
    passed=$((passed + 1))
    echo "tests/fuzz: $t: PASS: ${execs:-?} executions, ${rate:-?}/s, ${cov:-no coverage line}," \
      "corpus $seeds -> $entries, max_len $max_len, longest corpus input ${longest:-0} bytes"
  else
    failed=$((failed + 1))
    echo "tests/fuzz: $t: FAIL (libFuzzer exit $rc) after ${execs:-?} runs"
    for f in $found; do echo "  reproducer: $f   (run: $binary $f)"; done
    echo "----- crash output ($log, from the first report) -----"
    start=$(grep -nE '^=== sixrd fuzz: property violated|^==[0-9]+==ERROR|runtime error:|ALARM: working on|out-of-memory|^==[0-9]+== ERROR: libFuzzer' "$log" |
      head -n1 | cut -d: -f1)
    tail -n +"${start:-1}" "$log" | head -n 120
    echo "-----"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
