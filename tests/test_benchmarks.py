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
    """The script's smoke run (--quick: 2,000 images, 1 epoch) on two recipes, then --append."""
    import subprocess
    out = tmp_path / "hinton.json"
    script = [sys.executable, str(ROOT / "benchmarks" / "hinton2006.py"), "--quick", "--threads", "1", "--out", str(out)]
    subprocess.run(script + ["--recipes", "plain", "masking-0.1", "--evals", "2"], check=True, capture_output=True,
                   timeout=300)
    record = json.loads(out.read_text())
    assert [r["recipe"] for r in record["runs"]] == ["plain", "masking-0.1"] and record["quick"]
    for run in record["runs"]:
        assert 0 < run["test_error"] < 100 and run["train_seconds"] > 0 and run["curve"][-1][1] == run["test_error"]
        assert run["split"] == "test" and run["torch_threads"] == 1 and len(run["load_start"]) == 3
    assert record["runs"][1]["settings"]["masking"] == 0.1
    # --append adds runs to the record, replacing those of the same recipe, split, seed and length
    subprocess.run(script + ["--recipes", "plain", "--append"], check=True, capture_output=True, timeout=300)
    assert [r["recipe"] for r in json.loads(out.read_text())["runs"]] == ["masking-0.1", "plain"]


def test_gpu_records_smoke_runs_throughput_and_hinton_on_the_cpu(tmp_path):
    """benchmarks/gpu_records.sh --smoke: the GPU command's steps, tiny, on the CPU. The hinton part
    compares two recipes on the validation split and runs the better one on the test split."""
    import os
    import subprocess
    env = {**os.environ, "RESULTS": str(tmp_path), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_records.sh"), "--smoke", "throughput", "hinton"],
                   check=True, capture_output=True, timeout=600, env=env)
    hinton = json.loads((tmp_path / "hinton2006.json").read_text())
    scores = {r["recipe"]: r["val_error"] for r in hinton["ideas"][-2:]}
    tests = hinton["runs"][-2:]
    assert {r["split"] for r in tests} == {"test"} and [r["seed"] for r in tests] == [0, 1]
    assert tests[0]["recipe"] == min(scores, key=scores.get) and tests[0]["chosen_by"]["validation_errors"] == scores
    assert all(r["budget_s"] == 3 and r["train_seconds"] < 3 + 2 for r in tests), "the budget bounds the training"
    throughput = json.loads((tmp_path / "throughput.json").read_text())
    assert set(throughput["batch_sweep"]["cpu"]) == {"128", "512"}
    assert "cpu" in throughput["results"] and "cpu" in throughput["machines"]


def test_hinton_recipe_schedule_batch_and_model():
    import hinton_recipe as hr
    s = hr.settings(schedule="warmup-cosine", warmup=0.1, lr=1.0)
    assert hr.lr_factor(s, 0.0) == 0 and hr.lr_factor(s, 0.05) == pytest.approx(0.5)
    assert hr.lr_factor(s, 0.1) == pytest.approx(1) and hr.lr_factor(s, 0.55) == pytest.approx(0.5)
    assert hr.lr_factor(s, 1.0) == pytest.approx(0, abs=1e-12)
    assert hr.lr_factor(hr.settings(), 0.5) == pytest.approx(0.5)  # plain cosine
    grow = hr.settings(batch_size=256, batch_growth=4)
    assert [hr.batch_at(grow, p) for p in (0, 0.49, 0.5, 0.74, 0.75, 1.0)] == [256, 256, 512, 512, 1024, 1024]
    assert hr.batch_at(hr.settings(batch_size=300), 0.9) == 300
    with pytest.raises(ValueError, match="unknown settings"):
        hr.settings(learning_rate=1)
    model = hr.build(hr.settings(norm="batch"))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [l.out_features for l in linears] == [1000, 500, 250, 30, 250, 500, 1000, 784]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules()) == 6  # hidden layers only
    assert isinstance(model.encoder[-1], torch.nn.Linear) and isinstance(model.decoder[-1], torch.nn.Linear)


def test_hinton_train_budget_stops_on_time_and_on_images():
    """The clock bounds a budgeted run (evaluations excluded); max_images bounds an image-counted one."""
    import hinton_recipe as hr
    torch.manual_seed(0)
    x = torch.rand(512, 784).round()
    s = hr.settings(norm="batch", batch_size=64, lr=3e-3)
    _, info = hr.train_budget(s, x, 1.0, evaluate=lambda m: hr.squared_error(m, x), evals=3)
    assert 1.0 <= info["seconds"] < 1.5 and info["eval_seconds"] > 0 and len(info["curve"]) >= 2
    model, info = hr.train_budget(s, x, float("inf"), max_images=4 * 512)
    assert info["images"] == 4 * 512 and info["epochs"] == 4 and not model.training


def fake_hinton_record():
    run = {"recipe": "fast", "device": "cpu", "budget_s": 180, "seed": 0, "train_seconds": 180.0, "epochs": 49.0,
           "images": 49 * 60_000,
           "test_error": 2.95, "load_start": [0.1, 0.2, 0.3], "load_end": [1.9, 1.0, 0.5], "split": "test"}
    idea = {"recipe": "bn", "changes": "batch norm", "device": "cpu", "images": 600_000, "epochs": 12.0,
            "train_seconds": 400.0, "val_error": 3.5, "curve": [[200.0, 4.0, 5.0], [400.0, 3.5, 10.0]]}
    return {"speed": {"bn@cpu": {"s_per_epoch": 7.0}}, "ideas": [idea, {**idea, "recipe": "bn-bf16", "val_error": 3.2}],
            "runs": [run, {**run, "seed": 1, "test_error": 3.01}]}


def test_hinton_plot_and_tables_read_the_record():
    import matplotlib
    matplotlib.use("agg")
    import hinton_plot
    record = fake_hinton_record()
    table = hinton_plot.ideas_table(record)
    assert "| bn | batch norm | 7.00 | 10.0 | 70 | 3.50 |  |" in table  # seconds = epochs x s per epoch
    assert "| bn-bf16 | batch norm | – | 10.0 | – | 3.20 | -0.30 |" in table  # no speed recorded
    assert "| fast | cpu | 180 | 1 | 180.0 | 49.0 | 3.010 | 0.10 → 1.90 |" in hinton_plot.runs_table(record)
    ax = hinton_plot.plot_error_vs_seconds(record)
    xs = [list(line.get_xdata()) for line in ax.get_lines()]
    assert [35.0, 70.0] in xs and [200.0, 400.0] in xs and [180.0, 180.0] in xs
    xs = [list(line.get_xdata()) for line in hinton_plot.plot_error_vs_seconds(record, x="epochs").get_lines()]
    assert [5.0, 10.0] in xs and [49.0, 49.0] in xs
    assert "No comparison" in hinton_plot.ideas_table({})
