"""The two ways to run a live explorer's network in the reader's browser, measured on the built site:
the book's short hand-written forward pass (`_static/aebook-explorer.js`, what the site uses) and
onnxruntime-web (its WebAssembly backend, served from the site), on the same network with the same
weights, in headless Chromium: page weight, time to the first output, time per update, and the
largest difference of each from Python. Two explorers: chapter 14's latent map (its decoder)
and the DAE noise explorer of 14.2.2 (its first DAE, 784-512-784, on the explorer's 8 digits:
an update runs it and the plain AE).

    make book                                              # the site, with its explorers
    python -m pip install --target .ort/py onnx            # to write the ONNX files (torch exports)
    npm install --prefix .ort onnxruntime-web@1.23.2       # the runtime, into the ignored .ort/
    PYTHONPATH=.ort/py .venv/bin/python benchmarks/explorer_runtime.py

Writes benchmarks/results/explorer_runtime.json. Not part of make test: it needs the two packages
above, which the book does not (the site uses the hand-written pass).
"""
from __future__ import annotations

import html as htmllib
import json
import re
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from aebook.webformat import run_net, unpack  # noqa: E402
from records import RESULTS, machine  # noqa: E402

SITE, ORT = ROOT / "_build" / "html", ROOT / ".ort" / "node_modules" / "onnxruntime-web" / "dist"
EXPLORERS = [("01_autoencoders", "latent", lambda d: d["decoder"]),
             ("04_denoising", "noise", lambda d: next(iter(d["nets"].values())))]
ACT = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "silu": nn.SiLU, "softplus": nn.Softplus}
REPEATS = 500

PAGE = """<!doctype html><meta charset="utf-8"><script src="ort.wasm.min.js"></script>
<script src="aebook-explorer.js"></script><script>
async function measure(net, x, n) {
  const t = () => performance.now();
  const input = Float32Array.from(x), out = {};
  let t0 = t();
  const layers = aebookExplorer.prepare(net);
  let y = aebookExplorer.forward(layers, input, n);
  out.hand_first_ms = t() - t0;
  t0 = t();  // one loop timed whole: Chromium rounds performance.now() to 0.1 ms
  for (let i = 0; i < %(repeats)d; i++) y = aebookExplorer.forward(layers, input, n);
  out.hand_ms = (t() - t0) / %(repeats)d; out.hand = Array.from(y);
  ort.env.wasm.numThreads = 1; ort.env.wasm.wasmPaths = "./";
  t0 = t();
  const session = await ort.InferenceSession.create("net.onnx", {executionProviders: ["wasm"]});
  const feed = {x: new ort.Tensor("float32", input, [n, input.length / n])};
  let r = await session.run(feed);
  out.ort_first_ms = t() - t0;
  t0 = t();
  for (let i = 0; i < %(repeats)d; i++) r = await session.run(feed);
  out.ort_ms = (t() - t0) / %(repeats)d; out.ort = Array.from(r.y.data);
  return out;
}
</script>"""


def explorer_data(chapter: str, kind: str) -> dict:
    page = (SITE / "chapters" / f"{chapter}.html").read_text()
    for div, payload in re.findall(r'<div class="aebook-explorer" data-kind="(\w+)".*?'
                                   r'<script type="application/json" class="aebook-explorer-data">(.*?)</script>',
                                   page, re.S):
        if div == kind:
            return json.loads(htmllib.unescape(payload).replace("<\\/", "</"))
    raise SystemExit(f"no {kind} explorer in {chapter}.html: run make book first")


def torch_net(net: dict) -> nn.Sequential:
    """The page's network as torch layers with the page's (decoded) weights."""
    layers = []
    for layer in net["layers"]:
        if layer["op"] == "linear":
            w, b = unpack(layer["w"]), unpack(layer["b"])
            lin = nn.Linear(w.shape[1], w.shape[0])
            lin.weight.data, lin.bias.data = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
            layers.append(lin)
        else:
            layers.append(ACT[layer["op"]]())
    return nn.Sequential(*layers)


def main() -> int:
    from playwright.sync_api import sync_playwright
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from conftest import serve  # the browser check's static server

    runtime = ["ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"]
    if not all((ORT / f).exists() for f in runtime):
        raise SystemExit(f"onnxruntime-web is not in {ORT}: see this script's docstring")
    results = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for chapter, kind, pick in EXPLORERS:
            spec = explorer_data(chapter, kind)
            net = pick(spec["data"])
            model = torch_net(net).eval()
            d_in = model[0].in_features
            if kind == "noise":  # what one update feeds each network: the explorer's digits
                x = unpack(spec["data"]["x"]).astype(np.float32)
            else:  # one code: the base code with the two explored coordinates set
                x = unpack(spec["data"]["base"]).reshape(1, d_in).astype(np.float32)
                x[0, spec["data"]["dims"]] = (1.0, -0.5)
            folder = Path(tmp) / chapter
            folder.mkdir()
            torch.onnx.export(model, torch.from_numpy(x), folder / "net.onnx", input_names=["x"],
                              output_names=["y"], dynamo=False, opset_version=17, dynamic_axes={"x": {0: "n"}})
            for f in runtime:
                (folder / f).write_bytes((ORT / f).read_bytes())
            (folder / "aebook-explorer.js").write_bytes((ROOT / "_static" / "aebook-explorer.js").read_bytes())
            (folder / "index.html").write_text(PAGE % {"repeats": REPEATS})
            with serve(folder) as url:
                page = browser.new_page()
                page.goto(f"{url}/index.html")
                out = page.evaluate("([net, x, n]) => measure(net, x, n)", [net, x.reshape(-1).tolist(), len(x)])
                page.close()
            python = run_net(net, x).reshape(-1)
            net_json = len(json.dumps(net, separators=(",", ":")).encode())
            row = {"chapter": chapter, "kind": kind, "dtype": spec["dtype"], "rows": len(x),
                   "shape": [model[0].in_features] + [m.out_features for m in model if isinstance(m, nn.Linear)],
                   "hand": {"runtime_bytes": (ROOT / "_static" / "aebook-explorer.js").stat().st_size,
                            "weights_bytes": net_json, "first_ms": round(out["hand_first_ms"], 2),
                            "update_ms": round(out["hand_ms"], 3),
                            "max_diff_from_python": float(np.abs(np.array(out["hand"]) - python).max())},
                   "onnxruntime_web": {"runtime_bytes": sum((ORT / f).stat().st_size for f in runtime),
                                       "weights_bytes": (folder / "net.onnx").stat().st_size,
                                       "first_ms": round(out["ort_first_ms"], 1), "update_ms": round(out["ort_ms"], 3),
                                       "max_diff_from_python": float(np.abs(np.array(out["ort"]) - python).max())}}
            results.append(row)
            h, o = row["hand"], row["onnxruntime_web"]
            print(f"{chapter} {kind} {row['shape']} x {len(x)} rows: hand-written {(h['runtime_bytes'] + h['weights_bytes']) / 1e3:.0f} kB, "
                  f"first {h['first_ms']:.1f} ms, update {h['update_ms']:.3f} ms | onnxruntime-web "
                  f"{(o['runtime_bytes'] + o['weights_bytes']) / 1e3:.0f} kB, first {o['first_ms']:.0f} ms, "
                  f"update {o['update_ms']:.3f} ms | differences from Python {h['max_diff_from_python']:.1e}, "
                  f"{o['max_diff_from_python']:.1e}")
        version = browser.version
        browser.close()
    ort_version = json.loads((ORT.parent / "package.json").read_text())["version"]
    record = {"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "chromium": version, "onnxruntime_web": ort_version, "repeats": REPEATS,
              "note": "mean over repeats (one loop timed whole) of one pass of what an update feeds the network (rows); weights: the page's JSON (hand-written) "
                      "or the float32 ONNX file (onnxruntime-web); runtime: the script or ort.wasm.min.js + its wasm",
              "explorers": results}
    (RESULTS / "explorer_runtime.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {RESULTS / 'explorer_runtime.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
