#!/usr/bin/env bash
# The CPU goals of the Hinton network, on this 2-core machine with 2 torch threads: the chosen
# recipes trained on all 60,000 images for 180 s and for 600 s of training, seeds 0 1 2, each run
# tested once; appended to benchmarks/results/hinton2006.json. Before the first run it waits, up to
# $WAIT_MAX seconds (default 1200), for the 1-minute load average to fall below $QUIET (0.3), and
# up to $WAIT_NEXT (300) before each later one; a run that starts on a busy machine says so here
# and in the record (its load_start).
#
#   bash benchmarks/hinton_cpu_records.sh [speed] [180] [600]        # default: all three
#
# speed: each recipe of the comparison timed in 12-s bursts (2 threads), so the book can put the
# validation runs, which count images, on the seconds axis.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
QUIET=${QUIET:-0.3} WAIT_MAX=${WAIT_MAX:-1200} WAIT_NEXT=${WAIT_NEXT:-300} SEEDS=${SEEDS:-"0 1 2"}
declare -A RECIPE=([180]=fast [600]=long)
budgets=("$@")
[ ${#budgets[@]} -eq 0 ] && budgets=(speed 180 600)
IDEAS=${IDEAS:-"bn bn-bf16 bn-bf16-512 bn-bf16-1024 plain-bf16-512 ln-bf16-512 bn-bf16-512-silu bn-bf16-512-ema bn-bf16-512-mask bn-bf16-512-lr6 bn-bf16-512-lr10 bn-bf16-512-lr20 fast long"}

wait_quiet() {
  local waited=0 load
  while load=$(cut -d' ' -f1 /proc/loadavg); awk "BEGIN{exit !($load >= $QUIET)}"; do
    if [ $waited -ge "$1" ]; then echo "still busy (load $load) after ${waited} s: running anyway" >&2; return 1; fi
    sleep 30; waited=$((waited + 30))
  done
  echo "quiet: load $load"
}

limit=$WAIT_MAX
for budget in "${budgets[@]}"; do
  if [ "$budget" = speed ]; then
    wait_quiet "$limit"; limit=$WAIT_NEXT
    OMP_NUM_THREADS=2 $PY benchmarks/hinton2006.py --speed --threads 2 --recipes $IDEAS --append || exit 1
    continue
  fi
  for seed in $SEEDS; do
    wait_quiet "$limit"; limit=$WAIT_NEXT
    OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $PY benchmarks/hinton2006.py --split test --threads 2 \
      --budget "$budget" --recipes "${RECIPE[$budget]}" --seeds "$seed" --append || exit 1
  done
done
