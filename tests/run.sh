#!/usr/bin/env bash
# The whole test suite: builds, then runs the unit tests (no root), the host-kernel namespace
# tests (root) and the multi-node e2e in a VM with a sit-capable kernel, all through ctest.
# Usage: tests/run.sh [extra ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SIXRD_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure --timeout 1500 "$@"
