#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `micromoe calibrate` then `micromoe simulate` on a tiny deck (8 GPUs, nodes of 2, two MicroEP
# groups of 4): the calibration file says what it measured; the simulation report has the
# documented schema and consistent figures (a micro-batch takes its group's slowest local work
# and compute plus four all-to-alls, an iteration its slowest group plus sync, optimizer and
# migration, loads add up to the routed copies, the summary follows from the datasets), a rerun
# gives the same loads, emulate of the same deck routes the same loads (postprocess/
# simulate_validation.py) and the plots are written, the scenario decks pass `check` at their GPU
# counts; bad input exits 2 with one error line and leaves no report.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cat >tiny.toml <<'TOML'
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
report = "s.h5"
[cluster]
gpus_per_node = 2
calibration = "cal.h5"
TOML
"$MICROMOE" calibrate tiny.toml --out cal.h5 --max-rows 128 --repeats 2 --sustain-ms 20 >calibrate.log
grep -q "sustained 20 ms" calibrate.log && grep -q "rows per slot" calibrate.log || { echo "no grid table:"; cat calibrate.log; exit 1; }
"$MICROMOE" simulate tiny.toml --gpus 8 >simulate.log
grep -q "Prediction: microep over ep at 8 GPUs" simulate.log || { echo "no prediction line:"; cat simulate.log; exit 1; }
"$MICROMOE" simulate tiny.toml --gpus 8 run.report=again.h5 run.quiet=true >/dev/null
"$PYTHON" - <<'PY'
import h5py, numpy as np
R, T, K, M, I, W, G, D = 8, 64, 2, 2, 4, 1, 4, 2
with h5py.File("cal.h5") as c:
    assert c.attrs["format"] == "micromoe-calibration" and c.attrs["format_version"] == 1
    assert (c.attrs["hidden"], c.attrs["ffn"], c.attrs["precision"]) == (16, 32, "fp32")
    rows, sec = c["rows"][...], c["ffn_seconds"][...]
    assert rows[0] == 1 and rows[-1] == 128 and np.all(np.diff(rows) > 0) and np.all(sec > 0), (rows, sec)
    for a in ("device", "date", "commit", "command_line", "deck"):
        assert len(c.attrs[a]) > 0, a
    assert c.attrs["gate_seconds_per_token"] > 0 and c.attrs["optimizer_seconds_per_slot"] > 0
with h5py.File("s.h5") as f, h5py.File("again.h5") as g:
    assert f.attrs["format"] == "micromoe-simulation" and f.attrs["format_version"] == 1
    assert "predicted" in f.attrs["prediction"]
    run = f["run"].attrs
    assert (run["gpus"], run["group_size"], run["groups"], run["gpus_per_node"]) == (R, G, D, 2), dict(run)
    assert f["calibration"].attrs["path"] == "cal.h5"
    assert np.array_equal(f["calibration/rows"][...], rows)
    names = list(run["strategies"])
    assert names == ["ep", "ep-capacity", "eplb", "microep", "microep-adaptive", "balanced"], names
    for n in names:
        s = f[n]
        loads, compute, local, disp = s["loads"][...], s["compute"][...], s["local"][...], s["dispatch"][...]
        assert loads.shape == compute.shape == local.shape == (I, M, R) and disp.shape == (I, M, D), n
        assert np.all(compute[loads > 0] > 0), f"{n}: a rank with work took no time"
        routed = loads.sum(axis=2) + s["tokens_dropped"][...]
        assert np.all(routed == R * T * K), (n, routed)
        grouped = lambda a: a.reshape(I, M, D, G)
        mb = grouped(local).max(axis=3) + 4 * disp + grouped(compute).max(axis=3)
        assert np.allclose(s["micro_batch_time"][...], mb, rtol=1e-12), n
        it = s["micro_batch_time"][...].sum(axis=1).max(axis=1)
        it += s["gradient_sync"][...] + s["optimizer"][...] + s["migration"][...]
        assert np.allclose(s["iteration_time"][...], it, rtol=1e-12), n
        assert np.allclose(s["imbalance"][...], loads.max(axis=2) / loads.mean(axis=2)), n
        sent, recv = s["send_bytes"][...], s["recv_bytes"][...]
        assert np.isclose(sent.sum(), recv.sum()) and np.all(s["inter_node_bytes"][...] <= sent), n
        median = np.sort(s["iteration_time"][W:])[(I - W - 1) // 2]
        assert s.attrs["median_iteration_time"] == median, n
        phases = sum(s.attrs[a] for a in ("local_time", "exchange_time", "compute_time", "gradient_sync_time",
                                           "optimizer_time", "migration_time"))
        assert np.isclose(phases, s.attrs["mean_iteration_time"]), n
        assert s["compute"].attrs["unit"] == "s" and s["send_bytes"].attrs["unit"] == "B"
        assert np.array_equal(loads, g[n]["loads"][...]), f"{n}: a rerun routed differently"
    imb = {n: f[n].attrs["mean_imbalance"] for n in names}
    assert imb["microep"] <= imb["ep"] and imb["balanced"] == 1.0, imb
    assert np.all(f["ep"]["migrations"][...] == 0) and np.all(f["microep"]["gradient_sync"][...] > 0)
print("simulate report: consistent")
PY

# The postprocessing: emulate and simulate of the same deck route the same loads (the validation
# script stops otherwise), and the plots against the GPU count are written.
"$MICROMOE" emulate tiny.toml --ranks 8 run.report=e.h5 run.quiet=true run.strategies=ep,microep,balanced >/dev/null
"$MICROMOE" simulate tiny.toml --gpus 8 run.report=v.h5 run.quiet=true run.strategies=ep,microep,balanced \
  cluster.gpus_per_node=8 >/dev/null
"$PYTHON" "$MICROMOE_SOURCE/postprocess/simulate_validation.py" e.h5 v.h5 >validation.md
[[ $(grep -c '^| 8 |' validation.md) -eq 3 ]] || { echo "validation table:"; cat validation.md; exit 1; }
"$PYTHON" "$MICROMOE_SOURCE/postprocess/plot_simulate.py" s.h5 v.h5 --out plots >/dev/null
for f in step_vs_gpus imbalance_vs_gpus phases microep_overhead_vs_gpus; do
  [[ -s plots/$f.png ]] || { echo "plot_simulate.py wrote no $f.png"; exit 1; }
done
grep -q "not measured on a cluster" plots/summary.md

failures=0
# The scenario decks stay valid at the GPU counts they document.
check_deck() {
  "$MICROMOE" check "$MICROMOE_SOURCE/inputs/simulate/$1" --ranks "$2" "${@:3}" >/dev/null ||
    { echo "FAIL: $1 at $2 GPUs"; failures=$((failures + 1)); }
}
set +e
check_deck paper-gpt.toml 32
check_deck paper-mixtral.toml 32
check_deck paper-mixtral.toml 64
check_deck deepseek-v3.toml 64
check_deck deepseek-v3.toml 128 parallel.ep_size=32
check_deck deepseek-v3.toml 256 parallel.ep_size=64
check_deck deepseek-v3-1024.toml 1024
# expect_error "needle" command...: non-zero exit, exactly one line from micromoe (an error naming
# needle), no report.
expect_error() {
  local needle=$1 out rc
  shift
  out=$(timeout 120 "$@" run.report=bad.h5 2>&1)
  rc=$?
  if ((rc != 2)); then
    echo "FAIL: exit $rc for '$*'"; failures=$((failures + 1))
  elif [[ $(grep -c '^micromoe' <<<"$out") -ne 1 ]] || ! grep -q "^micromoe: error.*$needle" <<<"$out"; then
    echo "FAIL: '$*': expected one error line mentioning '$needle', got:"; echo "$out"; failures=$((failures + 1))
  elif [[ -e bad.h5 || -e bad.h5.tmp || -e badcal.h5 ]]; then
    echo "FAIL: '$*' left a file behind"; failures=$((failures + 1))
  else
    echo "ok: $needle (exit $rc)"
  fi
}
expect_error "gpus" "$MICROMOE" simulate tiny.toml --gpus 0
expect_error "microep_group" "$MICROMOE" simulate tiny.toml --gpus 6
expect_error "whole nodes" "$MICROMOE" simulate tiny.toml --gpus 12 cluster.gpus_per_node=8
expect_error "inter_node_bandwidth" "$MICROMOE" simulate tiny.toml --gpus 8 cluster.inter_node_bandwidth=0
expect_error "intra_node_latency" "$MICROMOE" simulate tiny.toml --gpus 8 cluster.intra_node_latency=-1
expect_error "gpus_per_node" "$MICROMOE" simulate tiny.toml --gpus 8 cluster.gpus_per_node=0
expect_error "cluster.bandwidth" "$MICROMOE" simulate tiny.toml --gpus 8 cluster.bandwidth=1
expect_error "hidden 16, ffn 32" "$MICROMOE" simulate tiny.toml --gpus 8 model.hidden=32
expect_error "bf16" "$MICROMOE" simulate tiny.toml --gpus 8 model.precision=bf16
expect_error "cannot read" "$MICROMOE" simulate tiny.toml --gpus 8 cluster.calibration=missing.h5
expect_error "not a calibration" "$MICROMOE" simulate tiny.toml --gpus 8 cluster.calibration=s.h5
expect_error "no calibration" "$MICROMOE" simulate tiny.toml --gpus 8 'cluster.calibration=""'
expect_error "one process" "$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" simulate tiny.toml --gpus 8
expect_error "max-rows" "$MICROMOE" calibrate tiny.toml --out badcal.h5 --max-rows 0
expect_error "sustain-ms" "$MICROMOE" calibrate tiny.toml --out badcal.h5 --sustain-ms -1
echo "simulate: $failures failures"
((failures == 0))
