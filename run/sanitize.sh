#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/sanitize.sh [BUILD_DIR] - CI's sanitizer stage: an AddressSanitizer + UndefinedBehavior-
# Sanitizer build (gcc, -O1) of the library, the app and the tests, then the unit and MPI tests
# at 1 and 2 ranks, halting on the first error. Benchmarks are not built; perf tests not run.
# Default build directory: build-sanitize/ (kept between runs: ccache and make reuse it).
# Leak reports of MPI's own libraries are suppressed by run/sanitize/lsan.supp, nothing else.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-sanitize}
JOBS=${MICROMOE_JOBS:-$(nproc)}

"$ROOT/run/bootstrap.sh" cpu
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Sanitize -DKokkos_ROOT="$ROOT/.deps/cpu" \
  -DCMAKE_CXX_FLAGS_SANITIZE="$flags" -DCMAKE_C_FLAGS_SANITIZE="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS_SANITIZE="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS_SANITIZE="-fsanitize=address,undefined" \
  -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMICROMOE_ENABLE_GPU_BENCH=OFF -DMICROMOE_TEST_RANKS="1;2" >/dev/null
cmake --build "$BUILD" -j "$JOBS"

# Halt on the first report, with a stack; the exit code makes ctest fail the test.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$ROOT/run/sanitize/lsan.supp:print_suppressions=0"
# Open MPI (4.x) forwards the environment to local ranks; OMPI_MCA_* keep 2 ranks on a 2-core box.
export OMPI_MCA_rmaps_base_oversubscribe=1
cd "$BUILD"
ctest --output-on-failure --no-tests=error -L "unit|mpi" -LE perf -j "$JOBS" --timeout 900
