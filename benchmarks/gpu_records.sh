#!/usr/bin/env bash
# Every GPU record of the book in one command, within a wall-clock budget (default 480 s):
#
#   bash benchmarks/gpu_records.sh [--smoke] [--budget SECONDS] [throughput] [hinton] [chapters [NN_slug ...]]
#
# With no part named it runs all three, in this order:
#   throughput  benchmarks/train_throughput.py on cuda, with fit's batch-size sweep (the measurement
#               fit's CUDA default is to be chosen from)  -> results/throughput.json (CPU rows kept)
#   hinton      benchmarks/hinton2006.py: the candidate recipes for 15 s each on the validation split,
#               then the one with the lowest validation error on the test split, seeds 0 1 2
#               -> results/hinton2006.json (CPU runs kept)
#   chapters    benchmarks/run_chapters.py --scale full, one chapter at a time, each chapter already
#               recorded as ok in results/full.json skipped: a second call resumes where a first one
#               ran out of time                          -> results/full.json
# Each part runs under `timeout` with what is left of the budget; a part cut short says so and the
# script exits 1, listing what to run next. Where $OUT is set (the device tool), the records are
# copied there at the end.
#
# Needs: python3 with torch (CUDA); the wheels and data that benchmarks/gpu_prepare.sh put in .whl/
# (carried along with the working tree: the GPU machine reaches no registry); they are installed
# into a temporary folder, never into the machine's environment.
# --smoke runs the same steps on the CPU, tiny (about a minute): what tests/test_benchmarks.py runs,
# writing into $RESULTS (default: a temporary folder) instead of benchmarks/results.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
SMOKE=0 BUDGET=480 parts=() chapters=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --budget) BUDGET=$2; shift ;;
    throughput|hinton|chapters) parts+=("$1") ;;
    [0-9][0-9]_*) chapters+=("chapters/${1%.ipynb}.ipynb") ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#parts[@]} -eq 0 ] && parts=(throughput hinton chapters)
START=$SECONDS
left() { echo $(( BUDGET - (SECONDS - START) )); }
status=0

# What the GPU machine lacks: carried wheels into a temporary folder, carried data into a cache
# (where the notebook runner is importable already, as in the project's .venv, nothing is installed).
if ! $PY -c "import nbclient, ipykernel, ipywidgets" 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then
  SITE=${AEBOOK_SITE:-/tmp/aebook-site}
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
    || { echo "installing the wheels of .whl/ failed" >&2; exit 1; }
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # aebook from this checkout
if [ -d .whl/data ] && [ $SMOKE = 0 ]; then
  export AEBOOK_DATA=${AEBOOK_DATA:-/tmp/aebook-data}
  $PY - <<'EOF' || exit 1
import lzma, os
from pathlib import Path
for src in Path(".whl/data").glob("*/*.xz"):
    dst = Path(os.environ["AEBOOK_DATA"]) / src.parent.name / src.stem
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(lzma.decompress(src.read_bytes()))
EOF
fi

if [ $SMOKE = 1 ]; then
  RESULTS=${RESULTS:-$(mktemp -d)}
  DEVICE=cpu
  TP_ARGS=(--n 2000 --epochs 1 --batches 128 512)
  THREADS=1
  H_ARGS=(--quick --recipes plain bn-bf16-512 --budget 1 --seeds 0 1 --threads 1)
  export AEBOOK_SCALE=quick
else
  RESULTS=benchmarks/results
  DEVICE=cuda
  $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "no CUDA device: use --smoke on a CPU" >&2; exit 1; }
  TP_ARGS=(--batches 128 256 512 1024)
  THREADS=8
  # The candidates for the GPU: the CPU's 180-s choice and a larger-batch variant; 15 s each.
  H_ARGS=(--recipes fast fast-1024 --budget 15 --seeds 0 1 2)
fi
mkdir -p "$RESULTS"
echo "records into $RESULTS; budget ${BUDGET} s"

copy_out() { [ -n "${OUT:-}" ] && cp "$RESULTS"/*.json "$OUT"/ 2>/dev/null; true; }
trap copy_out EXIT

cap() { local want=$1 l; l=$(left); echo $(( want < l ? want : l )); }

for part in "${parts[@]}"; do
  if [ "$(left)" -le 10 ]; then echo "out of time before $part" >&2; status=1; continue; fi
  case $part in
  throughput)
    [ -f "$RESULTS/throughput.json" ] || { [ $SMOKE = 0 ] || cp benchmarks/results/throughput.json "$RESULTS"/ 2>/dev/null; }
    timeout "$(cap 150)" $PY benchmarks/train_throughput.py --devices $DEVICE --append \
      --out "$RESULTS/throughput.json" "${TP_ARGS[@]}" || { echo "throughput: failed or cut short" >&2; status=1; }
    ;;
  hinton)
    [ -f "$RESULTS/hinton2006.json" ] || { [ $SMOKE = 0 ] || cp benchmarks/results/hinton2006.json "$RESULTS"/ 2>/dev/null; }
    timeout "$(cap 240)" $PY benchmarks/hinton2006.py --device $DEVICE --choose --append \
      --out "$RESULTS/hinton2006.json" "${H_ARGS[@]}" || { echo "hinton: failed or cut short" >&2; status=1; }
    ;;
  chapters)
    [ ${#chapters[@]} -eq 0 ] && chapters=(chapters/*.ipynb)
    [ $SMOKE = 1 ] && chapters=(chapters/06_depth.ipynb)  # one short chapter at quick scale checks the runner
    scale=$([ $SMOKE = 1 ] && echo quick || echo full)
    for nb in "${chapters[@]}"; do
      stem=$(basename "$nb" .ipynb)
      if $PY -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r['chapters'].get(sys.argv[2],{}).get('ok') else 1)" \
           "$RESULTS/$scale.json" "$stem" 2>/dev/null; then
        echo "$stem: already recorded"; continue
      fi
      if [ "$(left)" -le 10 ]; then echo "out of time before $stem: run  bash benchmarks/gpu_records.sh chapters" >&2; status=1; break; fi
      if grep -q -- '"--out"' benchmarks/run_chapters.py; then
        timeout "$(left)" $PY benchmarks/run_chapters.py --scale $scale --threads $THREADS --out "$RESULTS/$scale.json" "$nb" \
          || { echo "$stem: failed or cut short" >&2; status=1; }
      else  # an older run_chapters.py writes benchmarks/results/<scale>.json: swap $RESULTS's copy in and out
        tracked=benchmarks/results/$scale.json saved=$(mktemp)
        [ -f "$tracked" ] && cp "$tracked" "$saved"
        if [ "$RESULTS" != benchmarks/results ]; then rm -f "$tracked"; [ -f "$RESULTS/$scale.json" ] && cp "$RESULTS/$scale.json" "$tracked"; fi
        timeout "$(left)" $PY benchmarks/run_chapters.py --scale $scale --threads $THREADS "$nb" \
          || { echo "$stem: failed or cut short" >&2; status=1; }
        if [ "$RESULTS" != benchmarks/results ]; then
          [ -f "$tracked" ] && mv "$tracked" "$RESULTS/$scale.json"
          [ -s "$saved" ] && cp "$saved" "$tracked"
        fi
        rm -f "$saved"
      fi
    done
    ;;
  esac
  echo "after $part: $(( SECONDS - START )) s"
done
echo "gpu_records: $(( SECONDS - START )) s in all, status $status"
exit $status
