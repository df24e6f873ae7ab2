"""Execute the chapters into the book's execution cache, several at once, before `jupyter-book build`.

    python tools/execute.py [--jobs N] [--cache _build/.jupyter_cache] chapters/*.ipynb

Jupyter Book executes one notebook at a time, each with every core. These chapters train small
networks, which two torch threads barely speed up: on a 2-core machine, two chapters at once with
one thread each took 49 s where the same two took 70 s one after the other. So this runs N kernels
at once (default: one per core, at most 4; set OMP_NUM_THREADS=1 for them), each as myst-nb would run it (in
the notebook's folder, 600-s cell timeout), and stores the executed notebooks in the cache exactly
as myst-nb does. The build that follows then finds every chapter cached ("Using cached notebook")
and executes nothing. A chapter already cached is skipped; a chapter that fails is not cached, so the
build executes it again and reports the failing cell as usual.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution


def execute(path: str) -> tuple[str, nbformat.NotebookNode, float, str | None]:
    nb, start = nbformat.read(path, as_version=4), time.perf_counter()
    try:
        result = single_nb_execution(nb, cwd=str(Path(path).resolve().parent), allow_errors=False, timeout=600,
                                     meta_override=True)
    except Exception as err:  # a dead kernel, say: the cell errors and timeouts come back in result.err
        return path, nb, time.perf_counter() - start, repr(err)
    return path, nb, result.time, None if result.err is None else result.exc_string


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    # each chapter's kernel peaks at 0.5-1.7 GB at default scale (measured): 4 at once at most, unless asked
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--cache", default="_build/.jupyter_cache")
    args = parser.parse_args(argv)
    cache = get_cache(args.cache)
    todo = []
    for path in args.notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
            print(f"{path}: cached")
        except KeyError:
            todo.append(path)
    failed, start = [], time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(todo)))) as pool:
        for path, nb, seconds, error in pool.map(execute, todo):
            if error:
                failed.append(path)
                print(f"{path}: failed after {seconds:.1f} s; the build will execute it again and report it")
                continue
            uri = cache.add_nb_to_project(str(Path(path).resolve())).uri
            cache.cache_notebook_bundle(CacheBundleIn(nb, uri, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"{path}: executed in {seconds:.1f} s", flush=True)
    print(f"{len(todo) - len(failed)} executed, {len(args.notebooks) - len(todo)} cached, {len(failed)} failed "
          f"({args.jobs} at a time, {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
