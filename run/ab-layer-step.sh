#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/ab-layer-step.sh build|bench|test - A/B of bench_gpu's layer step on a GPU machine, in
# three short device calls while the machine stays warm (carry .deps/sources and .device-src).
# BEFORE = .device-src/before, a snapshot made here first:
#   mkdir -p .device-src/before && git archive REV | tar -x -C .device-src/before && echo REV > .device-src/before/REVISION
# AFTER = this tree.
# build: Kokkos for CUDA from .deps/sources, both builds (ignored dirs, kept while the machine is warm)
# bench: bench_gpu's layer section, alternating before/after ROUNDS times (drift hits both alike)
# test:  AFTER's gpu|mpi ctest of the moe, comm and train suites
set -uo pipefail
OUT=${OUT:-$PWD/.device-out}
mkdir -p "$OUT"
ROOT=$PWD
export PATH=/usr/local/cuda/bin:$PATH
start=$SECONDS
case $1 in
build)
  nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu --format=csv | tee $OUT/gpu.txt
  if [[ ! -f .deps/cuda/bin/nvcc_wrapper ]]; then
    MICROMOE_OFFLINE=1 run/bootstrap.sh cuda > $OUT/bootstrap.log 2>&1 || { tail -30 $OUT/bootstrap.log; exit 1; }
  fi
  echo "kokkos ready after $((SECONDS-start)) s"
  ln -sfn $ROOT/.deps $ROOT/.device-src/before/.deps  # the snapshot finds Kokkos and toml++ where this tree does
  for v in before after; do
    src=$ROOT; [[ $v == before ]] && src=$ROOT/.device-src/before
    cmake -S $src -B $ROOT/build-ab-$v -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT=$ROOT/.deps/cuda -DKokkosKernels_ROOT=$ROOT/.deps/cuda \
      -DCMAKE_CXX_COMPILER=$ROOT/.deps/cuda/bin/nvcc_wrapper -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON \
      -DMICROMOE_ENABLE_LP=OFF -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMICROMOE_TEST_RANKS="1;2" \
      -DMPIEXEC_PREFLAGS="--allow-run-as-root;--oversubscribe" > $OUT/configure-$v.log 2>&1 || { tail -20 $OUT/configure-$v.log; exit 1; }
  done
  cmake --build $ROOT/build-ab-before -j 16 --target bench_gpu > $OUT/build-before.log 2>&1; echo "before rc=$? at $((SECONDS-start)) s"
  cmake --build $ROOT/build-ab-after -j 16 > $OUT/build-after.log 2>&1; echo "after rc=$? at $((SECONDS-start)) s"
  grep -m5 "error" $OUT/build-after.log
  ;;
bench)
  for round in $(seq 1 ${ROUNDS:-2}); do
    for v in before after; do
      $ROOT/build-ab-$v/benchmarks/gpu/bench_gpu --sections layer --csv $OUT/layer-$v-$round.csv > $OUT/layer-$v-$round.txt 2>&1
      echo "$v round $round rc=$? at $((SECONDS-start)) s"
    done
  done
  ;;
test)
  cd $ROOT/build-ab-after && timeout ${TEST_LIMIT:-400} ctest -L 'gpu|mpi' -R 'moe|comm|train' --output-on-failure > $OUT/ctest-after.log 2>&1
  echo "ctest rc=$? at $((SECONDS-start)) s"; tail -25 $OUT/ctest-after.log
  ;;
esac
