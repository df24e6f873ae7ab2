"""The live explorers of the static site (aebook.webexport, _static/aebook-explorer.js), in Chromium.

For each explorer: the page's numbers against the Python view's, at the settings the export's
check data holds (CHECK_KEY in the output's metadata, which the page does not show), within
TOLERANCE; every control moved with the keyboard, and the outputs and the pixels must change; one
update timed in the page (performance.now(); goal: under 16 ms, a frame).

test_explorers_on_synthetic_views runs on small untrained models and needs no built book; the
book's pages are checked by test_explorers_of_the_book (after `make book`). Both print a table:
per explorer, its page weight, its update time and its largest difference from Python.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import new_page, serve
from test_site import CHAPTERS, ROOT, executed_notebook, site  # noqa: F401 (a fixture)

from aebook import corruption, explore, fields, toy, webexport
from aebook.models import mlp_autoencoder
from aebook.vae import VAE
from aebook.webformat import unpack

FRAME_MS = 16  # the goal for one update, reported; the test fails above FAIL_MS (a busy CI machine)
FAIL_MS = 100
# Largest difference from the Python view, per output: images in pixel values (0..1), which the
# weights' quantisation costs (measured on the book's trained models: float16 below 1e-3, int8
# with a scale per 64 weights about 0.01) and sums in another order; the noise the page draws is
# Python's to float32 rounding; fields relative to 1 + |v| (float32 weights; the exact score in
# float64 against float32).
TOLERANCE = {"image": 0.02, "interpolated": 0.02, "samples": 0.02, "DAE": 0.02, "plain AE": 0.02,
             "corrupted": 1e-5, "field": 1e-3}

SUMMARY = []  # rows of the report printed at the end

COMPARE = """(args) => {
  const [index, cases] = args;
  const api = document.querySelectorAll('.aebook-explorer')[index].aebook;
  const saved = {...api.values};
  const got = cases.map(c => {
    const out = api.set(c.values);
    const title = document.querySelectorAll('.aebook-explorer')[index]
      .querySelector('.aebook-explorer-text')?.textContent ?? '';
    return {title, outputs: Object.fromEntries(Object.keys(c.outputs).map(k => [k, Array.from(out[k])]))};
  });
  api.set(saved);
  return got;
}"""
DIGEST = """(index) => {
  const root = document.querySelectorAll('.aebook-explorer')[index];
  const out = root.aebook.outputs, canvas = root.querySelector('canvas');
  const numbers = Object.values(out).filter(v => v instanceof Float32Array)
    .map(v => Array.from(v.slice(0, 4096)).join(',')).join('|');
  return [numbers, canvas.toDataURL()];
}"""
TIME = """(index) => {
  const api = document.querySelectorAll('.aebook-explorer')[index].aebook;
  const c = api.spec.controls.find(c => c.options.length > 1), saved = {...api.values}, times = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    api.set({[c.name]: c.options[i % c.options.length]});
    times.push(performance.now() - t0);
  }
  api.set(saved);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}"""


def differences(check: dict, got: list[dict]) -> dict[str, float]:
    """The largest difference per output name between the check's cases and the page's."""
    worst: dict[str, float] = {}
    for case, page in zip(check["cases"], got):
        for name, packed in case["outputs"].items():
            ours, theirs = unpack(packed).ravel(), np.asarray(page["outputs"][name], dtype=np.float64)
            assert ours.shape == theirs.shape, f"{name}: {ours.shape} in Python, {theirs.shape} in the page"
            d = np.abs(ours - theirs)
            if check["kind"] == "point":
                d = d / (1 + np.abs(ours))
                name = "field"
            worst[name] = max(worst.get(name, 0.0), float(d.max()))
        if "title" in case:  # the point views: "undefined" in both or in neither
            assert case["title"].endswith("undefined") == page["title"].endswith("undefined"), \
                (case["title"], page["title"])
    return worst


def drive(page, index: int) -> list[str]:
    """Move every control with the keyboard; the names of those that changed nothing."""
    root = page.locator(".aebook-explorer").nth(index)
    dead = []
    for control in root.locator("input, select").all():
        before = page.evaluate(DIGEST, index)
        control.focus()
        key = "ArrowDown" if control.evaluate("e => e.tagName") == "SELECT" else "ArrowRight"
        page.keyboard.press(key)
        if page.evaluate(DIGEST, index) == before:  # at the end of its range: the other way
            page.keyboard.press("ArrowUp" if key == "ArrowDown" else "ArrowLeft")
            page.keyboard.press("ArrowUp" if key == "ArrowDown" else "ArrowLeft")
        after = page.evaluate(DIGEST, index)
        if after[0] == before[0] or after[1] == before[1]:
            dead.append(control.get_attribute("id"))
    return dead


def check_explorers(page, checks: list[dict], where: str) -> list[str]:
    """Everything wrong with the explorers on the open page, against their checks, in order."""
    problems = []
    page.wait_for_function("() => [...document.querySelectorAll('.aebook-explorer')].every(e => e.aebook)",
                           timeout=20000)
    roots = page.locator(".aebook-explorer")
    if roots.count() != len(checks):
        return [f"{roots.count()} live explorers on the page, {len(checks)} exported"]
    for i, check in enumerate(checks):
        root = roots.nth(i)
        unlabelled = root.evaluate("r => [...r.querySelectorAll('input, select')]"
                                   ".filter(c => !r.querySelector(`label[for='${c.id}']`)).length")
        if unlabelled:
            problems.append(f"{where} #{i}: {unlabelled} control(s) without a label")
        got = page.evaluate(COMPARE, [i, check["cases"]])
        worst = differences(check, got)
        for name, d in worst.items():
            if d > TOLERANCE[name]:
                problems.append(f"{where} #{i} ({check['kind']}): {name} differs from Python by {d:.3g} "
                                f"> {TOLERANCE[name]}")
        if dead := drive(page, i):
            problems.append(f"{where} #{i}: moving {dead} changed nothing")
        ms = page.evaluate(TIME, i)
        if ms > FAIL_MS:
            problems.append(f"{where} #{i}: an update takes {ms:.1f} ms")
        SUMMARY.append(f"{where:28s} {check['kind']:13s} {check['weight']['bytes'] / 1e3:6.0f} kB "
                       f"({check['weight']['gzip'] / 1e3:5.0f} kB gzip)  update {ms:5.1f} ms  "
                       + ", ".join(f"{k} {v:.2g}" for k, v in worst.items())
                       + f"  (export {check['export_error']:.2g})")
    return problems


def synthetic_views() -> list:
    """One view of each kind, on small untrained models, as the chapters build them."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 784, generator=g) * (torch.rand(8, 784, generator=g) > 0.7)
    ae = mlp_autoencoder(784, [64, 16], 2)
    latent = explore.latent_view(ae.decode, torch.randn(500, 2, generator=g), torch.arange(500) % 10)
    vae = VAE(784, hidden=[32], latent_dim=4)
    walk = explore.interpolation_view(vae.encode, vae.decode_mean, (x[0] > 0.5).float(), (x[1] > 0.5).float())
    dae = mlp_autoencoder(784, [], 32, code_activation=nn.Sigmoid, out_activation=None)
    noise = explore.noise_view({"Gaussian": (dae, corruption.additive_gaussian),
                                "masking": (dae, corruption.masking),
                                "salt-and-pepper": (dae, corruption.salt_and_pepper)}, x, plain=dae)
    mixture = toy.gaussian_mixture()
    nets = {s: mlp_autoencoder(2, [16], 16, activation=nn.SiLU, code_activation=nn.SiLU, out_activation=None)
            for s in (0.1, 0.4)}
    settings = {f"σ = {s:g}": {"DAE": lambda p, s=s: fields.reconstruction_field(nets[s], p) / s ** 2,
                               "exact": mixture.score} for s in nets}
    score = explore.point_view(settings, lambda ax: fields.plot_density(mixture.log_prob, ax=ax), (-3.5, 3.5),
                               scale=0.4, start=(1.5, 0.5))
    web = {name: {"DAE": webexport.Residual(nets[s], 1 / s ** 2), "exact": webexport.MixtureScore(mixture)}
           for name, s in zip(settings, nets)}
    curve = toy.spiral(300, noise=0.0).clean
    near = explore.point_view({"spiral": {"to the curve": lambda p: webexport.Nearest(curve)(p),
                                          "AE": lambda p: fields.reconstruction_field(nets[0.1], p)}},
                              lambda ax: ax.plot(*curve.T, "."), (-1.2, 1.2), steps=25)
    return [webexport.live(latent), webexport.live(walk), webexport.live(noise), webexport.live(score, web),
            webexport.live(near, {"spiral": {"to the curve": webexport.Nearest(curve),
                                             "AE": webexport.Residual(nets[0.1])}})]


def test_explorers_on_synthetic_views(browser, tmp_path):
    explorers = synthetic_views()
    static = tmp_path / "_static"
    static.mkdir()
    for name in ("aebook-explorer.js", "aebook-explorer.css"):
        shutil.copy(ROOT / "_static" / name, static / name)
    (tmp_path / "page.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="stylesheet" href="_static/aebook-explorer.css">'
        '<script defer src="_static/aebook-explorer.js"></script></head><body>'
        + "".join(f"<div class='cell_output'>{e.html}</div>" for e in explorers) + "</body></html>")
    page = new_page(browser, mathjax=False, note=False)
    try:
        with serve(tmp_path) as url:
            page.goto(f"{url}/page.html")
            problems = check_explorers(page, [e.check for e in explorers], "synthetic")
    finally:
        page.context.close()
    assert problems == []


def test_the_comparison_catches_a_wrong_page(browser, tmp_path):
    """A page whose decoder differs from the exported one (its last bias shifted by 0.5) fails the
    comparison, and one whose script is missing fails to mount."""
    latent = synthetic_views()[0]
    spec = json.loads(latent.html.split('class="aebook-explorer-data">')[1].split("</script>")[0])
    spec["data"]["decoder"]["layers"][-2]["b"] = webexport.pack(np.full(784, 0.5))
    check = latent.check
    broken = webexport.Explorer(spec, {k: v for k, v in check.items() if k != "weight"})
    static = tmp_path / "_static"
    static.mkdir()
    shutil.copy(ROOT / "_static" / "aebook-explorer.js", static)
    (tmp_path / "page.html").write_text('<!DOCTYPE html><html><head><meta charset="utf-8">'
                                        '<script src="_static/aebook-explorer.js" defer></script></head>'
                                        f"<body>{broken.html}</body></html>")
    page = new_page(browser, mathjax=False, note=False)
    try:
        with serve(tmp_path) as url:
            page.goto(f"{url}/page.html")
            problems = check_explorers(page, [check], "broken")
    finally:
        page.context.close()
    assert len(problems) == 1 and "image differs from Python" in problems[0], problems


def book_checks(source: Path) -> list[dict]:
    """The check data of each live explorer of a chapter, in page order, from the execution cache."""
    nb = executed_notebook(source)
    if nb is None:
        return []
    return [out["metadata"][webexport.CHECK_KEY] for cell in nb["cells"] for out in cell.get("outputs", [])
            if webexport.CHECK_KEY in out.get("metadata", {})]


WITH_EXPLORERS = [s for s in CHAPTERS if '"explorer-web"' in s.read_text()]


def test_chapters_with_an_explorer_have_a_live_one():
    with_python = [s.stem for s in CHAPTERS if '"explorer"' in s.read_text()]
    assert {s.stem for s in WITH_EXPLORERS} <= set(with_python)
    assert {"01_autoencoders", "04_denoising", "07_stochastic", "08_manifolds"} <= {s.stem for s in WITH_EXPLORERS}


@pytest.mark.parametrize("source", WITH_EXPLORERS, ids=lambda p: p.stem)
def test_explorers_of_the_book(source: Path, site: str, browser):
    checks = book_checks(source)
    if not checks:
        pytest.fail(f"no live explorer in the execution cache for {source.name}: run `make book`", pytrace=False)
    page = new_page(browser)
    try:
        page.goto(f"{site}/chapters/{source.stem}.html")
        problems = check_explorers(page, checks, source.stem)
    finally:
        page.context.close()
    assert problems == []
