#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/multi-gpu.sh OUT_DIR - everything the multi-GPU issue measures, in one call on a node with
# 2, 4 or 8 GPUs (nvidia-h200-x2 / -x4 / -x8), one MPI rank per GPU, NCCL backend:
#   1. build (run/device-build.sh, with only the MoE exactness tests selected: they run next);
#   2. the exactness tests with the NCCL backend at G ranks (token exchange, layer vs the serial
#      reference, training, edge cases, bf16 / tf32 / grouped precision);
#   3. bench_exchange: NCCL all-to-all bandwidth, TokenExchange and the layer's dispatch +
#      combine against it, for the same bytes, and the layer's whole training step with real
#      communication against the same work on one rank plus raw all-to-alls (GPT, Mixtral);
#   4. micromoe run on the paper's layer shapes (GPT 32x1.3B, Mixtral 16x2B) at Zipf s = 0.5,
#      1.0, 1.5 and a replayed trace (the s = 1.0 run's routing): ep, ep-capacity, eplb,
#      microep, microep-adaptive, balanced; reports, phase and cost tables (micromoe_report.py)
#      and the targets table over all runs (strategy_targets.py: targets.md);
#   5. bench_gpu's layer step (one rank) for the same build, for reference.
# Layout: G ranks = one MicroEP group of G with d = 2 (EP size G/2), as the decks default.
# Environment (defaults in brackets):
#   MICROMOE_MULTI_STAGES      stages to run ["build tests exchange runs layer"]
#   MICROMOE_MULTI_ITERATIONS  training.iterations of the runs [12, the first 2 of them warm-up]
#   MICROMOE_MULTI_DECKS       decks of inputs/paper [gpt-32x1.3b mixtral-16x2b]
#   MICROMOE_MULTI_ZIPF        Zipf exponents [0.5 1.0 1.5]; the trace replays the s = 1.0 run
#   MICROMOE_MULTI_RANKS       ranks [one per GPU; 2 without GPUs]
#   MICROMOE_MULTI_BACKEND     token exchange of tests and runs [nccl]; "mpi" lets several
#                              ranks share a GPU, or run on CPUs, to rehearse the script
#                              (regression_multi_gpu_rehearsal does, in CI)
#   MICROMOE_MULTI_OVERRIDES   extra deck overrides for every run, e.g. smaller layers for a
#                              rehearsal: "model.hidden=256 model.ffn=512" [none]
# Logs, CSVs, reports and markdown tables land in OUT_DIR; the script never stops at a failed
# stage (each stage's status is in OUT_DIR/status.txt) so one call yields everything it can.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: run/multi-gpu.sh OUT_DIR}
mkdir -p "$OUT"
BUILD=${MICROMOE_BUILD_DIR:-$ROOT/build-device}
STAGES=${MICROMOE_MULTI_STAGES:-build tests exchange runs layer}
ITERATIONS=${MICROMOE_MULTI_ITERATIONS:-12}
DECKS=${MICROMOE_MULTI_DECKS:-gpt-32x1.3b mixtral-16x2b}
ZIPF=${MICROMOE_MULTI_ZIPF:-0.5 1.0 1.5}
BACKEND=${MICROMOE_MULTI_BACKEND:-nccl}
read -r -a OVERRIDES <<<"${MICROMOE_MULTI_OVERRIDES:-}"
start=$SECONDS
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
if ((gpus == 0)) && [[ $BACKEND != mpi ]]; then
  echo "multi-gpu: no GPU visible (nvidia-smi -L); without GPUs only MICROMOE_MULTI_BACKEND=mpi runs (a rehearsal)" >&2
  exit 1
fi
ranks=${MICROMOE_MULTI_RANKS:-$((gpus > 0 ? gpus : 2))}
if [[ $BACKEND == nccl ]] && ((ranks > gpus)); then
  echo "multi-gpu: NCCL needs one GPU per rank ($ranks ranks, $gpus GPUs)" >&2
  exit 1
fi
echo "multi-gpu: $gpus GPU(s), $ranks ranks, $BACKEND backend, stages: $STAGES" | tee "$OUT/status.txt"
nvidia-smi --query-gpu=index,name,memory.total,clocks.sm,clocks.max.sm --format=csv >"$OUT/gpus.txt" 2>&1 || true
nvidia-smi topo -m >"$OUT/topology.txt" 2>&1 || true
cp "$ROOT/REVISION" "$OUT/revision.txt" 2>/dev/null || git -C "$ROOT" rev-parse --short HEAD >"$OUT/revision.txt" 2>/dev/null

# NVLink multicast (NVLS) stays off: on these shared hosts it can take the GPUs out of service.
export NCCL_NVLS_ENABLE=0
export GTEST_COLOR=no  # plain "[       OK ]" lines to count
# The launcher: MPIEXEC (and MPIEXEC_FLAGS) when set, as the ctest regression tests set them.
read -r -a mpi <<<"${MPIEXEC:-mpirun} ${MPIEXEC_FLAGS:-}"
if "${mpi[0]}" --version 2>&1 | grep -qi "open mpi"; then mpi+=(--allow-run-as-root --bind-to none --oversubscribe); fi
want() { [[ " $STAGES " == *" $1 "* ]]; }
note() { echo "multi-gpu: $* (after $((SECONDS - start)) s)" | tee -a "$OUT/status.txt"; }

if want build; then
  MICROMOE_DEVICE_TESTS='^test_moe_exact_np1$' MICROMOE_ENABLE_BENCHMARKS=ON \
    "$ROOT/run/device-build.sh" "$OUT/build" >"$OUT/build.txt" 2>&1
  note "build rc=$?"
  rm -f "$OUT/build/build.log" "$OUT/build/bootstrap.log"
fi
APP=$BUILD/app/micromoe
[[ -x $APP ]] || { note "no build at $BUILD"; exit 1; }

if want tests; then
  for test in test_comm_exchange moe/test_moe_exact moe/test_moe_training moe/test_moe_edge_cases \
    moe/test_moe_precision; do
    t=${test#moe/}
    log=$OUT/$t-$BACKEND-np$ranks.txt
    MICROMOE_TEST_BACKEND=$BACKEND "${mpi[@]}" -n "$ranks" "$BUILD/tests/$test" >"$log" 2>&1
    note "$t, $BACKEND backend, $ranks ranks: rc=$? ($(grep -a -c '^\[       OK' "$log") OK, $(grep -a -c '^\[  SKIPPED' "$log") skipped lines)"
  done
fi

if want exchange; then
  "${mpi[@]}" -n "$ranks" "$BUILD/benchmarks/comm/bench_exchange" --backend "$BACKEND" --csv "$OUT/bench_exchange.csv" \
    >"$OUT/bench_exchange.txt" 2>&1
  note "bench_exchange rc=$?"
fi

source "$ROOT/run/python.sh"
py=$(find_python || true)  # postprocessing is skipped without one
if want runs; then
  for deck in $DECKS; do
    for s in $ZIPF; do
      name=$deck-np$ranks-s$s
      "${mpi[@]}" -n "$ranks" "$APP" run "$ROOT/inputs/paper/$deck.toml" parallel.backend="$BACKEND" workload.zipf_s="$s" \
        training.iterations="$ITERATIONS" training.warmup_iterations=2 run.report="$OUT/$name.h5" \
        "${OVERRIDES[@]}" >"$OUT/$name.txt" 2>&1
      note "run $name rc=$?"
      [[ -n $py && -f $OUT/$name.h5 ]] &&
        "$py" "$ROOT/postprocess/micromoe_report.py" "$OUT/$name.h5" --phases >"$OUT/$name.md" 2>&1
    done
    # A replayed trace: the gate's routing recorded by the s = 1.0 run (its ep group), replayed
    # under every strategy (docs/trace.md).
    recorded=$OUT/$deck-np$ranks-s1.0.h5
    if [[ -n $py && -f $recorded ]] &&
      "$py" "$ROOT/postprocess/report_to_trace.py" "$recorded" --strategy ep --out "$OUT/trace-$deck.csv"; then
      name=$deck-np$ranks-trace
      "${mpi[@]}" -n "$ranks" "$APP" run "$ROOT/inputs/paper/$deck.toml" parallel.backend="$BACKEND" workload.kind=trace \
        workload.trace_file="$OUT/trace-$deck.csv" training.iterations="$ITERATIONS" training.warmup_iterations=2 \
        run.report="$OUT/$name.h5" "${OVERRIDES[@]}" >"$OUT/$name.txt" 2>&1
      note "run $name rc=$?"
      "$py" "$ROOT/postprocess/micromoe_report.py" "$OUT/$name.h5" --phases >"$OUT/$name.md" 2>&1
    fi
  done
fi

# MicroEP's targets over every run: microep against ep and balanced (postprocess/strategy_targets.py).
if want runs && [[ -n $py ]]; then
  reports=()
  for deck in $DECKS; do
    for name in $ZIPF trace; do
      [[ $name == trace ]] && f=$OUT/$deck-np$ranks-trace.h5 || f=$OUT/$deck-np$ranks-s$name.h5
      [[ -f $f ]] && reports+=("$f")
    done
  done
  if ((${#reports[@]} > 0)); then
    "$py" "$ROOT/postprocess/strategy_targets.py" "${reports[@]}" --out "$OUT/targets.md" >/dev/null
    note "targets table of ${#reports[@]} runs: rc=$?"
  fi
fi

if want layer; then
  busy=$(nvidia-smi --query-compute-apps=pid,process_name --format=csv,noheader 2>/dev/null || true)
  [[ -z $busy ]] || note "WARNING: other processes use the GPU, bench_gpu's figures are not clean: $busy"
  "$BUILD/benchmarks/gpu/bench_gpu" --sections floor,layer --csv "$OUT/bench_gpu_layer.csv" >"$OUT/bench_gpu_layer.txt" 2>&1
  note "bench_gpu layer rc=$?"
fi
note "done"
