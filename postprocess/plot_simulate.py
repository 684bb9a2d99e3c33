#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Plots and a Markdown table from `micromoe simulate` reports of one deck at several GPU counts.

Usage: plot_simulate.py REPORT.h5 [REPORT.h5 ...] [--out DIR]

Writes DIR/step_vs_gpus.png (predicted median iteration time per strategy), DIR/phases.png
(phase breakdown per strategy and GPU count), DIR/imbalance_vs_gpus.png (mean imbalance),
DIR/microep_overhead_vs_gpus.png (MicroEP's extra all-to-all, scheduler and migration time
per iteration against ep) and DIR/summary.md (the table, also printed). Every figure is a
prediction (docs/simulate.md).
"""
import argparse
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PHASES = [("local_time", "local (gate, rows, scheduler)"), ("exchange_time", "all-to-all"),
          ("compute_time", "expert compute"), ("gradient_sync_time", "gradient sync"),
          ("optimizer_time", "optimizer"), ("migration_time", "migration")]


def read(path):
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != "micromoe-simulation":
            raise SystemExit(f"{path}: not a micromoe simulate report")
        run = f["run"].attrs
        out = {"gpus": int(run["gpus"]), "device": f["calibration"].attrs["device"], "strategies": {}}
        for name in run["strategies"]:
            out["strategies"][name] = {k: float(v) for k, v in f[name].attrs.items()}
        return out


def table(reports):
    lines = ["| GPUs | strategy | iteration (ms, median) | vs ep | local | all-to-all | compute | grad sync | "
             "optimizer | migration | imbalance |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
             "---: | ---: |"]
    for r in reports:
        ep = r["strategies"].get("ep", {}).get("median_iteration_time")
        for name, s in r["strategies"].items():
            t = s["median_iteration_time"]
            ratio = f"{ep / t:.2f}x" if ep and t > 0 else "-"
            ms = [s[k] * 1e3 for k, _ in PHASES]
            lines.append(f"| {r['gpus']} | {name} | {t * 1e3:.2f} | {ratio} | " +
                         " | ".join(f"{v:.2f}" for v in ms) + f" | {s['mean_imbalance']:.2f} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reports", nargs="+")
    p.add_argument("--out", default="plots")
    a = p.parse_args()
    reports = sorted((read(path) for path in a.reports), key=lambda r: r["gpus"])
    os.makedirs(a.out, exist_ok=True)
    names = []  # every strategy of any report, in run order (a report without one plots a gap)
    for r in reports:
        names += [n for n in r["strategies"] if n not in names]
    gpus = [r["gpus"] for r in reports]
    label = f"predicted from the {reports[0]['device']} calibration"

    def per_strategy(key, scale=1.0):
        return {n: [r["strategies"][n][key] * scale if n in r["strategies"] else float("nan") for r in reports]
                for n in names}

    for key, scale, ylabel, fname in [("median_iteration_time", 1e3, "iteration time (ms)", "step_vs_gpus.png"),
                                      ("mean_imbalance", 1.0, "mean imbalance (max / mean load)",
                                       "imbalance_vs_gpus.png")]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for n, ys in per_strategy(key, scale).items():
            ax.plot(gpus, ys, marker="o", label=n)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("GPUs")
        ax.set_ylabel(ylabel)
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, fname), dpi=120)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(7, 0.5 * len(names) * len(reports)), 4.5))
    x, ticks, labels = 0, [], []
    for r in reports:
        for n in names:
            s = r["strategies"].get(n)
            if s is None:
                continue
            bottom = 0.0
            for i, (k, title) in enumerate(PHASES):
                ax.bar(x, s[k] * 1e3, bottom=bottom, color=f"C{i}", label=title if x == 0 else None)
                bottom += s[k] * 1e3
            ticks.append(x)
            labels.append(f"{n}\n{r['gpus']}")
            x += 1
        x += 1
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=6, rotation=90)
    ax.set_ylabel("ms per iteration (mean)")
    ax.set_title(label, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "phases.png"), dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for n in ("microep", "microep-adaptive"):
        if n not in names or "ep" not in names:
            continue
        for key, title, style in [("exchange_time", "all-to-all", "-"), ("scheduler_time", "scheduler", "--"),
                                  ("migration_time", "migration", ":")]:
            ys = [(r["strategies"][n][key] - r["strategies"]["ep"][key]) * 1e3
                  if n in r["strategies"] and "ep" in r["strategies"] else float("nan") for r in reports]
            ax.plot(gpus, ys, style, marker="o", label=f"{n}: {title}")
    ax.set_xscale("log", base=2)
    ax.axhline(0, color="gray", linewidth=0.5)
    ax.set_xlabel("GPUs")
    ax.set_ylabel("ms per iteration, minus ep's")
    ax.set_title("MicroEP's overheads, " + label, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "microep_overhead_vs_gpus.png"), dpi=120)
    plt.close(fig)

    text = f"Predicted by micromoe simulate ({label}); not measured on a cluster.\n\n" + table(reports)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
