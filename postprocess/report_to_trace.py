#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Cuts a routing trace (docs/trace.md) from a MicroMoE report: the routed copies of every expert
in every (iteration, layer, micro-batch) of one strategy group, as `micromoe run` recorded them
(dataset expert_copies). Replaying it (`workload.kind = "trace"`) gives every strategy exactly
that routing.

usage: report_to_trace.py REPORT.h5 [--strategy NAME] [--out TRACE.csv]
Default strategy: the report's first; default output: standard output. Exit 2 on bad input."""
import argparse
import sys

from micromoe_report import ReportError, open_report


def trace_rows(strategy):
    counts = strategy.expert_copies
    for i in range(counts.shape[0]):
        for l in range(counts.shape[1]):
            for m in range(counts.shape[2]):
                for e in range(counts.shape[3]):
                    if counts[i, l, m, e] > 0:
                        yield f"{i},{l},{m},{e},{int(counts[i, l, m, e])}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--strategy", help="strategy group (default: the first in the report)")
    parser.add_argument("--out", help="trace CSV to write (default: standard output)")
    args = parser.parse_args(argv)
    try:
        report = open_report(args.report)
    except ReportError as exc:
        print(f"report_to_trace: {exc}", file=sys.stderr)
        return 2
    names = [s.name for s in report.strategies]
    name = args.strategy or names[0]
    if name not in names:
        print(f"report_to_trace: {args.report} has no strategy '{name}' (it has: {', '.join(names)})", file=sys.stderr)
        return 2
    strategy = report.strategy(name)
    if "expert_copies" not in strategy.data:
        print(f"report_to_trace: {args.report}: /{name} has no expert_copies (reports of older MicroMoE builds "
              f"lack them; re-run to record them)", file=sys.stderr)
        return 2
    lines = [f"# routing of '{name}' recorded in {args.report}", "iteration,layer,micro_batch,expert,tokens"]
    lines.extend(trace_rows(strategy))
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
