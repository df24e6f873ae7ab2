"""tools/execute.py: chapters executed in parallel into the execution cache, as myst-nb would find them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

jupyter_cache = pytest.importorskip("jupyter_cache")  # the book's tools; not on Colab's stack (make colab-unit)
ROOT = Path(__file__).resolve().parents[1]


def notebook(path: Path, code: str) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A page"), nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return str(path)


def test_execute_caches_what_runs_skips_what_is_cached_and_leaves_failures_to_the_build(tmp_path):
    good = notebook(tmp_path / "good.ipynb", "import os\nprint(os.environ['OMP_NUM_THREADS'], os.getcwd())")
    bad = notebook(tmp_path / "bad.ipynb", "1 / 0")
    dead = notebook(tmp_path / "dead.ipynb", "import os\nos._exit(1)")  # the kernel dies: not a cell error
    cache = tmp_path / "cache"
    cmd = [sys.executable, str(ROOT / "tools" / "execute.py"), "--jobs", "2", "--cache", str(cache), good, bad, dead]
    env = {"OMP_NUM_THREADS": "1", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=True).stdout
    assert "1 executed, 0 cached, 2 failed" in out, out
    record = jupyter_cache.get_cache(str(cache)).match_cache_notebook(nbformat.read(good, as_version=4))
    executed = jupyter_cache.get_cache(str(cache)).get_cache_bundle(record.pk).nb  # its code cells
    assert executed.cells[0].outputs[0]["text"].split() == ["1", str(tmp_path)], "one thread, in the notebook's folder"
    assert record.data["execution_seconds"] > 0  # what the book's execution table shows
    for failed in (bad, dead):
        with pytest.raises(KeyError):
            jupyter_cache.get_cache(str(cache)).match_cache_notebook(nbformat.read(failed, as_version=4))
    again = subprocess.run(cmd[:-2], capture_output=True, text=True, timeout=300, env=env, check=True).stdout
    assert "0 executed, 1 cached, 0 failed" in again, again
