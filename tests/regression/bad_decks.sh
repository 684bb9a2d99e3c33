#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Bad decks, overrides, command lines and files: a clear one-line error naming the problem, exit
# code 2 from the whole job (every rank, no hang: the test has a timeout), and no report file.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set +e  # this script counts failures itself
failures=0
LAUNCH=${LAUNCH:-}

# expect_error RANKS "needle" deck-file [overrides...]
expect_error() {
  local ranks=$1 needle=$2
  shift 2
  local out rc
  # $LAUNCH (optional) runs each rank through a wrapper, e.g. one that gives each rank its own
  # working directory.
  # $COMMAND (default run) may be check or emulate.
  out=$(timeout -k 10 120 "$MPIEXEC" $MPIEXEC_FLAGS -n "$ranks" $LAUNCH "$MICROMOE" ${COMMAND:-run} "$1" run.report=should_not_exist.h5 "${@:2}" 2>&1)
  rc=$?
  if ((rc != 2)); then
    echo "FAIL: exit $rc for '$*' (expected 2 and an error mentioning '$needle')"; echo "$out" | cut -c1-300 | head -5
    failures=$((failures + 1))
  elif ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: '$*': error does not mention '$needle':"; echo "$out" | cut -c1-300 | head -5; failures=$((failures + 1))
  elif [[ -n $(find . -name 'should_not_exist.h5*') ]]; then
    echo "FAIL: '$*' left a report behind"; failures=$((failures + 1))
  elif (( $(grep -c "error" <<<"$out") != 1 )); then
    echo "FAIL: '$*': expected exactly one error line, got:"; echo "$out" | cut -c1-300; failures=$((failures + 1))
  elif (( $(awk '{ if (length($0) > longest) longest = length($0) } END { print longest + 0 }' <<<"$out") > 500 )); then
    echo "FAIL: '$*': an error line longer than 500 characters"; failures=$((failures + 1))
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

# Deck strings: a NUL (it would cut a path short) in a string or a list, and a megabyte-long
# value, echoed back as one bounded line.
printf '[run]\nreport = "r\\u0000.h5"\n' >nul.toml
printf '[run]\nstrategies = ["ep", "microep\\u0000"]\n' >nul_list.toml
{ printf '[parallel]\nbackend = "'; head -c 1000000 /dev/zero | tr '\0' x; printf '"\n'; } >long.toml
expect_error 2 "NUL" nul.toml
expect_error 2 "NUL" nul_list.toml
# The megabyte value is refused by the string limit (lib/deck/deck_limits.hpp) without being
# echoed; a long deck path is still echoed, cut to the bounded line.
expect_error 2 "a string of 1000000 bytes" long.toml
expect_error 2 "more characters]" "$(head -c 3000 /dev/zero | tr '\0' d)/deck.toml"

# The report path: only a regular file (or none yet) in an existing, writable directory, refused
# before the training. A device node is tried on a private copy of /dev/null (mknod, as root),
# never on the system's.
mkdir a_directory
mkfifo a_fifo
expect_error 2 "is a directory" "$deck" run.report=a_directory
expect_error 4 "is a directory" "$deck" run.report=a_directory/
expect_error 2 "FIFO" "$deck" run.report=a_fifo
expect_error 4 "No such file or directory" "$deck" run.report=no_such_dir/r.h5
if mknod a_null c 1 3 2>/dev/null; then
  expect_error 2 "character device" "$deck" run.report=a_null
  [[ -c a_null ]] || { echo "FAIL: the device node was replaced"; failures=$((failures + 1)); }
fi
[[ -p a_fifo ]] || { echo "FAIL: the FIFO was replaced"; failures=$((failures + 1)); }

# Files a run reads that are not regular files: refused, never waited on (a FIFO would block).
ln -s "$work/no/such/file.csv" dangling.csv
for target in a_directory dangling.csv a_fifo; do
  printf '[workload]\nkind = "trace"\ntrace_file = "%s"\n' "$target" >"trace_$target.toml"
  expect_error 2 "trace $target" "trace_$target.toml"
done
expect_error 2 "FIFO" a_fifo

# Files readable on some ranks only (node-local paths): each rank runs in its own directory
# (rank0/, rank1/, ...), where a relative deck or trace path may or may not exist. The lowest
# failing rank's line, exit 2 everywhere, no hang.
cat >per_rank_dir.sh <<'EOF_WRAPPER'
#!/usr/bin/env bash
rank=${PMI_RANK:-${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-0}}}
cd "rank$rank" && exec "$@"
EOF_WRAPPER
chmod +x per_rank_dir.sh
mkdir rank0 rank1 rank2 rank3
printf 'iteration,layer,micro_batch,expert,tokens\n0,0,0,0,5\n' >rank0/local.csv
printf '[workload]\nkind = "trace"\ntrace_file = "local.csv"\n' >local_trace.toml
cp local_trace.toml rank0/local_deck.toml
LAUNCH=$work/per_rank_dir.sh expect_error 2 "trace local.csv" "$work/local_trace.toml"
LAUNCH=$work/per_rank_dir.sh expect_error 4 "trace local.csv" "$work/local_trace.toml"
mv rank0/local.csv rank3/local.csv  # now rank 0 fails and rank 3 could read it
LAUNCH=$work/per_rank_dir.sh expect_error 4 "trace local.csv" "$work/local_trace.toml"
LAUNCH=$work/per_rank_dir.sh expect_error 2 "local_deck.toml" local_deck.toml

# Sizes past what the machine or the libraries can hold (issue 18 item 1), refused before
# anything is allocated, by check and by run, on 1 and 2 ranks: a weight tensor past a 3-D
# View's 32-bit extents (16 slots x 2048 x 262144 = 2^33 elements), exchanges past MPI's int
# counts (2 ranks; on 1 rank the same deck needs terabytes), more host memory than any rank has
# (a micro-batch of 2^20 tokens of width 8192). Results stream to the report, so 2^31 - 1
# iterations (run until the time limit) cost no memory: check accepts them.
: >sizes.toml
for ranks in 1 2; do
  for command in check run; do
    COMMAND=$command expect_error $ranks "model.hidden, model.ffn" sizes.toml model.hidden=2048 model.ffn=262144
    COMMAND=$command expect_error $ranks "tokens_per_micro_batch" sizes.toml \
      training.tokens_per_micro_batch=16777216 model.top_k=64 model.experts=64
    COMMAND=$command expect_error $ranks "of host memory" sizes.toml training.tokens_per_micro_batch=1048576 \
      model.hidden=8192
  done
done
if ! out=$(timeout -k 10 120 "$MICROMOE" check sizes.toml training.iterations=2147483647 2>&1); then
  echo "FAIL: check refused training.iterations=2147483647 (results stream to the report):"; echo "$out" | tail -n 3
  failures=$((failures + 1))
fi
COMMAND=emulate expect_error 1 "model.hidden, model.ffn" sizes.toml model.hidden=2048 model.ffn=262144 --ranks 1

# The nccl backend: absent from CPU builds; with NCCL, two ranks on one GPU (NCCL refuses them)
# are named before NCCL's own initialisation fails.
if "$MICROMOE" --version | grep -q "^nccl_version: disabled"; then
  expect_error 2 "not available" "$deck" parallel.backend=nccl
else
  CUDA_VISIBLE_DEVICES=0 expect_error 2 "one GPU per rank" "$deck" parallel.backend=nccl
fi

# The command line itself: exit 2 on every rank (mpiexec passes a rank's non-zero code on), one
# line from rank 0 naming the problem. --help and --version exit 0.
# expect_cli RANKS EXIT "needle" args...
expect_cli() {
  local ranks=$1 expected=$2 needle=$3
  shift 3
  local out rc
  out=$(timeout -k 10 60 "$MPIEXEC" $MPIEXEC_FLAGS -n "$ranks" "$MICROMOE" "$@" 2>&1); rc=$?
  if ((rc != expected)); then
    echo "FAIL: '$*' on $ranks ranks: exit $rc, expected $expected:"; echo "$out" | head -5; failures=$((failures + 1))
  elif ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: '$*' on $ranks ranks: output does not mention '$needle':"; echo "$out" | head -5; failures=$((failures + 1))
  elif ((expected != 0)) && (( $(grep -c "micromoe: error" <<<"$out") != 1 )); then
    echo "FAIL: '$*' on $ranks ranks: expected one error line, got:"; echo "$out"; failures=$((failures + 1))
  else
    echo "ok: '$*' on $ranks ranks: exit $rc"
  fi
}
for ranks in 1 2; do
  expect_cli $ranks 2 "does_not_exist.toml" run does_not_exist.toml
  expect_cli $ranks 2 "frobnicate" frobnicate
  expect_cli $ranks 2 "--no-such-option" run "$deck" --no-such-option
  expect_cli $ranks 2 "--ranks" check "$deck" --ranks 0
  expect_cli $ranks 2 "--ranks" emulate "$deck" --ranks 0
  expect_cli $ranks 2 "deck" run
  expect_cli $ranks 0 "Usage" --help
  expect_cli $ranks 0 "micromoe" --version
done

# `check` accepts the default deck and prints every section.
out=$("$MICROMOE" check "$deck" --ranks 4)
for section in model parallel workload training run; do
  grep -q "^\[$section\]" <<<"$out" || { echo "FAIL: check output lacks [$section]"; failures=$((failures + 1)); }
done
echo "bad_decks: $failures failures"
((failures == 0))
