#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `micromoe emulate` on a tiny deck with 8 emulated ranks (two MicroEP groups of 4): the report
# has the documented schema and consistent figures (a micro-batch takes its slowest rank's
# time, loads add up to the routed copies, the summary ratios follow from the medians), a rerun
# gives the same loads, the GPU decks pass `check` at 8 and 32 ranks; bad input (--ranks 0, a
# rank count the layout cannot use, a bad key, two MPI processes) exits non-zero with one error
# line and leaves no report.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cat >tiny.toml <<'EOF'
[model]
hidden = 16
ffn = 32
experts = 8
top_k = 2
layers = 1
[parallel]
ep_size = 2
microep_group = 2
replace_interval = 1
[workload]
zipf_s = 1.5
[training]
iterations = 4
warmup_iterations = 1
micro_batches = 2
tokens_per_micro_batch = 64
[run]
report = "e.h5"
EOF
"$MICROMOE" emulate tiny.toml --ranks 8 >emulate.log
grep -q "gain captured" emulate.log || { echo "no comparison in the table:"; cat emulate.log; exit 1; }
"$MICROMOE" emulate tiny.toml --ranks 8 run.report=again.h5 run.quiet=true >/dev/null
"$PYTHON" - <<'PY'
import h5py, numpy as np
R, T, K, M, I, W = 8, 64, 2, 2, 4, 1
with h5py.File("e.h5") as f, h5py.File("again.h5") as g:
    assert f.attrs["format"] == "micromoe-emulation" and f.attrs["format_version"] == 1
    run = f["run"].attrs
    assert (run["ranks"], run["group_size"], run["groups"]) == (R, 4, 2), dict(run)
    names = list(run["strategies"])
    assert names == ["ep", "ep-capacity", "eplb", "microep", "microep-adaptive", "balanced"], names
    for n in names:
        s = f[n]
        sec, loads = s["seconds"][...], s["loads"][...]
        assert sec.shape == loads.shape == (I, M, R), (n, sec.shape)
        assert np.array_equal(s["compute_time"][...], sec.max(axis=2)), n
        assert np.allclose(s["iteration_time"][...], s["compute_time"][...].sum(axis=1)), n
        assert np.all(sec[loads > 0] > 0), f"{n}: a rank with work took no time"
        # gelu, H 16, F 32, Adam: W1 + W2 and m, v per moved copy, fp32
        assert np.array_equal(s["migrated_bytes"][...], s["migrations"][...] * 2 * 16 * 32 * 3 * 4), n
        routed = loads.sum(axis=2) + s["tokens_dropped"][...]
        assert np.all(routed == R * T * K), (n, routed)
        assert np.allclose(s["imbalance"][...], loads.max(axis=2) / loads.mean(axis=2)), n
        median = np.sort(s["iteration_time"][W:])[(I - W - 1) // 2]
        assert s.attrs["median_iteration_time"] == median, n
        assert s["seconds"].attrs["unit"] == "s" and s["loads"].attrs["unit"] == "tokens"
        assert np.array_equal(loads, g[n]["loads"][...]), f"{n}: a rerun routed differently"
    med = {n: f[n].attrs["median_iteration_time"] for n in names}
    imb = {n: f[n].attrs["mean_imbalance"] for n in names}
    assert imb["microep"] <= imb["ep"], imb
    sm = f["summary"].attrs
    assert np.isclose(sm["time_ratio_ep_over_microep"], med["ep"] / med["microep"])
    assert np.isclose(sm["imbalance_ratio_ep_over_microep"], imb["ep"] / imb["microep"])
    assert np.isclose(sm["gain_capture"], sm["time_ratio_ep_over_microep"] / sm["imbalance_ratio_ep_over_microep"])
    assert np.isclose(sm["microep_relative_to_balanced"], med["balanced"] / med["microep"])
    assert np.isclose(sm["eplb_relative_to_balanced"], med["balanced"] / med["eplb"])
    assert np.isclose(sm["microep_adaptive_relative_to_balanced"], med["balanced"] / med["microep-adaptive"])
print("emulate report: consistent")
PY

failures=0
# The GPU decks stay valid at the rank counts they document.
for deck in "$MICROMOE_SOURCE"/inputs/gpu/emulate-*.toml; do
  for n in 8 32; do
    "$MICROMOE" check "$deck" --ranks "$n" >/dev/null || { echo "FAIL: $deck at $n ranks"; failures=$((failures + 1)); }
  done
done
# expect_error "needle" command...: non-zero exit, exactly one line from micromoe (an error naming
# needle), no report. Launcher lines (Open MPI's notes on the non-zero exit) are not ours.
expect_error() {
  local needle=$1 out rc
  shift
  out=$(timeout 120 "$@" run.report=bad.h5 2>&1)
  rc=$?
  if ((rc == 0 || rc == 124)); then
    echo "FAIL: exit $rc for '$*'"; failures=$((failures + 1))
  elif [[ $(grep -c '^micromoe' <<<"$out") -ne 1 ]] || ! grep -q "^micromoe: error.*$needle" <<<"$out"; then
    echo "FAIL: '$*': expected one error line mentioning '$needle', got:"; echo "$out"; failures=$((failures + 1))
  elif [[ -e bad.h5 || -e bad.h5.tmp ]]; then
    echo "FAIL: '$*' left a report behind"; failures=$((failures + 1))
  else
    echo "ok: $needle (exit $rc)"
  fi
}
set +e
expect_error "ranks" "$MICROMOE" emulate tiny.toml --ranks 0
expect_error "microep_group" "$MICROMOE" emulate tiny.toml --ranks 6
expect_error "hidden" "$MICROMOE" emulate tiny.toml --ranks 8 model.hiden=4
expect_error "one process" "$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" emulate tiny.toml --ranks 8
echo "emulate: $failures failures"
((failures == 0))
