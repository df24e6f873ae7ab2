#!/usr/bin/env bash
# The CPU record of the Hinton network, on this 2-core machine with 2 torch threads, appended to
# benchmarks/results/hinton2006.json, in stages:
#   speed  each recipe timed in 12-s bursts (its seconds per 60,000 images);
#   val    the candidates (hinton2006.py's CANDIDATES, then ON_TOP: one idea at a time on top of
#          the best of them) on the validation split for the images their speed does in 180 s
#          (--plan 180), then the best two and the regularised LONGER ones for 600 s (--plan 600);
#   180, 600   the chosen recipes (fast, long: their settings are the winners', which the record's
#          "chosen" checks) on all 60,000 images for 180 s and 600 s of training, seeds 0 1 2, each
#          tested once.
# Before the first run it waits, up to $WAIT_MAX seconds (default 1200), for the 1-minute load
# average to fall below $QUIET (0.3), and up to $WAIT_NEXT (300) before each later one; a run that
# starts on a busy machine says so here and in the record (its load_start). About 75 minutes.
#
#   bash benchmarks/hinton_cpu_records.sh [speed] [val] [180] [600]     # default: all four
#
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
QUIET=${QUIET:-0.3} WAIT_MAX=${WAIT_MAX:-1200} WAIT_NEXT=${WAIT_NEXT:-300} SEEDS=${SEEDS:-"0 1 2"}
declare -A RECIPE=([180]=fast [600]=long)
budgets=("$@")
[ ${#budgets[@]} -eq 0 ] && budgets=(speed val 180 600)
IDEAS=${IDEAS:-"bn bn-512 bn-bf16 bn-bf16-512 bn-bf16-1024 plain-bf16-512 ln-bf16-512 bn-bf16-512-silu bn-bf16-512-ema bn-bf16-512-mask bn-bf16-512-lr10 bn-bf16-512-lr20 bn-bf16-grow fast-1024 fast-mask fast-wd0.2 fast-silu fast-ln fast-ema fast-grow fast-compile"}
# The chosen recipes multiply in bfloat16, which pays only on a CPU with bfloat16 instructions
# (AVX-512 BF16 or AMX); elsewhere it is emulated, 15-20x slower than float32 on an AVX2 EPYC.
if ! grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && [ -z "${FORCE:-}" ]; then
  echo "this CPU has no bfloat16 instructions: its record would not be this one's (FORCE=1 runs anyway);" \
    "benchmarks/hinton_fp32_records.sh is the float32 record for such a CPU" >&2
  exit 1
fi
candidates() { $PY -c "import sys; sys.path.insert(0, 'benchmarks'); import hinton2006; print(*hinton2006.$1)"; }
CANDIDATES=$(candidates CANDIDATES) ON_TOP=$(candidates ON_TOP) LONGER=$(candidates LONGER)

source benchmarks/quiet.sh  # wait_quiet

limit=$WAIT_MAX
for budget in "${budgets[@]}"; do
  if [ "$budget" = speed ]; then
    wait_quiet "$limit"; limit=$WAIT_NEXT
    OMP_NUM_THREADS=2 $PY benchmarks/hinton2006.py --speed --threads 2 --recipes $IDEAS --append || exit 1
    continue
  fi
  if [ "$budget" = val ]; then
    wait_quiet "$limit"; limit=$WAIT_NEXT
    OMP_NUM_THREADS=2 $PY benchmarks/hinton2006.py --split val --plan 180 --evals 6 --threads 2 --append \
      --recipes $CANDIDATES $ON_TOP || exit 1
    best2=$($PY -c 'import json; e = {r["recipe"]: r["val_error"] for r in json.load(open("benchmarks/results/hinton2006.json"))["ideas"] if r.get("plan_s") == 180}; print(*sorted(e, key=e.get)[:2])')
    wait_quiet "$limit"
    OMP_NUM_THREADS=2 $PY benchmarks/hinton2006.py --split val --plan 600 --evals 10 --threads 2 --append \
      --recipes $best2 $LONGER || exit 1
    continue
  fi
  for seed in $SEEDS; do
    wait_quiet "$limit"; limit=$WAIT_NEXT
    OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $PY benchmarks/hinton2006.py --split test --threads 2 \
      --budget "$budget" --recipes "${RECIPE[$budget]}" --seeds "$seed" --append || exit 1
  done
done
