#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Plots and a summary table from a MicroMoE report.

    python3 postprocess/plot_report.py REPORT.h5 [--out DIR]

Writes into DIR (default: REPORT's name without .h5 plus "_plots", beside the report):
    imbalance.png            mean imbalance per iteration, per strategy (band: min..max over layers/micro-batches)
    step_time_breakdown.png  mean time per phase per step (mean over ranks, measured iterations), stacked
    throughput.png           tokens per second per strategy, with the speed-up over ep
    schedule_time.png        distribution of the per-micro-batch scheduler time, per strategy
    loss.png                 training loss per iteration, per strategy (exact strategies coincide)
    summary.md               the summary table, also printed
Exits 1 with a one-line message when REPORT is missing, not HDF5, or not a MicroMoE report.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from micromoe_report import ReportError, markdown_table, open_report, run_description  # noqa: E402


def _measured(strategy, warmup):
    """Iteration slice used for statistics: after warm-up, or all when nothing would remain."""
    return slice(warmup, None) if strategy.iterations > warmup else slice(0, None)


def plot_imbalance(report, plt, path):
    from matplotlib.ticker import MaxNLocator
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for s in report.strategies:
        if s.iterations == 0:
            continue
        per_iteration = s.imbalance.reshape(s.iterations, -1)
        x = range(s.iterations)
        line, = ax.plot(x, per_iteration.mean(axis=1), marker="o", markersize=3, label=s.name)
        ax.fill_between(x, per_iteration.min(axis=1), per_iteration.max(axis=1), color=line.get_color(), alpha=0.15)
    ax.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel("imbalance (max / mean load)")
    ax.set_title("Load imbalance per iteration (band: min..max over layers and micro-batches)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_breakdown(report, plt, path):
    import numpy as np
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    names = [s.name for s in report.strategies]
    phase_names = report.strategies[0].phase_names if report.strategies else []
    bottom = np.zeros(len(names))
    palette = plt.get_cmap("tab20")  # 11 phases: the strong tab20 colours first, then the light ones
    colors = lambda p: palette((2 * p) % 20 + (2 * p) // 20)  # noqa: E731
    for p, phase in enumerate(phase_names):
        values = []
        for s in report.strategies:
            times = s.phase_times[_measured(s, report.warmup_iterations)]
            values.append(float(times[:, p, :].mean()) if times.size else 0.0)
        ax.bar(names, values, bottom=bottom, label=phase, color=colors(p))
        bottom += np.array(values)
    ax.set_ylabel("time per step (s, mean over ranks)")
    ax.set_title("Step-time breakdown by phase")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_throughput(report, plt, path):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = [s.name for s in report.strategies]
    values = [max(float(s.summary["tokens_per_second"]), 0.0) for s in report.strategies]
    bars = ax.bar(names, values, color="tab:blue")
    for bar, s in zip(bars, report.strategies):
        speedup = float(s.summary["speedup_over_ep"])
        if speedup > 0:
            ax.annotate(f"{speedup:.2f}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                        va="bottom", fontsize="small")
    ax.set_ylabel("tokens per second")
    ax.set_title("Throughput (labels: speed-up over ep)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_schedule_time(report, plt, path):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    data, labels = [], []
    for s in report.strategies:
        values = s.schedule_us[_measured(s, report.warmup_iterations)].ravel()
        if values.size:
            data.append(values)
            labels.append(s.name)
    if data:
        # Tick labels set separately: boxplot's labels= became tick_labels= in matplotlib 3.9.
        ax.boxplot(data, showfliers=True)
        ax.set_xticks(range(1, len(labels) + 1))
        ax.set_xticklabels(labels)
        if max(v.max() for v in data) > 100 * max(min(v.min() for v in data), 1e-3):
            ax.set_yscale("log")
    ax.set_ylabel("scheduler time per micro-batch and layer (us)")
    ax.set_title("Scheduler time distribution")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_loss(report, plt, path):
    from matplotlib.ticker import MaxNLocator
    fig, ax = plt.subplots(figsize=(8, 4.5))
    styles = ["-", "--", ":", "-."]
    for i, s in enumerate(report.strategies):
        if s.iterations:
            ax.plot(range(s.iterations), s.loss, linestyle=styles[i % len(styles)], marker="o", markersize=3,
                    label=s.name)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.set_title("Loss per iteration (strategies that keep the math exact coincide)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Plots and a summary table from a MicroMoE report.")
    parser.add_argument("report", help="the HDF5 report written by 'micromoe run'")
    parser.add_argument("--out", help="output directory (default: REPORT without .h5, plus _plots)")
    args = parser.parse_args(argv)
    try:
        report = open_report(args.report)
    except ReportError as exc:
        print(f"plot_report: error: {exc}", file=sys.stderr)
        return 1

    out = args.out or os.path.splitext(args.report)[0] + "_plots"
    os.makedirs(out, exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, plot in (("imbalance.png", plot_imbalance), ("step_time_breakdown.png", plot_breakdown),
                       ("throughput.png", plot_throughput), ("schedule_time.png", plot_schedule_time),
                       ("loss.png", plot_loss)):
        path = os.path.join(out, name)
        plot(report, plt, path)
        written.append(path)
    table = markdown_table(report)
    summary = os.path.join(out, "summary.md")
    with open(summary, "w", encoding="utf-8") as f:
        f.write(f"# MicroMoE report summary: {os.path.basename(args.report)}\n\n{run_description(report)}\n{table}")
    written.append(summary)
    print(table, end="")
    print(f"\nwrote {len(written)} files to {out}: {', '.join(os.path.basename(p) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
