#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/simulate-scenarios.sh [BUILD_DIR] [OUT_DIR] - the scenario table of docs/PERFORMANCE.md:
# micromoe simulate on every deck of inputs/simulate at its documented GPU counts, from the
# shipped H200 calibrations, then plots and Markdown tables (postprocess/plot_simulate.py).
# One process per run, no GPU; about a minute of CPU time in all plus the 1,024-GPU run's ~40 s.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
OUT=${2:-$PWD/simulate-scenarios}
mkdir -p "$OUT"
cd "$ROOT"
sim() {  # name gpus deck [overrides]
  local name=$1 gpus=$2 deck=$3
  shift 3
  "$BUILD/app/micromoe" simulate "inputs/simulate/$deck" --gpus "$gpus" run.quiet=true \
    run.report="$OUT/$name-$gpus.h5" "$@" >"$OUT/$name-$gpus.txt"
  echo "$name at $gpus GPUs: $(grep -h 'simulated in' "$OUT/$name-$gpus.txt")"
}
sim paper-gpt 32 paper-gpt.toml
sim paper-mixtral 32 paper-mixtral.toml
sim paper-mixtral 64 paper-mixtral.toml
sim deepseek-v3 16 deepseek-v3.toml parallel.ep_size=8
sim deepseek-v3 64 deepseek-v3.toml parallel.ep_size=32
sim deepseek-v3 128 deepseek-v3.toml parallel.ep_size=64
sim deepseek-v3 1024 deepseek-v3-1024.toml
source "$ROOT/tests/regression/python.sh"
"$PYTHON" postprocess/plot_simulate.py "$OUT"/paper-mixtral-*.h5 --out "$OUT/plots-mixtral" >/dev/null
"$PYTHON" postprocess/plot_simulate.py "$OUT"/deepseek-v3-*.h5 --out "$OUT/plots-deepseek-v3" >/dev/null
"$PYTHON" postprocess/plot_simulate.py "$OUT"/paper-gpt-*.h5 --out "$OUT/plots-gpt" >/dev/null
cat "$OUT"/plots-*/summary.md
