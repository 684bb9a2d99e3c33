#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/demo.sh [DECK] [section.key=value ...] - the README's main command: installs what is
# missing (run/bootstrap.sh), builds, runs the deck (default inputs/default.toml) with 4 MPI
# ranks, post-processes the report into plots and a summary table, and says where they are.
# Output goes to demo-output/ in the current directory.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MICROMOE_BUILD_DIR:-$ROOT/build}
DECK=${1:-$ROOT/inputs/default.toml}
shift || true
RANKS=${MICROMOE_DEMO_RANKS:-4}

"$ROOT/run/bootstrap.sh" cpu
"$ROOT/run/build.sh" "$BUILD" >/dev/null

OUT=$PWD/demo-output
mkdir -p "$OUT"
# Ranks may outnumber cores: one OpenMP thread per rank.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_PROC_BIND=${OMP_PROC_BIND:-false}
(cd "$OUT" && mpiexec -n "$RANKS" "$BUILD/app/micromoe" run "$DECK" "$@" run.report=micromoe_report.h5)

source "$ROOT/tests/regression/python.sh"
"$PYTHON" "$ROOT/postprocess/plot_report.py" "$OUT/micromoe_report.h5" --out "$OUT/plots"
echo
echo "report: $OUT/micromoe_report.h5"
echo "plots and summary: $OUT/plots/"

# The point of MicroEP at scale, predicted: Mixtral 8x7B's MoE layer on 64 GPUs (8 nodes of 8),
# every strategy, priced with the shipped H200 calibration (docs/simulate.md). One process, no GPU.
echo
echo "PREDICTION (micromoe simulate, not a measurement): Mixtral 8x7B layer on 64 H200 GPUs"
(cd "$OUT" && "$BUILD/app/micromoe" simulate "$ROOT/inputs/simulate/paper-mixtral.toml" --gpus 64 \
  run.quiet=true run.report=simulate_64.h5 \
  cluster.calibration="$ROOT/inputs/calibration/h200-mixtral-bf16.h5")
echo "simulation report: $OUT/simulate_64.h5"
