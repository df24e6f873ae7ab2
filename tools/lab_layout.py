"""Measure the explorers as a reader sees them in JupyterLab and Notebook 7 (after `make lab`).

Starts Jupyter on a free port in a temporary folder, opens a notebook that builds one explorer of
each kind at the chapters' sizes (untrained models: the layout does not depend on the weights),
runs it in headless Chromium with a 1,366 x 768 window (the page gets 1,366 x 680: the browser's
own bars take the rest), and prints, for each explorer, the image's size on the page against its
natural size, its PNG's pixels, and the height of the whole widget against the notebook's visible
area. Exits non-zero if an image is stretched or an explorer does not fit.

    .venv/bin/python tools/lab_layout.py [lab|notebook]
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from playwright.sync_api import sync_playwright

CELLS = [
    """import torch
from torch import nn
import aebook
from aebook import corruption, explore, fields, toy
from aebook.vae import VAE
torch.manual_seed(0)
x = torch.rand(8, 784)""",
    """model = aebook.mlp_autoencoder(784, [256, 64], 2)
explore.show(explore.latent_view(model.decode, torch.randn(10000, 2), torch.arange(10000) % 10))""",
    """dae = aebook.mlp_autoencoder(784, [], 512, code_activation=nn.Sigmoid, out_activation=None)
daes = {k: (dae, c) for k, c in [("Gaussian", corruption.additive_gaussian),
        ("masking", corruption.masking), ("salt-and-pepper", corruption.salt_and_pepper)]}
explore.show(explore.noise_view(daes, x, plain=dae))""",
    """mixture = toy.gaussian_mixture()
net = aebook.mlp_autoencoder(2, [64], 64, activation=nn.SiLU, out_activation=None)
settings = {f"σ = {s:g}": {"DAE: (r(x) − x) / σ²": lambda p, s=s: fields.reconstruction_field(net, p) / s ** 2,
                           "exact: ∇log p(x)": mixture.score} for s in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)}
explore.show(explore.point_view(settings, lambda ax: fields.plot_density(mixture.log_prob, ax=ax),
                                (-3.5, 3.5), scale=0.4, start=(1.5, 0.5)))""",
    """vae = VAE(784, hidden=[256], latent_dim=20)
explore.show(explore.interpolation_view(vae.encode, vae.decode_mean, x[0], x[1]))""",
]
MEASURE = """([outputSel, panelSel]) => {
  const panel = document.querySelector(panelSel).getBoundingClientRect();
  return [...document.querySelectorAll(outputSel)].filter(b => b.querySelector('img')).map(box => {
    const img = box.querySelector('img'), r = img.getBoundingClientRect(), b = box.getBoundingClientRect();
    return {shown: [r.width, r.height], png: [img.naturalWidth, img.naturalHeight],
            box: [b.width, b.height], panel: [panel.width, panel.height]};
  });
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(app: str = "lab") -> int:
    venv = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, Path(tmp) / "explorers.ipynb")
        port = free_port()
        root = ["--allow-root"] if os.getuid() == 0 else []
        server = subprocess.Popen([str(venv / "jupyter"), app, "--no-browser", f"--port={port}", *root,
                                   "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={tmp}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
        try:
            return measure(app, port)
        finally:
            server.terminate()
            server.wait(30)


def measure(app: str, port: int) -> int:
    url = (f"http://127.0.0.1:{port}/lab/tree/explorers.ipynb" if app == "lab"
           else f"http://127.0.0.1:{port}/notebooks/explorers.ipynb")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 680})
        for _ in range(60):  # the server takes a few seconds to start
            try:
                page.goto(url, timeout=10000)
                break
            except Exception:  # noqa: BLE001 (not up yet)
                time.sleep(1)
        page.wait_for_selector(".jp-Notebook", timeout=60000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                               ".jp-KernelStatus, .jp-Notebook", timeout=60000)
        time.sleep(5)  # the kernel
        if app == "lab":
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        else:
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea-output .widget-vbox img')"
                                   ".length >= 4", timeout=60000)
        finally:
            page.screenshot(path=f"/tmp/lab_layout_{app}.png")
        time.sleep(2)
        found = page.evaluate(MEASURE, [".jp-OutputArea-output .widget-vbox",
                                        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer, .jp-NotebookPanel"])
        page.screenshot(path=f"/tmp/lab_layout_{app}.png")
        browser.close()
    bad = 0
    for f in found:
        natural = [p / 2 for p in f["png"]]
        stretched = abs(f["shown"][0] - natural[0]) > 1
        fits = f["box"][1] <= f["panel"][1] and f["box"][0] <= f["panel"][0]
        bad += stretched or not fits
        print(json.dumps({**f, "natural": natural, "stretched": stretched, "fits": fits}))
    return 1 if bad or len(found) < 4 else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
