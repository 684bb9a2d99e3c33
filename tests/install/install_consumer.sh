#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# install(EXPORT) works: install the built tree into a temporary prefix, configure and build a
# separate project with find_package(MicroMoE), and run it.
set -euo pipefail
build=$1 source=$2 kokkos=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$source/tests/install/consumer" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix;$kokkos" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer" | tee "$work/out.txt"
grep -q "2 replicas of expert 0" "$work/out.txt"
grep -q "kokkos_version" "$work/out.txt"
