#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Bad decks, overrides and command lines: a clear one-line error naming the problem, a non-zero
# exit of the whole job (every rank, no hang: the test has a timeout), and no report file.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set +e  # this script counts failures itself
failures=0

# expect_error RANKS "needle" deck-file [overrides...]
expect_error() {
  local ranks=$1 needle=$2
  shift 2
  local out rc
  out=$(timeout 120 "$MPIEXEC" $MPIEXEC_FLAGS -n "$ranks" "$MICROMOE" run "$1" run.report=should_not_exist.h5 "${@:2}" 2>&1)
  rc=$?
  if ((rc == 0 || rc == 124)); then
    echo "FAIL: exit $rc for '$*' (expected an error mentioning '$needle')"; failures=$((failures + 1))
  elif ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: '$*': error does not mention '$needle':"; echo "$out" | head -5; failures=$((failures + 1))
  elif [[ -e should_not_exist.h5 || -e should_not_exist.h5.tmp ]]; then
    echo "FAIL: '$*' left a report behind"; failures=$((failures + 1))
  elif (( $(grep -c "error" <<<"$out") != 1 )); then
    echo "FAIL: '$*': expected exactly one error line, got:"; echo "$out"; failures=$((failures + 1))
  else
    echo "ok: $needle"
  fi
}

deck=$MICROMOE_SOURCE/inputs/default.toml
printf '[model]\nhiden = 64\n' >typo.toml
printf '[model]\nhidden = "wide"\n' >type.toml
printf '[model\nhidden = 64\n' >syntax.toml
printf '[model]\nexperts = 6\n[parallel]\nep_size = 4\n' >layout.toml
printf '[workload]\nkind = "trace"\ntrace_file = "missing.csv"\n' >trace.toml
printf 'iteration,layer,micro_batch,expert,tokens\n0,0,0,99,5\n' >bad_trace.csv
printf '[workload]\nkind = "trace"\ntrace_file = "bad_trace.csv"\n' >bad_trace.toml

expect_error 4 "hidden" typo.toml
expect_error 2 "hidden" type.toml
expect_error 4 "syntax.toml" syntax.toml
expect_error 4 "experts" layout.toml
expect_error 4 "ep_size" "$deck" parallel.ep_size=3
expect_error 4 "top_k" "$deck" model.top_k=99
expect_error 4 "strategies" "$deck" run.strategies=ep,fastest
expect_error 4 "section.key=value" "$deck" notanoverride
expect_error 4 "missing.csv" trace.toml
expect_error 4 "expert 99" bad_trace.toml
expect_error 4 "report" "$deck" run.report=/nonexistent-dir/r.h5

# The nccl backend: absent from CPU builds; with NCCL, two ranks on one GPU (NCCL refuses them)
# are named before NCCL's own initialisation fails.
if "$MICROMOE" --version | grep -q "^nccl_version: disabled"; then
  expect_error 2 "not available" "$deck" parallel.backend=nccl
else
  CUDA_VISIBLE_DEVICES=0 expect_error 2 "one GPU per rank" "$deck" parallel.backend=nccl
fi

# The command line itself.
out=$(timeout 60 "$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" run does_not_exist.toml 2>&1); rc=$?
if ((rc == 0)) || ! grep -q "does_not_exist.toml" <<<"$out"; then echo "FAIL: missing deck file: $out"; failures=$((failures + 1)); else echo "ok: missing deck"; fi
out=$(timeout 60 "$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" frobnicate 2>&1); rc=$?
if ((rc == 0)); then echo "FAIL: unknown subcommand accepted"; failures=$((failures + 1)); else echo "ok: unknown subcommand"; fi

# `check` accepts the default deck and prints every section.
out=$("$MICROMOE" check "$deck" --ranks 4)
for section in model parallel workload training run; do
  grep -q "^\[$section\]" <<<"$out" || { echo "FAIL: check output lacks [$section]"; failures=$((failures + 1)); }
done
echo "bad_decks: $failures failures"
((failures == 0))
