#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The GPU regression guard's verdict: key figures of a bench_gpu CSV against the issue's targets and, with
--baseline, against a recorded run.

usage: check_guard.py BENCH.csv [--baseline BASELINE.csv] [--slack 0.10] [--emulate RUN.txt ...]
--emulate: the stdout of `micromoe emulate` runs; their gain capture (target >= 0.9) and microep /
microep-adaptive throughput relative to balanced (target >= 0.95) join the table.

Against the baseline (rows matched on section and name; s = --slack):
- `floor` rows (copy bandwidth, cuBLAS rates: the machine, not our code) never regress; one more than s away
  from its baseline prints a DRIFT line, so the reader knows the machine ran slower or faster.
- `fixed cost` rows (ratio = fraction of the step, lower is better) regress when
  ratio > baseline ratio * (1 + s) + 0.01.
- other rows with a ratio (>= 0: the figure relative to its floor from the same run, higher is better; for
  `step (...)` rows floor / step) are compared on the ratio, which cancels machine drift: a regression when
  ratio < (1 - s) * baseline ratio.
- TFLOP/s and GB/s rows without a ratio (in this run or in the baseline) are compared on the value: a
  regression when value < (1 - s) * baseline value.
- ms rows without a ratio (`step floor`, `phase`) are not compared.
Exit 0 when no figure regressed against the baseline (missed targets and drift are reported, not failed: the
targets' state is documented in docs/PERFORMANCE.md); 1 on a regression; 2 on bad input."""
import csv
import re
import sys

# (section, name prefix, what the ratio column means, target)
TARGETS = [
    ("ffn", "fwd+bwd fp32", "of cuBLAS fp32", 0.90),
    ("ffn", "fwd+bwd tf32", "of cuBLAS tf32", 0.70),
    ("ffn", "fwd+bwd bf16", "of cuBLAS bf16 (fp32 out)", 0.70),
    ("permute", "", "of copy bandwidth", 0.70),
    ("optimizer", "", "of copy bandwidth", 0.70),
    ("layer", "step (", "floor / step", 0.80),
]
RATES = ("TFLOP/s", "GB/s")


def fmt(value, unit):
    return f"{value:.1f}" if unit in RATES else f"{value:.3f}"


def read(path):
    with open(path, newline="") as f:
        return [dict(r, value=float(r["value"]), ratio=float(r["ratio"])) for r in csv.DictReader(f)]


def emulate_rows(paths):
    """(run, figure, value, target) from the summary lines `micromoe emulate` prints."""
    rows = []
    for path in paths:
        with open(path, errors="replace") as f:
            text = f.read()
        name = path.rsplit("/", 1)[-1]
        name = name[:-4] if name.endswith(".txt") else name
        gain = re.search(r"gain captured ([0-9.]+)", text)
        if gain:
            rows.append((name, "ep/microep time ratio over imbalance ratio", float(gain.group(1)), 0.90))
        for who in ("microep", "microep-adaptive"):
            m = re.search(r"relative to balanced:.*?\b" + re.escape(who) + r" ([0-9.]+)", text)
            if m:
                rows.append((name, who + " throughput / balanced", float(m.group(1)), 0.95))
    return rows


def main(argv):
    args = list(argv)
    emulate = []
    if "--emulate" in args:
        i = args.index("--emulate")
        emulate = [a for a in args[i + 1:] if not a.startswith("--")]
        del args[i:i + 1 + len(emulate)]
    baseline, slack = None, 0.10
    try:
        if "--baseline" in args:
            i = args.index("--baseline")
            baseline = read(args[i + 1])
            del args[i:i + 2]
        if "--slack" in args:
            i = args.index("--slack")
            slack = float(args[i + 1])
            del args[i:i + 2]
        if len(args) != 1:
            print(__doc__, file=sys.stderr)
            return 2
        rows = read(args[0])
    except (IndexError, OSError, KeyError, TypeError, ValueError) as e:
        print(f"check_guard.py: bad input: {e!r}", file=sys.stderr)
        return 2
    print("| section | case | value | unit | ratio | target | met |")
    print("| --- | --- | ---: | --- | ---: | ---: | --- |")
    for r in rows:
        target = next((t for t in TARGETS if r["section"] == t[0] and r["name"].startswith(t[1])), None)
        if target is None or r["ratio"] < 0:
            continue
        met = "yes" if r["ratio"] >= target[3] else "**no**"
        print(f"| {r['section']} | {r['name']} | {r['value']:.3f} | {r['unit']} | {r['ratio']:.3f} ({target[2]}) | "
              f"{target[3]:.2f} | {met} |")
    fixed = [r for r in rows if r["name"].startswith("fixed cost")]
    for r in fixed:
        print(f"| layer | {r['name']} | {r['value']:.3f} | ms | {r['ratio']:.3f} (of the step) | <= 0.05 | "
              f"{'yes' if r['ratio'] <= 0.05 else '**no**'} |")
    for run, figure, value, target in emulate_rows(emulate):
        print(f"| emulate | {run}: {figure} | {value:.3f} | ratio | {value:.3f} | {target:.2f} | "
              f"{'yes' if value >= target else '**no**'} |")
    if baseline is None:
        return 0
    base = {(r["section"], r["name"]): r for r in baseline}
    drift, regressions = [], []
    for r in rows:
        b = base.get((r["section"], r["name"]))
        if b is None:
            continue
        what = f"{r['section']} {r['name']}"
        value = f"{fmt(r['value'], r['unit'])} {r['unit']}"
        if r["section"] == "floor":
            if b["value"] > 0 and not (1.0 - slack) * b["value"] <= r["value"] <= (1.0 + slack) * b["value"]:
                drift.append(f"{what}: {value} vs baseline {fmt(b['value'], r['unit'])}")
        elif r["name"].startswith("fixed cost"):
            if r["ratio"] >= 0 and b["ratio"] >= 0 and r["ratio"] > b["ratio"] * (1.0 + slack) + 0.01:
                regressions.append(f"{what}: ratio {r['ratio']:.3f} > baseline {b['ratio']:.3f} (value {value})")
        elif r["ratio"] >= 0 and b["ratio"] > 0:
            if r["ratio"] < (1.0 - slack) * b["ratio"]:
                regressions.append(f"{what}: ratio {r['ratio']:.3f} < baseline {b['ratio']:.3f} (value {value})")
        elif r["unit"] in RATES and b["value"] > 0:
            if r["value"] < (1.0 - slack) * b["value"]:
                regressions.append(f"{what}: value {value} < baseline {fmt(b['value'], r['unit'])}")
    for line in drift:
        print("DRIFT:", line)
    print(f"{len(drift)} floor figure(s) drifted more than {slack:.0%} from the baseline (machine, not a regression)")
    for line in regressions:
        print("REGRESSION:", line)
    print(f"{len(regressions)} regression(s) against the baseline (slack {slack:.0%})")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
