#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks a verification dump of a real run with numpy alone (docs/layer.md): recomputes the
layer's output from the dumped input, gate and expert weights (gelu experts) and compares it
with the dumped output.

usage: check_dump.py DUMP.h5
"""
import math
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["format"] in (b"micromoe-layer-dump", "micromoe-layer-dump"), f.attrs["format"]
    assert f.attrs["activation"] in (b"gelu", "gelu")
    erf = np.vectorize(math.erf)
    x = f["x"][:].astype(np.float64)
    logits = x @ f["gate_weight"][:]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    ch = f["choices"][:]
    w = np.take_along_axis(p, ch, 1)
    if f.attrs["renormalize"]:
        w /= w.sum(1, keepdims=True)
    w *= f["kept"][:]
    y = np.zeros_like(x)
    for i in range(ch.shape[1]):
        for e in np.unique(ch[:, i]):
            r = ch[:, i] == e
            h = x[r] @ f["w1"][e]
            y[r] += w[r, i:i + 1] * ((0.5 * h * (1 + erf(h / np.sqrt(2)))) @ f["w2"][e])
    err = np.abs(y - f["y"][:]).max() / max(np.abs(y).max(), 1e-30)
    top = np.argsort(-logits, axis=1, kind="stable")[:, :ch.shape[1]]
    if not np.array_equal(np.sort(top, 1), np.sort(ch, 1)):
        sys.exit("check_dump: FAIL: dumped choices are not the top-k of the dumped gate logits")
    if err > 1e-5:
        sys.exit(f"check_dump: FAIL: numpy recomputation differs from the dumped output by {err:.3g}")
    print(f"check_dump: OK: {x.shape[0]} tokens, relative error {err:.2e}")
