#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/test.sh [ctest args...] - the README's test command: installs what is missing
# (run/bootstrap.sh), builds, and runs the whole test suite through ctest: unit, mpi
# (at 1, 2 and 4 ranks) and regression labels. Benchmarks (label perf) are not run here:
#   cd build && ctest -L perf
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MICROMOE_BUILD_DIR:-$ROOT/build}

"$ROOT/run/bootstrap.sh" cpu
"$ROOT/run/build.sh" "$BUILD"
cd "$BUILD"
ctest --output-on-failure --no-tests=error -LE perf "$@"
