# SPDX-License-Identifier: BSD-3-Clause
"""Reader of MicroMoE HDF5 reports (schema: docs/report.md).

    from micromoe_report import open_report, ReportError
    report = open_report("micromoe_report.h5")      # raises ReportError if it is not a report
    for s in report.strategies: print(s.name, s.summary["mean_imbalance"])

open_report() checks that the file exists, is HDF5, carries a supported format_version, and has
/run and every strategy group with the datasets these tools need, each with as many dimensions as
its "dims" attribute names and every named dimension of one size across the group; the error says
which. Strategy.dims holds those names (None for reports written before the attribute existed).
"""

import os
from dataclasses import dataclass, field

import numpy as np

try:
    import h5py
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise ImportError("micromoe_report needs h5py: apt-get install python3-h5py (use /usr/bin/python3)") from exc

SUPPORTED_FORMAT_VERSIONS = (1,)

PHASES = ("gate", "count_exchange", "schedule", "permute", "dispatch", "expert_compute", "combine", "backward",
          "gradient_sync", "optimizer", "migration")

# The datasets these tools rely on: a report without one of them is refused. Every other dataset of a
# strategy group is read too (a dataset added to the writer's schema needs no change here), and every
# dataset's dimensions come from the file (its "dims" attribute), not from this module.
REQUIRED_DATASETS = ("loads", "imbalance", "phase_times", "bytes_sent", "tokens_dropped", "schedule_us", "loss",
                     "step_time", "tokens_per_second")

SUMMARY_ATTRIBUTES = ("mean_step_time", "tokens_per_second", "mean_imbalance", "max_imbalance", "speedup_over_ep",
                      "peak_memory_bytes")


class ReportError(Exception):
    """The file is missing, not HDF5, or not a (supported) MicroMoE report; the message says which."""


@dataclass
class Strategy:
    """One strategy group: datasets as numpy arrays, summary attributes as a dict."""
    name: str
    summary: dict
    phase_names: list
    data: dict = field(default_factory=dict)
    dims: dict = field(default_factory=dict)  # dataset -> names of its dimensions ("iteration", ...) or None

    def extent(self, dim):
        """The size of the named dimension ("iteration", "layer", "rank", ...) in this group; None when no dataset
        names it."""
        for dataset, names in self.dims.items():
            if names and dim in names:
                return int(self.data[dataset].shape[names.index(dim)])
        return None

    def __getattr__(self, item):
        data = self.__dict__.get("data", {})
        if item in data:
            return data[item]
        raise AttributeError(item)

    @property
    def iterations(self):
        return int(self.data["loss"].shape[0])

    @property
    def dropped_tokens(self):
        return int(self.data["tokens_dropped"].sum())


@dataclass
class Report:
    path: str
    format_version: int
    run: dict            # /run attributes (build.*, deck, ranks, start_time, end_time, truncated, ...)
    hosts: list
    strategies: list     # of Strategy, in run order

    @property
    def truncated(self):
        return bool(self.run.get("truncated", 0))

    @property
    def deck(self):
        return self.run.get("deck", "")

    @property
    def warmup_iterations(self):
        return int(self.run.get("warmup_iterations", 0))

    @property
    def config(self):
        """The effective deck as a dict ({"model": {"hidden": 128, ...}, ...}), parsed with tomllib."""
        import tomllib  # Python 3.11+
        return tomllib.loads(self.deck)

    def strategy(self, name):
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_text(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def open_report(path):
    """Reads and validates the report at `path`. Raises ReportError saying what is wrong."""
    if not os.path.exists(path):
        raise ReportError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ReportError(f"{path}: is a directory, not a report file")
    if not h5py.is_hdf5(path):
        raise ReportError(f"{path}: not an HDF5 file (a MicroMoE report is HDF5, written by 'micromoe run')")
    try:
        with h5py.File(path, "r") as f:
            return _read(path, f)
    except OSError as exc:
        raise ReportError(f"{path}: cannot be read as HDF5: {exc}") from exc


def _read(path, f):
    if "format_version" not in f.attrs:
        raise ReportError(f"{path}: not a MicroMoE report (no 'format_version' attribute at the root)")
    version = int(_text(f.attrs["format_version"]))
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise ReportError(f"{path}: report format_version {version} is not supported by this reader "
                          f"(supported: {', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))}); use the matching MicroMoE")
    if "run" not in f or not isinstance(f["run"], h5py.Group):
        raise ReportError(f"{path}: not a complete MicroMoE report (missing group /run)")
    run = {key: _text(value) for key, value in f["run"].attrs.items()}
    for key in ("deck", "ranks", "truncated", "strategies"):
        if key not in run:
            raise ReportError(f"{path}: not a complete MicroMoE report (missing /run attribute '{key}')")
    hosts = [_text(h) for h in f["run"]["hosts"][()]] if "hosts" in f["run"] else []
    names = run["strategies"]
    if isinstance(names, str):
        names = [names]
    strategies = []
    for name in names:
        if name not in f or not isinstance(f[name], h5py.Group):
            raise ReportError(f"{path}: not a complete MicroMoE report (missing group /{name} listed in /run strategies)")
        strategies.append(_read_strategy(path, name, f[name]))
    return Report(path=path, format_version=version, run=run, hosts=hosts, strategies=strategies)


def _dimension_names(path, name, dataset, node, array):
    """The names of a dataset's dimensions from its "dims" attribute; None for reports written before it (the shape
    is then taken as it is)."""
    if "dims" not in node.attrs:
        return None
    names = _text(node.attrs["dims"])
    names = (names,) if isinstance(names, str) else tuple(names)
    if len(names) != array.ndim:
        raise ReportError(f"{path}: /{name}/{dataset} has {array.ndim} dimensions, its 'dims' attribute names "
                          f"{len(names)} ([{']['.join(names)}])")
    return names


def _read_strategy(path, name, group):
    for dataset in REQUIRED_DATASETS:
        if dataset not in group or not isinstance(group[dataset], h5py.Dataset):
            raise ReportError(f"{path}: not a complete MicroMoE report (missing dataset /{name}/{dataset})")
    data, dims, sizes = {}, {}, {}
    for dataset, node in group.items():
        if not isinstance(node, h5py.Dataset):
            continue
        array = node[()]
        names = _dimension_names(path, name, dataset, node, array)
        for axis, dim in enumerate(names or ()):
            if sizes.setdefault(dim, (array.shape[axis], dataset))[0] != array.shape[axis]:
                raise ReportError(f"{path}: /{name}/{dataset} has {array.shape[axis]} along {dim}, "
                                  f"/{name}/{sizes[dim][1]} has {sizes[dim][0]}")
        data[dataset], dims[dataset] = array, names
    phase_names = list(PHASES)
    if "phase_names" in group["phase_times"].attrs:
        phase_names = _text(group["phase_times"].attrs["phase_names"])
    if "phase" in sizes and sizes["phase"][0] != len(phase_names):
        raise ReportError(f"{path}: /{name} has {sizes['phase'][0]} phases, but {len(phase_names)} phase names")
    summary = {key: _text(value) for key, value in group.attrs.items()}
    for key in SUMMARY_ATTRIBUTES:
        if key not in summary:
            raise ReportError(f"{path}: not a complete MicroMoE report (missing attribute '{key}' of /{name})")
    return Strategy(name=name, summary=summary, phase_names=phase_names, data=data, dims=dims)


def _number(value, digits=3):
    if value is None or (isinstance(value, float) and (value < 0 or value != value)):
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"


def summary_rows(report):
    """One dict per strategy: strategy, median and mean step time (s), tokens/s, mean/max imbalance, speed-up over ep,
    dropped tokens, mean scheduler time (us), mean schedule and memory bounds. Undefined values are None."""
    rows = []
    for s in report.strategies:
        get = s.summary.get

        def defined(key):
            value = get(key)
            return None if value is None or value < 0 else float(value)

        rows.append({
            "strategy": s.name,
            "iterations": s.iterations,
            "mean_step_time": defined("mean_step_time"),
            "median_step_time": defined("median_step_time"),
            "tokens_per_second": defined("tokens_per_second"),
            "mean_imbalance": defined("mean_imbalance"),
            "max_imbalance": defined("max_imbalance"),
            "speedup_over_ep": defined("speedup_over_ep"),
            "dropped_tokens": s.dropped_tokens,
            "mean_schedule_us": defined("mean_schedule_us"),
            # The bounds (reports before them lack the attributes): 0 = no solver ran, shown as "-".
            "mean_schedule_bound": defined("mean_schedule_bound") or None,
            "mean_memory_bound": defined("mean_memory_bound"),
        })
    return rows


def run_description(report):
    """One Markdown line on the run: ranks, hosts, revision, times, truncation."""
    run = report.run
    hosts = sorted(set(report.hosts))
    parts = [f"{run.get('ranks', '?')} ranks on {len(hosts)} host{'s' if len(hosts) != 1 else ''}",
             f"MicroMoE {run.get('build.micromoe_version', '?')} ({run.get('build.git_revision', '?')})",
             f"Kokkos {run.get('build.kokkos_version', '?')} {run.get('build.kokkos_execution_space', '')}".rstrip(),
             f"{run.get('start_time', '?')} .. {run.get('end_time', '?')}",
             f"warm-up iterations left out of the statistics: {report.warmup_iterations}"]
    if report.truncated:
        parts.append("**truncated**")
    return "; ".join(parts) + "\n"


def markdown_table(report):
    """The summary table as Markdown (with a line on truncation, when the run was cut short)."""
    lines = ["| strategy | iterations | median step time (s) | mean step time (s) | tokens/s | mean imbalance | "
             "max imbalance | speed-up over ep | dropped tokens | mean schedule time (us) | schedule bound | "
             "memory bound |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in summary_rows(report):
        speedup = "-" if r["speedup_over_ep"] is None else f"{r['speedup_over_ep']:.2f}x"
        lines.append(f"| {r['strategy']} | {r['iterations']} | {_number(r['median_step_time'], 4)} | "
                     f"{_number(r['mean_step_time'], 4)} | "
                     f"{_number(r['tokens_per_second'], 0)} | {_number(r['mean_imbalance'])} | "
                     f"{_number(r['max_imbalance'])} | {speedup} | {r['dropped_tokens']:,} | "
                     f"{_number(r['mean_schedule_us'], 1)} | {_number(r['mean_schedule_bound'])} | "
                     f"{_number(r['mean_memory_bound'])} |")
    text = "\n".join(lines) + "\n"
    if report.truncated:
        text += ("\n**Truncated run** (stopped by SIGTERM after "
                 f"{report.run.get('iterations_completed', '?')} iterations of the last strategy).\n")
    return text


def _phase_medians(report, strategy):
    """{phase name: ms per iteration}: the slowest rank's time, median over the measured iterations (warm-up left
    out; all iterations when only warm-up ran)."""
    names = strategy.phase_names
    times = np.asarray(strategy.phase_times)[report.warmup_iterations:]  # [I][P][R]
    if times.shape[0] == 0:
        times = np.asarray(strategy.phase_times)
    slowest = times.max(axis=2) if times.size else np.zeros((1, len(names)))
    return dict(zip(names, np.median(slowest, axis=0) * 1e3))


def phase_table(report):
    """Per strategy, each phase's time per iteration in ms: the slowest rank's, median over the measured iterations
    (warm-up left out). The step waits for the slowest rank in every collective phase, so this is the breakdown of
    the step time."""
    names = report.strategies[0].phase_names if report.strategies else list(PHASES)
    lines = ["| strategy | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for s in report.strategies:
        median = _phase_medians(report, s)
        lines.append(f"| {s.name} | " + " | ".join(f"{median[n]:.3f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def cost_table(report):
    """What each strategy pays and gains against ep and balanced routing: throughput relative to each (tokens/s), and
    per iteration in ms (slowest rank, median over the measured iterations) the scheduler's time, the forward
    dispatch + combine and its excess over ep's, the gradient sync and the migration of re-placement. The backward's
    two exchanges run inside its backward phase and are not split out. "-" where the report lacks ep or balanced."""
    rows = {r["strategy"]: r for r in summary_rows(report)}
    medians = {s.name: _phase_medians(report, s) for s in report.strategies}

    def exchange(name):
        m = medians[name]
        return m.get("dispatch", 0.0) + m.get("combine", 0.0)

    def relative(name, base):
        a, b = rows[name]["tokens_per_second"], rows.get(base, {}).get("tokens_per_second")
        return "-" if a is None or not b else f"{a / b:.3f}"

    lines = ["| strategy | tokens/s vs ep | tokens/s vs balanced | schedule (ms) | dispatch + combine (ms) | "
             "over ep (ms) | gradient sync (ms) | migration (ms) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in report.strategies:
        m = medians[s.name]
        over = f"{exchange(s.name) - exchange('ep'):+.3f}" if "ep" in medians else "-"
        lines.append(f"| {s.name} | {relative(s.name, 'ep')} | {relative(s.name, 'balanced')} | "
                     f"{m.get('schedule', 0.0):.3f} | {exchange(s.name):.3f} | {over} | "
                     f"{m.get('gradient_sync', 0.0):.3f} | {m.get('migration', 0.0):.3f} |")
    return "\n".join(lines) + "\n"


def balanced_note(report):
    """Under trace replay every strategy routes the trace except balanced, which keeps its forced uniform routing (the
    ideal to compare with): the line that says so, or "" (older reports lack `trace_replayed`)."""
    replayed = {s.name: s.summary.get("trace_replayed") for s in report.strategies}
    if replayed.get("balanced") in (0, "0") and any(v in (1, "1") for v in replayed.values()):
        return ("note: balanced keeps its forced uniform routing under the trace (the ideal to compare with); "
                "the other strategies replay the trace")
    return ""


def main(argv=None):
    """`python3 postprocess/micromoe_report.py REPORT.h5`: validate a report and print its summary table."""
    import sys
    args = list(sys.argv[1:] if argv is None else argv)
    phases = "--phases" in args
    if phases:
        args.remove("--phases")
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: micromoe_report.py REPORT.h5 [--phases]  (validates the report and prints its summary table; "
              "--phases adds the per-phase breakdown in ms per iteration and the costs against ep and balanced)", file=sys.stderr)
        return 2
    try:
        report = open_report(args[0])
    except ReportError as exc:
        print(f"micromoe_report: error: {exc}", file=sys.stderr)
        return 1
    print(f"{report.path}: MicroMoE report, format_version {report.format_version}, {report.run.get('ranks')} ranks, "
          f"strategies: {', '.join(s.name for s in report.strategies)}" + (" (truncated)" if report.truncated else ""))
    print(markdown_table(report), end="")
    note = balanced_note(report)
    if note:
        print(note)
    if phases:
        print("\nPhases (ms per iteration, slowest rank, median over the measured iterations):\n")
        print(phase_table(report), end="")
        print("\nCosts against ep and balanced routing (ms per iteration, slowest rank, median over the measured "
              "iterations; forward dispatch + combine):\n")
        print(cost_table(report), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
