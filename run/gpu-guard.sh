#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/gpu-guard.sh BUILD_DIR OUT_DIR [--baseline FILE] - the GPU regression guard, for anyone
# who changes the data path. On a GPU machine, with a CUDA build (run/device-build.sh makes one
# there), in well under 10 minutes:
#   1. bench_gpu: copy and GEMM floors, the expert FFN path per precision, grouped GEMMs, the
#      dispatch / combine row kernels, and one layer training step against its floor;
#   2. the emulated cluster (micromoe emulate): microep against ep, eplb and balanced with
#      each rank's expert work timed on the GPU, 8 and 32 ranks, Zipf s = 0.5, 1.0, 1.5;
#   3. the MPI exchange backend with 4 ranks sharing the GPU (inputs/gpu/exchange.toml);
#   4. the verdict: benchmarks/gpu/check_guard.py (targets; regressions against --baseline).
# Everything lands in OUT_DIR: logs, CSV, HDF5 reports. Figures go to docs/PERFORMANCE.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:?usage: run/gpu-guard.sh BUILD_DIR OUT_DIR [--baseline FILE]}
OUT=${2:?usage: run/gpu-guard.sh BUILD_DIR OUT_DIR [--baseline FILE]}
shift 2
mkdir -p "$OUT"
APP=$BUILD/app/micromoe
start=$SECONDS
stage() { echo "gpu-guard: $* (after $((SECONDS - start)) s)"; }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv >"$OUT/gpu.txt" 2>&1 || true
cp "$ROOT/REVISION" "$OUT/revision.txt" 2>/dev/null || git -C "$ROOT" rev-parse --short HEAD >"$OUT/revision.txt" 2>/dev/null || true

# Another process on the GPU (a run left over from an earlier command, say) skews every figure.
busy=$(nvidia-smi --query-compute-apps=pid,process_name --format=csv,noheader 2>/dev/null || true)
[[ -z $busy ]] || echo "gpu-guard: WARNING: other processes use the GPU, figures are not clean: $busy" |
  tee "$OUT/gpu-busy.txt"
stage "bench_gpu"
"$BUILD/benchmarks/gpu/bench_gpu" --csv "$OUT/bench_gpu.csv" 2>&1 | tee "$OUT/bench_gpu.txt"

mpi_flags=()
if mpirun --version 2>&1 | grep -qi "open mpi"; then mpi_flags=(--allow-run-as-root --oversubscribe); fi
# MICROMOE_GUARD_EMULATE: the emulated runs as DECK:RANKS:ZIPF_S words (default: all twelve).
cases=${MICROMOE_GUARD_EMULATE:-}
if [[ -z $cases ]]; then
  for deck in gpt mixtral; do for ranks in 8 32; do for s in 0.5 1.0 1.5; do cases+=" $deck:$ranks:$s"; done; done; done
fi
for c in $cases; do
  IFS=: read -r deck ranks s <<<"$c"
  stage "emulate $deck ranks=$ranks s=$s"
  "$APP" emulate "$ROOT/inputs/gpu/emulate-$deck.toml" --ranks "$ranks" workload.zipf_s="$s" \
    run.report="$OUT/emulate-$deck-r$ranks-s$s.h5" 2>&1 | tee "$OUT/emulate-$deck-r$ranks-s$s.txt"
done

stage "MPI exchange backend, 4 ranks on one GPU"
mpirun "${mpi_flags[@]}" -n 4 "$APP" run "$ROOT/inputs/gpu/exchange.toml" run.report="$OUT/exchange.h5" \
  2>&1 | tee "$OUT/exchange.txt"
source "$ROOT/run/python.sh"
py=$(find_python || true)  # postprocessing is skipped without one
[[ -n $py ]] && "$py" "$ROOT/postprocess/micromoe_report.py" "$OUT/exchange.h5" --phases | tee "$OUT/exchange-phases.md"

stage "verdict"
shopt -s nullglob
python3 "$ROOT/benchmarks/gpu/check_guard.py" "$OUT/bench_gpu.csv" "$@" --emulate "$OUT"/emulate-*.txt | tee "$OUT/verdict.md"
stage "done"
