"""make lab: JupyterLab and Notebook 7 pinned into .venv, opened on chapters/, as root only with
--allow-root (Jupyter refuses root without it). Checked on make's dry run: nothing is installed."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_lab_installs_jupyter_and_opens_the_chapters():
    out = subprocess.run(["make", "-n", "-B", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    install = next(line for line in out.splitlines() if "jupyterlab==" in line)
    assert "pip install" in install and "notebook==7." in install
    run = out[out.index("/jupyter lab"):]
    assert "--ServerApp.default_url=/lab/tree/chapters" in run
    assert ("--allow-root" in run) == (os.getuid() == 0)
    assert "make lab" in (ROOT / "README.md").read_text()
