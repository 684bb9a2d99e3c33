#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Converts per-token expert ids saved with numpy (.npy, .npz) into a trace CSV with a source
column and a `# top_k = K` line (docs/trace.md).

Each array holds integer expert ids shaped [*LEAD, tokens, top_k] (or [*LEAD, tokens] for top-1),
where --axes names the LEAD axes in order (any of iteration, layer, micro_batch, source; the ones
not named are 0). The members of an .npz file enumerate --npz-axis (default layer) in the order
of the number in their names (layer_0, layer_1, ..., else their sorted names); several input
files enumerate --file-axis (e.g. source: one file per rank, in the order given).

usage: npy_to_trace.py INPUT.npy|INPUT.npz [INPUT ...] [--axes A,B] [--npz-axis NAME]
                       [--file-axis NAME] [--out TRACE.csv]
Default output: standard output. Exit 2, with one line naming the problem, on bad input."""
import argparse
import re
import sys

import numpy as np

AXES = ("iteration", "layer", "micro_batch", "source")


class InputProblem(Exception):
    pass


def members(path, npz_axis):
    """(array, index along npz_axis or None) for each array in the file."""
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises many kinds for a bad file
        raise InputProblem(f"{path}: cannot read as .npy/.npz: {exc}")
    if isinstance(data, np.ndarray):
        return [(data, None)]
    def order(name):
        found = re.findall(r"\d+", name)
        return (0, int(found[-1]), name) if found else (1, 0, name)
    names = sorted(data.files, key=order)
    return [(data[name], index) for index, name in enumerate(names)]


def counts_of(array, axes, where, fixed):
    """{(iteration, layer, micro_batch, source): bincount} of one array; its top_k."""
    if not np.issubdtype(array.dtype, np.integer):
        raise InputProblem(f"{where}: expert ids must be integers, found {array.dtype}")
    if array.ndim not in (len(axes) + 1, len(axes) + 2):
        raise InputProblem(f"{where}: shape {array.shape} is not [{', '.join(axes + ('tokens', 'top_k'))}]")
    if array.ndim == len(axes) + 1:
        array = array[..., np.newaxis]
    if array.size and array.min() < 0:
        raise InputProblem(f"{where}: a negative expert id ({array.min()})")
    out = {}
    for lead in np.ndindex(*array.shape[: len(axes)]):
        key = dict(fixed)
        for name, value in zip(axes, lead):
            key[name] = value
        rows = array[lead]
        if rows.shape[1] > 1 and any(len(set(r)) != len(r) for r in rows.tolist()):
            raise InputProblem(f"{where}{list(lead)}: a token names one expert twice")
        out[tuple(key.get(a, 0) for a in AXES)] = np.bincount(rows.ravel(), minlength=0)
    return out, array.shape[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--axes", default="", help="names of the leading axes, e.g. layer,source")
    parser.add_argument("--npz-axis", default="layer", help="what an .npz file's members enumerate (default layer)")
    parser.add_argument("--file-axis", help="what several input files enumerate, e.g. source")
    parser.add_argument("--out", help="trace CSV to write (default: standard output)")
    args = parser.parse_args(argv)
    try:
        axes = tuple(a for a in args.axes.split(",") if a)
        for a in axes + (args.npz_axis,) + ((args.file_axis,) if args.file_axis else ()):
            if a not in AXES:
                raise InputProblem(f"unknown axis '{a}' (axes: {', '.join(AXES)})")
        if len(set(axes)) != len(axes):
            raise InputProblem(f"--axes names an axis twice: {args.axes}")
        if len(args.inputs) > 1 and not args.file_axis:
            raise InputProblem("several inputs need --file-axis (what they enumerate, e.g. source)")
        counts, top_k = {}, None
        for f, path in enumerate(args.inputs):
            for array, index in members(path, args.npz_axis):
                fixed = {}
                if args.file_axis:
                    fixed[args.file_axis] = f
                if index is not None:
                    if args.npz_axis in fixed:
                        raise InputProblem(f"--npz-axis and --file-axis are both {args.npz_axis}")
                    fixed[args.npz_axis] = index
                clash = set(fixed) & set(axes)
                if clash:
                    raise InputProblem(f"axis {', '.join(sorted(clash))} is both in --axes and enumerated by files")
                found, k = counts_of(array, axes, path, fixed)
                if top_k is not None and k != top_k:
                    raise InputProblem(f"{path}: top_k {k} differs from {top_k} in the inputs before")
                top_k = k
                for key, c in found.items():
                    if key in counts:
                        raise InputProblem(f"{path}: {dict(zip(AXES, key))} appears twice in the inputs")
                    counts[key] = c
    except InputProblem as exc:
        print(f"npy_to_trace: error: {exc}", file=sys.stderr)
        return 2
    lines = [f"# converted by postprocess/npy_to_trace.py from {' '.join(args.inputs)}", f"# top_k = {top_k}",
             "iteration,layer,micro_batch,source,expert,tokens"]
    for key in sorted(counts):
        for e, n in enumerate(counts[key]):
            if n:
                lines.append(",".join(str(v) for v in key) + f",{e},{int(n)}")
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
