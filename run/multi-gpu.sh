#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/multi-gpu.sh OUT_DIR - everything the multi-GPU issue measures, in one call on a node with
# 2, 4 or 8 GPUs (nvidia-h200-x2 / -x4 / -x8), one MPI rank per GPU, NCCL backend:
#   1. build (run/device-build.sh, with only the MoE exactness tests selected: they run next);
#   2. the exactness tests with the NCCL backend at G ranks (layer vs the serial reference,
#      training, edge cases, bf16 / tf32 / grouped precision);
#   3. bench_exchange: NCCL all-to-all bandwidth, TokenExchange and the layer's dispatch +
#      combine against it, for the same bytes;
#   4. micromoe run on the paper's layer shapes (GPT 32x1.3B, Mixtral 16x2B) at Zipf s = 0.5,
#      1.0, 1.5 and a replayed trace (the s = 1.0 run's routing): ep, ep-capacity, eplb,
#      microep, microep-adaptive, balanced; reports and phase tables (micromoe_report.py);
#   5. bench_gpu's layer step (one rank) for the same build, for reference.
# Layout: G ranks = one MicroEP group of G with d = 2 (EP size G/2), as the decks default.
# MICROMOE_MULTI_STAGES selects stages (default "build tests exchange runs layer");
# MICROMOE_MULTI_ITERATIONS sets training.iterations of the runs (default 12, 2 warm-up).
# Logs, CSVs, reports and markdown tables land in OUT_DIR; the script never stops at a failed
# stage (each stage's status is in OUT_DIR/status.txt) so one call yields everything it can.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: run/multi-gpu.sh OUT_DIR}
mkdir -p "$OUT"
BUILD=${MICROMOE_BUILD_DIR:-$ROOT/build-device}
STAGES=${MICROMOE_MULTI_STAGES:-build tests exchange runs layer}
ITERATIONS=${MICROMOE_MULTI_ITERATIONS:-12}
start=$SECONDS
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
((gpus >= 1)) || { echo "multi-gpu: no GPU visible (nvidia-smi -L)" >&2; exit 1; }
echo "multi-gpu: $gpus GPU(s), stages: $STAGES" | tee "$OUT/status.txt"
nvidia-smi --query-gpu=index,name,memory.total,clocks.sm,clocks.max.sm --format=csv >"$OUT/gpus.txt" 2>&1
nvidia-smi topo -m >"$OUT/topology.txt" 2>&1 || true
git -C "$ROOT" rev-parse --short HEAD >"$OUT/revision.txt" 2>/dev/null || cp "$ROOT/REVISION" "$OUT/revision.txt" 2>/dev/null

mpi=(mpirun)
if mpirun --version 2>&1 | grep -qi "open mpi"; then mpi+=(--allow-run-as-root --bind-to none); fi
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
  for t in test_moe_exact test_moe_training test_moe_edge_cases test_moe_precision; do
    MICROMOE_TEST_BACKEND=nccl "${mpi[@]}" -n "$gpus" "$BUILD/tests/moe/$t" >"$OUT/$t-nccl-np$gpus.txt" 2>&1
    note "$t, NCCL backend, $gpus ranks: rc=$? ($(grep -a -c '^\[       OK' "$OUT/$t-nccl-np$gpus.txt") OK lines)"
  done
fi

if want exchange; then
  "${mpi[@]}" -n "$gpus" "$BUILD/benchmarks/comm/bench_exchange" --backend nccl --csv "$OUT/bench_exchange.csv" \
    >"$OUT/bench_exchange.txt" 2>&1
  note "bench_exchange rc=$?"
fi

py=""
for c in python3 /usr/bin/python3 /usr/local/bin/python3; do
  if command -v "$c" >/dev/null && "$c" -c "import h5py, numpy" 2>/dev/null; then py=$c; break; fi
done
if want runs; then
  for deck in gpt-32x1.3b mixtral-16x2b; do
    for s in 0.5 1.0 1.5; do
      name=$deck-np$gpus-s$s
      "${mpi[@]}" -n "$gpus" "$APP" run "$ROOT/inputs/paper/$deck.toml" parallel.backend=nccl workload.zipf_s="$s" \
        training.iterations="$ITERATIONS" training.warmup_iterations=2 run.report="$OUT/$name.h5" \
        >"$OUT/$name.txt" 2>&1
      note "run $name rc=$?"
      [[ -n $py && -f $OUT/$name.h5 ]] &&
        "$py" "$ROOT/postprocess/micromoe_report.py" "$OUT/$name.h5" --phases >"$OUT/$name.md" 2>&1
    done
    # A replayed trace: the gate's routing recorded by the s = 1.0 run (its ep group), replayed
    # under every strategy (docs/trace.md).
    recorded=$OUT/$deck-np$gpus-s1.0.h5
    if [[ -n $py && -f $recorded ]] &&
      "$py" "$ROOT/postprocess/report_to_trace.py" "$recorded" --strategy ep --out "$OUT/trace-$deck.csv"; then
      name=$deck-np$gpus-trace
      "${mpi[@]}" -n "$gpus" "$APP" run "$ROOT/inputs/paper/$deck.toml" parallel.backend=nccl workload.kind=trace \
        workload.trace_file="$OUT/trace-$deck.csv" training.iterations="$ITERATIONS" training.warmup_iterations=2 \
        run.report="$OUT/$name.h5" >"$OUT/$name.txt" 2>&1
      note "run $name rc=$?"
      "$py" "$ROOT/postprocess/micromoe_report.py" "$OUT/$name.h5" --phases >"$OUT/$name.md" 2>&1
    fi
  done
fi

if want layer; then
  "$BUILD/benchmarks/gpu/bench_gpu" --sections floor,layer --csv "$OUT/bench_gpu_layer.csv" >"$OUT/bench_gpu_layer.txt" 2>&1
  note "bench_gpu layer rc=$?"
fi
note "done"
