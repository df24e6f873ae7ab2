"""Time every chapter notebook at the given scales and write the figures as JSON and a Markdown table.

    .venv/bin/python benchmarks/time_chapters.py --scales quick default [--threads 2] [chapters/02_*.ipynb ...]

Each notebook runs in a fresh kernel with AEBOOK_SCALE set, one after another (never in parallel,
so the figures are not disturbed by each other). Writes benchmarks/chapter_times.json and
benchmarks/chapter_times.md; a failing chapter is recorded as failed and makes the exit status 1.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, scale: str, threads: int) -> tuple[float, bool]:
    """Execute ``path`` at ``scale``; return (seconds, succeeded)."""
    os.environ.update(AEBOOK_SCALE=scale, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        ok = True
    except CellExecutionError as err:
        print(f"{path.name} failed at scale {scale}: {str(err)[-500:]}", file=sys.stderr)
        ok = False
    return time.perf_counter() - start, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--scales", nargs="+", default=["quick", "default"], choices=["quick", "default", "full"])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "chapter_times")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    rows, failed = [], False
    for path in notebooks:
        row = {"chapter": path.stem}
        for scale in args.scales:
            seconds, ok = run(path.resolve(), scale, args.threads)
            row[scale] = round(seconds, 1) if ok else None
            failed |= not ok
            print(f"{path.stem:24s} {scale:8s} {seconds:7.1f} s {'' if ok else 'FAILED'}", flush=True)
        rows.append(row)
    record = {"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.processor() or 'cpu'}",
              "torch_threads": args.threads, "rows": rows,
              "total": {s: round(sum(r[s] or 0 for r in rows), 1) for s in args.scales}}
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    header = "| chapter | " + " | ".join(f"{s} (s)" for s in args.scales) + " |"
    lines = [header, "|---" * (len(args.scales) + 1) + "|"]
    lines += [f"| {r['chapter']} | " + " | ".join("failed" if r[s] is None else f"{r[s]:.0f}" for s in args.scales) + " |"
              for r in rows]
    lines.append("| **total** | " + " | ".join(f"**{record['total'][s]:.0f}**" for s in args.scales) + " |")
    args.out.with_suffix(".md").write_text(
        f"Measured {record['measured']} on {record['machine']}, {args.threads} torch threads.\n\n" + "\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
