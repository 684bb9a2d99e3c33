#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks a report made by a real tiny run of `micromoe run`.

usage: check_report.py REPORT.h5 --ranks R --tokens T --top-k K --micro-batches M --layers L
       [--truncated] [--strategies a,b,...]

Asserts the properties a run must have: every strategy group present with the datasets of the
schema, loads of the exact strategies conserving every routed copy (R*T*K per layer and
micro-batch), microep's imbalance below ep's,
identical losses for the strategies that keep the math (same data, same model), a falling loss,
and the truncation flag when asked.
"""
import argparse
import sys

import h5py
import numpy as np

EXACT = ("ep", "eplb", "microep", "microep-adaptive")


def fail(message):
    print(f"check_report: FAIL: {message}")
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--ranks", type=int, required=True)
    ap.add_argument("--tokens", type=int, required=True)
    ap.add_argument("--top-k", type=int, required=True)
    ap.add_argument("--micro-batches", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--strategies", default="ep,ep-capacity,eplb,microep,microep-adaptive,balanced")
    ap.add_argument("--truncated", action="store_true")
    ap.add_argument("--no-loss-trend", action="store_true",
                    help="skip 'the loss falls' (stress decks with a few tokens per batch are too noisy)")
    ap.add_argument("--no-balance-comparison", action="store_true",
                    help="skip 'microep below ep' (e.g. 2 ranks: ep_size 1 is balanced by construction)")
    a = ap.parse_args()

    with h5py.File(a.report, "r") as f:
        if int(f.attrs["format_version"]) != 1:
            fail("format_version is not 1")
        run = f["run"]
        if bool(run.attrs["truncated"]) != a.truncated:
            fail(f"truncated = {run.attrs['truncated']}, expected {a.truncated}")
        names = a.strategies.split(",")
        present = [n for n in names if n in f]
        if a.truncated:
            if not present:
                fail("a truncated report must still hold the strategy that was running")
        elif present != names:
            fail(f"groups {sorted(f.keys())} do not hold every strategy {names}")
        copies = a.ranks * a.tokens * a.top_k
        for name in present:
            g = f[name]
            for d in ("loads", "imbalance", "phase_times", "bytes_sent", "tokens_dropped", "schedule_us", "loss",
                      "step_time", "tokens_per_second"):
                if d not in g:
                    fail(f"{name}: dataset {d} missing")
            loads = g["loads"][...]
            iters = loads.shape[0]
            if loads.shape[1:] != (a.layers, a.micro_batches, a.ranks):
                fail(f"{name}: loads shape {loads.shape}")
            if iters == 0:
                continue
            per_mb = loads.sum(axis=3)
            if name in EXACT and not np.all(per_mb == copies):
                fail(f"{name}: loads do not conserve the {copies} routed copies per micro-batch: {np.unique(per_mb)}")
            if name == "ep-capacity":
                dropped = g["tokens_dropped"][...]
                if not np.all(per_mb + dropped == copies):
                    fail("ep-capacity: computed + dropped copies != routed copies")
            if not np.all(np.isfinite(g["loss"][...])) or np.any(g["step_time"][...] <= 0):
                fail(f"{name}: non-finite loss or non-positive step time")
        if not a.truncated:
            ep, micro = f["ep"]["imbalance"][...], f["microep"]["imbalance"][...]
            if not a.no_balance_comparison and not micro.mean() < ep.mean():
                fail(f"microep mean imbalance {micro.mean():.4f} is not below ep's {ep.mean():.4f}")
            if micro.min() < 1.0:
                fail("an imbalance below 1 is impossible (max load < mean load)")
            losses = {n: f[n]["loss"][...] for n in EXACT if n in f}
            ref = losses["ep"]
            for n, l in losses.items():
                if not np.allclose(l, ref, rtol=1e-4, atol=0):
                    fail(f"{n}: loss {l} differs from ep's {ref}: the exact strategies must train the same model")
            if not a.no_loss_trend and not ref[-1] < ref[0]:
                fail(f"loss does not fall: {ref}")
    print(f"check_report: OK ({a.report})")


if __name__ == "__main__":
    main()
