#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/build.sh [BUILD_DIR] [cmake args...] - configure and build the CPU variant against
# .deps/cpu (made by run/bootstrap.sh). Default build directory: build/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
shift || true
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$ROOT/.deps/cpu" "$@" >/dev/null
cmake --build "$BUILD" -j "${MICROMOE_JOBS:-$(nproc)}"
