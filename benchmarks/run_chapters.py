"""Run every chapter at one scale; record its time and the figures the Reproductions page compares
with the papers.

    .venv/bin/python benchmarks/run_chapters.py --scale default [--threads 2] [chapters/02_*.ipynb ...]
    .venv/bin/python benchmarks/run_chapters.py --scale full      # on a GPU machine

Each notebook runs in a fresh kernel with AEBOOK_SCALE set, one after another (never in parallel,
so the times are not disturbed by each other). After its last cell, one more cell evaluates the
expressions of `records.FIGURES` for that chapter in the notebook's namespace, so every recorded
figure is the chapter's own variable, computed by the run. Writes benchmarks/results/<scale>.json
with the date, the machine, each chapter's seconds and figures; chapters given on the command line
update their entries in an existing file. A failing chapter is recorded as failed and makes the
exit status 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from records import FIGURES, RESULTS, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MARK = "AEBOOK-FIGURES "


def _probe(expressions: dict[str, str]) -> str:
    """Source of the extra cell: each expression evaluated, as JSON on one marked line."""
    items = ", ".join(f"{key!r}: " + (f"globals().get({expr[1:]!r})" if expr.startswith("?") else f"({expr})")
                      for key, expr in expressions.items())
    return ("import json as _json\n"
            f"print({MARK!r} + _json.dumps({{k: (None if v is None else float(v)) for k, v in {{{items}}}.items()}}))")


def run(path: Path, scale: str, threads: int) -> dict:
    """Execute ``path`` at ``scale``; return its seconds, status and figures."""
    os.environ.update(AEBOOK_SCALE=scale, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    nb = nbformat.read(path, as_version=4)
    expressions = FIGURES.get(path.stem, {})
    if expressions:
        nb.cells.append(nbformat.v4.new_code_cell(_probe(expressions)))
    client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        print(f"{path.name} failed at scale {scale}: {str(err)[-800:]}", file=sys.stderr)
        return {"seconds": None, "ok": False, "figures": {}}
    seconds = time.perf_counter() - start
    figures = {}
    if expressions:
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
        figures = json.loads(text.split(MARK, 1)[1])
    return {"seconds": round(seconds, 1), "ok": True, "figures": figures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--scale", required=True, choices=["quick", "default", "full"])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    out = RESULTS / f"{args.scale}.json"
    record = json.loads(out.read_text()) if args.notebooks and out.exists() else {"chapters": {}}
    failed = False
    for path in notebooks:
        result = run(path.resolve(), args.scale, args.threads)
        record["chapters"][path.stem] = result
        failed |= not result["ok"]
        print(f"{path.stem:24s} {args.scale:8s} {result['seconds'] or 0:7.1f} s "
              f"{'' if result['ok'] else 'FAILED '}{result['figures']}", flush=True)
    record.update(scale=args.scale, measured=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  machine={**machine(), "torch_threads": args.threads})
    record["chapters"] = dict(sorted(record["chapters"].items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
