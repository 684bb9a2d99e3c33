#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Markdown tables from a bench_schedule or bench_rank_path JSON output (--benchmark_out=FILE --benchmark_out_format=json).

Usage: summarize.py bench.json
"""
import json
import re
import sys


def parse(name):
    return {k: int(v) for k, v in re.findall(r"(\w+):(\d+)", name)}


def main(path):
    data = json.load(open(path))
    rows = [b for b in data["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    solve = {}
    lp = {}
    for b in rows:
        name = b["name"]
        if name.startswith("BM_Solve/"):
            a = parse(name)
            solve[(a["G"], a["E"], a["d"], a["s100"])] = b
        elif name.startswith("BM_LpGlpk/"):
            a = parse(name)
            lp[(a["G"], a["E"], a["d"], a["s100"])] = b
    print("| G x E, d | s | full solve median (us) | p90 (us) | optimal imbalance | "
          "loads->plan: solver median (us) | warm GLPK median (us) | speed-up | exact |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for key in sorted(solve):
        s, l = solve[key], lp.get(key, {})
        G, E, d, s100 = key
        print(f"| {G} x {E}, {d} | {s100 / 100:.1f} | {s['median_us']:.2f} | {s['p90_us']:.2f} | "
              f"{s['imbalance']:.3f} | {l.get('solver_median_us', float('nan')):.2f} | "
              f"{l.get('median_us', float('nan')):.1f} | {l.get('speedup', float('nan')):.1f}x | "
              f"{'yes' if l.get('exact') == 1 else 'NO'} |")
    print()
    print("| placement | s | mean imbalance (micro-batches 50-249, 4 seeds) | worst | migrations per re-placement |")
    print("| --- | --- | --- | --- | --- |")
    for b in rows:
        if b["name"].startswith("BM_Balance/"):
            mig = b.get("migrations_per_replacement")
            print(f"| {b.get('label', '')} | {b['s']:.1f} | {b['imbalance']:.4f} | {b['worst']:.3f} | "
                  f"{'' if mig is None else f'{mig:.1f}'} |")
    print()
    print("| placement | s | mean | median | p90 | share above 1.01 | cold-GPU bound (mean) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for b in rows:
        if b["name"].startswith("BM_Rankings/"):
            a = parse(b["name"])
            print(f"| {b.get('label', '')} | {a['s100'] / 100:.1f} | {b['mean']:.4f} | {b['median']:.4f} | "
                  f"{b['p90']:.4f} | {b['frac_over_1.01']:.2f} | {b['cold_gpu_bound_mean']:.4f} |")
    path = [b for b in rows if b["name"].startswith("BM_RankPath/")]
    if path:
        print()
        print("| G x E, d | sum counts (us) | sum, counts in cache (us) | solve (us) | rank routes (us) | path: solve + rank routes (us) | "
              "p90 (us) | full table (us) | old path: solve + table (us) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for b in path:
            print(f"| {int(b['G'])} x {int(b['E'])}, {int(b['d'])} | {b['sum_us']:.1f} | {b['sum_warm_us']:.1f} | "
                  f"{b['solve_us']:.1f} | "
                  f"{b['rank_us']:.1f} | {b['path_us']:.1f} | {b['path_p90_us']:.1f} | {b['table_us']:.0f} | "
                  f"{b['old_us']:.0f} |")
    print()
    for b in rows:
        if b["name"].startswith("BM_Routes/"):
            print(f"* build_routes {b['name'][len('BM_Routes/'):]}: {b['real_time']:.0f} {b['time_unit']}")


if __name__ == "__main__":
    main(sys.argv[1])
