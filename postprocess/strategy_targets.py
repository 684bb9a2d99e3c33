#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""MicroEP's targets, one row per report: ep's mean and max imbalance, microep's (and microep-adaptive's)
throughput over ep's and as a share of balanced routing's, and the verdict.

    python3 postprocess/strategy_targets.py REPORT.h5 [REPORT.h5 ...] [--out FILE.md]

Targets (the multi-GPU issue's): microep >= 1.3x ep's throughput where ep's mean imbalance is >= 1.4, and
microep >= 95% of balanced's throughput. A report without ep, microep or balanced gets "-" where they are
needed. Throughput is the report's tokens/s (measured iterations only). Exit 1 for a file that is not a
report, 2 for bad arguments.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from micromoe_report import ReportError, open_report, summary_rows  # noqa: E402

SPEEDUP_TARGET = 1.3  # microep over ep ...
IMBALANCE_GATE = 1.4  # ... where ep's mean imbalance is at least this
BALANCED_SHARE = 0.95  # microep against balanced routing, always


def target_row(path):
    """{report, ranks, ep imbalance (mean, max), microep / ep, microep / balanced, adaptive / ep,
    adaptive / balanced, verdict} for one report; None where the strategies needed are missing."""
    report = open_report(path)
    rows = {r["strategy"]: r for r in summary_rows(report)}

    def tps(name):
        return rows.get(name, {}).get("tokens_per_second")

    def ratio(a, b):
        return tps(a) / tps(b) if tps(a) and tps(b) else None

    ep = rows.get("ep", {})
    row = {
        "report": os.path.basename(path),
        "ranks": report.run.get("ranks"),
        "ep_mean_imbalance": ep.get("mean_imbalance"),
        "ep_max_imbalance": ep.get("max_imbalance"),
        "microep_over_ep": ratio("microep", "ep"),
        "microep_of_balanced": ratio("microep", "balanced"),
        "adaptive_over_ep": ratio("microep-adaptive", "ep"),
        "adaptive_of_balanced": ratio("microep-adaptive", "balanced"),
    }
    checks = []
    if row["ep_mean_imbalance"] is not None and row["ep_mean_imbalance"] >= IMBALANCE_GATE:
        if row["microep_over_ep"] is not None:
            checks.append(row["microep_over_ep"] >= SPEEDUP_TARGET)
    if row["microep_of_balanced"] is not None:
        checks.append(row["microep_of_balanced"] >= BALANCED_SHARE)
    row["verdict"] = "-" if not checks else ("met" if all(checks) else "missed")
    return row


def markdown(rows):
    def num(v, fmt):
        return "-" if v is None else format(v, fmt)

    lines = ["| report | ranks | ep mean / max imbalance | microep / ep | microep / balanced | "
             "adaptive / ep | adaptive / balanced | targets |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['report']} | {r['ranks']} | {num(r['ep_mean_imbalance'], '.3f')} / "
                     f"{num(r['ep_max_imbalance'], '.3f')} | {num(r['microep_over_ep'], '.3f')} | "
                     f"{num(r['microep_of_balanced'], '.3f')} | {num(r['adaptive_over_ep'], '.3f')} | "
                     f"{num(r['adaptive_of_balanced'], '.3f')} | {r['verdict']} |")
    note = (f"\nTargets: microep >= {SPEEDUP_TARGET}x ep where ep's mean imbalance >= {IMBALANCE_GATE}, and microep "
            f">= {BALANCED_SHARE:.0%} of balanced (throughput: tokens/s over the measured iterations).\n")
    return "\n".join(lines) + "\n" + note


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    out = None
    if "--out" in args:
        i = args.index("--out")
        if i + 1 >= len(args):
            print("strategy_targets: error: --out needs a file name", file=sys.stderr)
            return 2
        out = args[i + 1]
        del args[i:i + 2]
    if not args or any(a.startswith("-") for a in args):
        print("usage: strategy_targets.py REPORT.h5 [REPORT.h5 ...] [--out FILE.md]", file=sys.stderr)
        return 2
    try:
        text = markdown([target_row(p) for p in args])
    except ReportError as exc:
        print(f"strategy_targets: error: {exc}", file=sys.stderr)
        return 1
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
