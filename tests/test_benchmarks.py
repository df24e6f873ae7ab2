"""benchmarks/: the figures the Reproductions page records are real variables of the chapters, the
tables render what the records hold, and the throughput benchmark runs and measures what it says."""
import ast
import json
import sys
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import records  # noqa: E402
import train_throughput  # noqa: E402


def assigned_names(chapter: str) -> list[str]:
    """Every name bound in the chapter's code cells outside function bodies, once per binding
    (IPython magics read as `pass`)."""
    nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    names = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return  # a function's locals are not the notebook's variables
        targets = (node.targets if isinstance(node, ast.Assign) else [node.target]
                   if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For)) else [])
        while targets:  # names, also inside tuples; not x[i] = or x.a =, which only change x
            t = targets.pop()
            if isinstance(t, ast.Name):
                names.append(t.id)
            elif isinstance(t, (ast.Tuple, ast.List, ast.Starred)):
                targets.extend(t.elts if not isinstance(t, ast.Starred) else [t.value])
        for child in ast.iter_child_nodes(node):
            visit(child)

    for cell in nb.cells:
        if cell.cell_type == "code":
            visit(ast.parse("\n".join(l[:len(l) - len(l.lstrip())] + "pass" if l.lstrip().startswith(("%", "!")) else l
                                      for l in cell.source.splitlines())))
    return names


@pytest.mark.parametrize("chapter", sorted(records.FIGURES))
def test_recorded_figures_are_chapter_variables_bound_once(chapter):
    """Bound exactly once, so the value read after the last cell is the one the claim check saw."""
    bound = assigned_names(chapter)
    for key, expr in records.FIGURES[chapter].items():
        used = {n.id for n in ast.walk(ast.parse(expr.lstrip("?"), mode="eval")) if isinstance(n, ast.Name)}
        for name in used:
            assert bound.count(name) == 1, f"{chapter}.{key}: {name} is bound {bound.count(name)} times"


def test_every_reproduction_names_recorded_figures():
    keys = {f"{c}.{k}" for c, figures in records.FIGURES.items() for k in figures}
    for paper, _, _, template, chapter in records.REPRODUCTIONS:
        used = {f"{c}.{k}" for c, k in __import__("re").findall(r"\{(\w+)\.(\w+)", template)}
        assert used and used <= keys, f"{paper}: {used - keys}"
        assert all(u.startswith(chapter) for u in used)
        assert (ROOT / "chapters" / f"{chapter}.ipynb").exists()


def fake_record():
    return {"measured": "2026-11-26T10:00:00+00:00", "scale": "default",
            "machine": {"cpu": "Test CPU", "cpu_cores": 2, "gpu": None, "torch": "2.13.0", "torch_threads": 2},
            "chapters": {"06_depth": {"seconds": 12.3, "ok": True,
                                      "figures": {"pca30": 13.866, "deep_ae_best": 7.5, "paper_network": None}},
                         "09_psd": {"seconds": None, "ok": False, "figures": {}}}}


def test_fill_formats_figures_and_marks_what_is_missing():
    r = fake_record()
    assert records.fill("{06_depth.pca30:.2f}", r) == "13.87"
    assert records.fill("{06_depth.deep_ae_best:.2f}; paper's {06_depth.paper_network:.2f}", r) == "7.50; paper's –"
    assert records.fill("{09_psd.speedup_converged:.0f}x", r) == "–x"
    assert records.fill("{06_depth.pca30:.2f}", None) == "not run"


def test_tables_read_the_records(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "RESULTS", tmp_path)
    (tmp_path / "default.json").write_text(json.dumps(fake_record()))
    times = records.times_table()
    assert "| 06_depth | 12 |" in times and "| 09_psd | failed |" in times
    assert "2026-11-26, Test CPU, 2 cores, 2 torch threads" in times and "**full**: not run yet" in times
    table = records.reproductions_table()
    assert "| 13.87 | not run |" in table  # the PCA row: default measured, full not run
    assert "run_chapters.py --scale full" in table
    assert "No full run" in records.hinton_table()
    assert "Not measured yet" in records.throughput_table()
    loops = {k: {"s_per_epoch": 2.0, "samples_per_s": 30000} for k in ("dataloader", "fit", "bare_128", "bare_1024")}
    (tmp_path / "throughput.json").write_text(json.dumps({
        **fake_record(), "setting": {"samples": 60000, "model": "784-512"}, "results": {"cpu": loops},
        "goals": {"cpu": {"fit no slower than the DataLoader loop": False}}}))
    table = records.throughput_table()
    assert "| cpu | `aebook.fit` at its defaults (batch 128) | 2.00 | 30,000 |" in table
    assert "fit no slower than the DataLoader loop: **missed**" in table


def test_throughput_loops_train_and_time_each_epoch():
    """A small run of every loop: each lowers the loss of its model and reports positive times."""
    x = torch.rand(512, 784)
    for name, run in train_throughput.LOOPS.items():
        torch.manual_seed(0)
        model = train_throughput.aebook.mlp_autoencoder(784, [64], 16)
        before = train_throughput.aebook.evaluate(model, x)
        times = run(model, x, torch.device("cpu"), 2)
        assert len(times) == 2 and all(t > 0 for t in times), name
        assert train_throughput.aebook.evaluate(model, x) < before, name


def test_hinton_script_trains_each_recipe_and_records_it(tmp_path):
    """The GPU script's smoke run (--quick: 2,000 images, 1 epoch) on two recipes."""
    import subprocess
    out = tmp_path / "hinton.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "hinton2006.py"), "--quick", "--recipes", "plain",
                    "masking-0.1", "--out", str(out)], check=True, capture_output=True, timeout=300)
    record = json.loads(out.read_text())
    assert [r["recipe"] for r in record["runs"]] == ["plain", "masking-0.1"] and record["quick"]
    for run in record["runs"]:
        assert 0 < run["test_error"] < 100 and run["train_seconds"] > 0 and run["curve"][-1] == [1, run["test_error"]]
    assert record["runs"][1]["settings"]["masking"] == 0.1
    # --append adds runs to the record, replacing those of the same recipe and epochs
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "hinton2006.py"), "--quick", "--recipes", "plain",
                    "--out", str(out), "--append"], check=True, capture_output=True, timeout=300)
    assert [r["recipe"] for r in json.loads(out.read_text())["runs"]] == ["masking-0.1", "plain"]
