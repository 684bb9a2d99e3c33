#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The compute part of `micromoe simulate` against `micromoe emulate` for the same counts.

Usage: simulate_validation.py EMULATE.h5 SIMULATE.h5 [EMULATE.h5 SIMULATE.h5 ...]

Both runs must use the same deck (same seed, ranks, strategies): simulate draws the same routing
counts as emulate (cluster.fast_counts = false) and routes them with the same strategies, so
rank r of micro-batch m has the same loads in both (checked). For each strategy the compute time
of an iteration is the sum over micro-batches of the slowest rank's expert forward + backward
(measured by emulate, predicted from the calibration by simulate); the median over the measured
iterations is compared. Prints a Markdown table.
"""
import sys

import h5py
import numpy as np


def compute_per_iteration(per_rank):
    return per_rank.max(axis=2).sum(axis=1)


def lower_median(values):
    values = np.sort(values)
    return values[(len(values) - 1) // 2]


def compare(emulate_path, simulate_path):
    rows = []
    with h5py.File(emulate_path, "r") as e, h5py.File(simulate_path, "r") as s:
        warmup = int(e["run"].attrs["warmup_iterations"])
        ranks = int(e["run"].attrs["ranks"])
        for name in e["run"].attrs["strategies"]:
            if name not in s:
                continue
            if not np.array_equal(e[name]["loads"][...], s[name]["loads"][...]):
                raise SystemExit(f"{name}: the two runs routed different loads; use the same deck and seed")
            measured = lower_median(compute_per_iteration(e[name]["seconds"][...])[warmup:])
            predicted = lower_median(compute_per_iteration(s[name]["compute"][...])[warmup:])
            cells = s[name]["compute"][...] / np.where(e[name]["seconds"][...] > 0, e[name]["seconds"][...], np.nan)
            rows.append((ranks, name, measured, predicted, predicted / measured, np.nanmedian(cells)))
    return rows


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        raise SystemExit(__doc__)
    print("| ranks | strategy | emulate: compute / iteration (ms) | simulate: predicted (ms) | predicted / measured "
          "| per-rank cells: median predicted / measured |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for k in range(0, len(argv), 2):
        for ranks, name, measured, predicted, ratio, cells in compare(argv[k], argv[k + 1]):
            print(f"| {ranks} | {name} | {measured * 1e3:.2f} | {predicted * 1e3:.2f} | {ratio:.3f} | {cells:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
