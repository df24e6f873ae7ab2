#!/usr/bin/env bash
# The Hinton network's CPU record in float32, for a 2-core CPU without bfloat16 instructions (there
# the bfloat16 recipes of hinton_cpu_records.sh run 15-20x slower), into
# benchmarks/results/hinton2006-fp32.json, in stages:
#   speed  each recipe timed in 20-s bursts, 2 torch threads (its seconds per 60,000 images);
#   ideas  hinton2006.py's FP32_IDEAS on the validation split for 48.8 epochs (the images the 180-s
#          choice trains in 180 s on the record's bfloat16 CPU), two at a time with one thread each:
#          the images are fixed, so the errors do not depend on the clock;
#   val    FP32_LONGER (the best two ideas and the two together) on the validation split for the
#          images their speed does in 600 s (--plan 600), three at a time, one thread each;
#   600    the chosen recipe (long-fp32: its settings are the winner's, which the record's "chosen"
#          checks) on all 60,000 images for 600 s of training, 2 threads, seeds 0 1 2, each tested once,
#          each started once the 1-minute load average is below $QUIET (0.3).
# About 3 + 50 + 35 + 35 minutes on a 2-core AMD EPYC with AVX2, from the runs of its record (a
# pair of ideas about 12.5 min, the three 600-s validation runs together about 33, a timed run 11).
#
#   bash benchmarks/hinton_fp32_records.sh [speed] [ideas] [val] [600]     # default: all four
#
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT_RECORD:-benchmarks/results/hinton2006-fp32.json}
QUIET=${QUIET:-0.3} WAIT_MAX=${WAIT_MAX:-1200} SEEDS=${SEEDS:-"0 1 2"}
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(speed ideas val 600)
names() { $PY -c "import sys; sys.path.insert(0, 'benchmarks'); import hinton2006; print(*hinton2006.$1)"; }
H="$PY benchmarks/hinton2006.py --append"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source benchmarks/quiet.sh  # wait_quiet

# parallel LENGTH-ARGS -- RECIPE...: one process per recipe, one thread each, merged into $OUT at the end
parallel() {
  local args=() pids=() parts=() i=0
  while [ "$1" != -- ]; do args+=("$1"); shift; done; shift
  for name in "$@"; do
    i=$((i + 1)); [ -f "$OUT" ] && cp "$OUT" "$tmp/$i.json"
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $H --split val --threads 1 --out "$tmp/$i.json" "${args[@]}" \
      --recipes "$name" > "$tmp/$i.log" 2>&1 &
    pids+=($!) parts+=("$tmp/$i.json")
  done
  for pid in "${pids[@]}"; do wait "$pid" || { cat "$tmp"/*.log >&2; exit 1; }; done
  cat "$tmp"/*.log | grep -v '^wrote'
  [ -f "$OUT" ] || cp "${parts[0]}" "$OUT"
  $PY benchmarks/hinton2006.py --out "$OUT" --merge "${parts[@]}" || exit 1
  rm -f "$tmp"/*
}

for stage in "${stages[@]}"; do
  case $stage in
  speed)
    wait_quiet "$WAIT_MAX"
    OMP_NUM_THREADS=2 $H --speed --threads 2 --burst 20 --out "$OUT" \
      --recipes $(names FP32_IDEAS) fast-fp32-silu-wd0.2 || exit 1 ;;
  ideas)
    ideas=($(names FP32_IDEAS))
    for ((k = 0; k < ${#ideas[@]}; k += 2)); do
      parallel --epochs 48.8 --evals 6 -- "${ideas[@]:k:2}"
    done ;;
  val)
    parallel --plan 600 --evals 10 -- $(names FP32_LONGER) ;;
  600)
    for seed in $SEEDS; do
      wait_quiet "$WAIT_MAX"
      OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $H --split test --threads 2 --budget 600 --recipes long-fp32 \
        --seeds "$seed" --out "$OUT" || exit 1
    done ;;
  *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
