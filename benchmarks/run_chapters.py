"""Run every chapter at one scale and seed(s); record its time and every claim it checked.

    .venv/bin/python benchmarks/run_chapters.py --scale default --seeds 0 1 2 [--threads 2] [chapters/02_*.ipynb ...]
    .venv/bin/python benchmarks/run_chapters.py --scale full      # on a GPU machine; seed 0

Each notebook runs in a fresh kernel with AEBOOK_SCALE and AEBOOK_SEED set, one run after another
(never in parallel, so the times are not disturbed by each other). The chapter's `aebook.claim`
and `aebook.measure` calls write what they checked to the file named by AEBOOK_RECORD, so the
record holds exactly the figures, thresholds and controls the chapter asserted, nothing read back
afterwards. Writes benchmarks/results/<scale>.json (or --out) with the date, the machine and, per
chapter, its title and one entry per seed: seconds, ok, the error if it failed, its claims and
measures. Chapters given on the command line update their entries in an existing file. A failing
run is recorded with the claims it checked before it failed, and makes the exit status 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from records import RESULTS, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def title(nb: nbformat.NotebookNode) -> str:
    """The chapter's H1 without the '# ', e.g. '14.1 Undercomplete autoencoders'."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def run(path: Path, scale: str, seed: int, threads: int, timeout: int = 1800) -> dict:
    """Execute ``path`` at ``scale`` and ``seed``; return its seconds, status, claims and measures."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        record_file = Path(tmp) / "record.jsonl"
        env = dict(AEBOOK_SCALE=scale, AEBOOK_SEED=str(seed), AEBOOK_RECORD=str(record_file),
                   OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # the kernel inherits this process's environment
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        error, start = None, time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as err:
            error = str(err).strip().splitlines()[-1][:500]
            print(f"{path.name} failed at scale {scale}, seed {seed}: {str(err)[-800:]}", file=sys.stderr)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        seconds = time.perf_counter() - start
        lines = record_file.read_text().splitlines() if record_file.exists() else []
    entries = [json.loads(line) for line in lines]
    claims = [{k: v for k, v in e.items() if k != "kind"} for e in entries if e["kind"] == "claim"]
    measures = {e["key"]: e["value"] for e in entries if e["kind"] == "measure"}
    return {"seed": seed, "seconds": None if error else round(seconds, 1), "ok": error is None,
            "error": error, "claims": claims, "measures": measures, "title": title(nb)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--scale", required=True, choices=["quick", "default", "full"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/<scale>.json")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    out = args.out or RESULTS / f"{args.scale}.json"
    record = json.loads(out.read_text()) if args.notebooks and out.exists() else {"chapters": {}}
    failed, load_start = False, [round(v, 2) for v in os.getloadavg()]
    for path in notebooks:
        runs = []
        for seed in args.seeds:
            result = run(path.resolve(), args.scale, seed, args.threads)
            runs.append({k: v for k, v in result.items() if k != "title"})
            failed |= not result["ok"]
            held = sum(c["passed"] and not c["control_passed"] for c in result["claims"])
            print(f"{path.stem:24s} {args.scale:8s} seed {seed} {result['seconds'] or 0:7.1f} s "
                  f"{'ok' if result['ok'] else 'FAILED'}: {held} of {len(result['claims'])} claims hold",
                  flush=True)
        record["chapters"][path.stem] = {"title": result["title"], "runs": runs}
    record.update(scale=args.scale, measured=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  machine={**machine(), "torch_threads": args.threads,
                           "load_average": {"start": load_start,
                                                    "end": [round(v, 2) for v in os.getloadavg()]}})
    record["chapters"] = dict(sorted(record["chapters"].items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
