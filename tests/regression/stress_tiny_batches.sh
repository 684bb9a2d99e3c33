#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The tiny-batch stress deck end to end on 4 ranks: 3 tokens per rank and micro-batch with
# top-k = E over 3 layers (ranks and experts with nothing to do, every token on every expert).
# Every strategy conserves its copies and the exact ones train identically.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$MPIEXEC" $MPIEXEC_FLAGS -n 4 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/stress/tiny_batches.toml" run.quiet=true \
  run.report=tiny.h5 >run.log
"$PYTHON" "$MICROMOE_SOURCE/tests/regression/check_report.py" tiny.h5 --ranks 4 --tokens 3 --top-k 4 \
  --micro-batches 3 --layers 3 --no-balance-comparison --no-loss-trend
