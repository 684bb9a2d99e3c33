#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/check-kokkos5.sh - compile-only check that the library and app sources also build
# against the Kokkos 5 API (Debian unstable's libkokkos-dev 5.2.2 headers; its library
# needs a newer glibc, so nothing is linked or run). Uses the generated build_config.hpp of
# the CPU build (run/build.sh) and -std=c++20 as Kokkos 5 requires.
#
# Kokkos Kernels: the 4.5 headers of Debian unstable's libtrilinos-kokkos-kernels-dev (see
# run/bootstrap.sh kokkos5), searched after the Kokkos 5 headers.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MICROMOE_BUILD_DIR:-$ROOT/build}
"$ROOT/run/bootstrap.sh" kokkos5
[[ -f $BUILD/lib/core/build_config.hpp ]] || "$ROOT/run/build.sh" "$BUILD"

K5=$ROOT/.deps/kokkos5/usr/include/kokkos
[[ -f $K5/Kokkos_Core.hpp ]] || K5=$ROOT/.deps/kokkos5/usr/include
mpi_flags=$(mpicxx -show | tr ' ' '\n' | grep -E '^-I' | tr '\n' ' ')
hdf5_flags=$(pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)

cd "$ROOT"
mapfile -t sources < <(git ls-files 'lib/*.cpp' 'app/*.cpp')
failed=0
for src in "${sources[@]}"; do
  if ! g++ -std=c++20 -fsyntax-only -fopenmp -I"$K5" -I"$ROOT/.deps/kokkos5/kernels/usr/include/trilinos" -Ilib -Iapp -I"$BUILD/lib" \
      $mpi_flags $hdf5_flags -DTOML_HEADER_ONLY=1 "$src" 2>"$BUILD/kokkos5-check.err"; then
    echo "Kokkos 5 check FAILED: $src"
    head -n 30 "$BUILD/kokkos5-check.err"
    failed=$((failed + 1))
  fi
done
echo "Kokkos 5.2.2 compile-only check: ${#sources[@]} sources, $failed failed"
((failed == 0))
