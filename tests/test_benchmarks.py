"""benchmarks/: run_chapters records what the chapters claimed, the tables render what the records
hold, and the throughput and Hinton benchmarks run and measure what they say."""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import records  # noqa: E402
import train_throughput  # noqa: E402


def test_every_reproduction_names_a_chapter_that_exists():
    for r in records.REPRODUCTIONS:
        assert r.kind in records.KINDS, r
        used = re.findall(r"\{(\w+)\.([\w-]+)", r.ours)
        assert used and all(c == r.chapter for c, _ in used), r
        assert (ROOT / "chapters" / f"{r.chapter}.ipynb").exists()
        assert (r.kind == "analogous") == bool(r.differs), f"{r.paper}: say what differs, only for analogous rows"


def claim(key, figure, op=">", threshold=1.0, control=0.5, passed=True, seed=0):
    return {"key": key, "statement": f"Claim {key}.", "figure": figure, "op": op, "threshold": threshold,
            "control": control, "control_label": "the baseline", "no_control": None, "scale": "default",
            "seed": seed, "passed": passed, "control_passed": False}


def fake_record(scale="default"):
    def run(seed, pca, robust, ok=True):
        return {"seed": seed, "seconds": 12.0 + seed, "ok": ok, "error": None if ok else "AssertionError",
                "claims": [claim("robust", robust, seed=seed), claim("close", 1.1 + 0.1 * seed, seed=seed)],
                "measures": {"pca30": pca}}
    return {"measured": "2026-11-26T10:00:00+00:00", "scale": scale,
            "machine": {"cpu": "Test CPU", "cpu_cores": 2, "gpu": None, "torch": "2.13.0", "torch_threads": 2},
            "chapters": {"06_depth": {"title": "14.3 Depth", "runs": [run(0, 13.86, 5.0), run(1, 13.88, 5.1),
                                                                     run(2, 13.87, 5.2)]},
                         "09_psd": {"title": "14.8 PSD", "runs": [{"seed": 0, "seconds": None, "ok": False,
                                                                  "error": "AssertionError", "claims": [
                                                                      claim("fast", 0.5, passed=False)],
                                                                  "measures": {}}]}}}


def test_fill_averages_over_seeds_and_marks_what_is_missing():
    r = fake_record()
    assert records.fill("{06_depth.pca30:.2f}", r) == "13.87 ± 0.01"
    assert records.fill("{06_depth.robust:.1f}", r) == "5.1 ± 0.1"  # a claim's figure
    assert records.fill("{09_psd.speedup-converged:.0f}x", r) == "–x"
    assert records.fill("{06_depth.pca30:.2f}", None) == "not run"


def test_margin_and_verdict():
    assert records.margin([5.0, 5.1, 5.2], ">", 1.0) == pytest.approx(41.0)
    assert records.margin([0.2, 0.2], "<", 0.5) == float("inf")
    assert records.margin([0.2], "<", 0.5) is None
    assert records.margin([0.0, 0.0, 0.0], "<=", 0.0) == float("inf")  # a count that is always 0
    assert records.margin([0.0, 0.0, 0.0], "<", 0.0) == float("-inf")  # strict: fails
    rows = {(r["chapter"], r["claim"]["key"]): r for r in records.claims_rows({"default": fake_record()})}
    assert records.verdict(rows["06_depth", "robust"]) == "robust"
    assert records.verdict(rows["06_depth", "close"]) == "close"  # mean 1.2, sd 0.1: 2 sd above 1.0
    assert records.verdict(rows["09_psd", "fast"]) == "fails"


def test_tables_read_the_records(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "RESULTS", tmp_path)
    (tmp_path / "default.json").write_text(json.dumps(fake_record()))
    times = records.times_table()
    assert "| 06_depth | 13 |" in times and "| 09_psd | failed |" in times
    assert "2026-11-26, Test CPU, 2 cores, 2 torch threads" in times and "**full**: not run yet" in times
    table = records.reproductions_tables()
    assert "| 13.87 ± 0.01 | not run |" in table  # the PCA row: default measured, full not run
    assert "### Reproduced" in table and "### Analogous" in table and "run_chapters.py --scale full" in table
    assert "Not reproduced yet" in table  # no Hinton record: the 3.00 row is open
    claims = records.claims_table()
    assert "3 claims: 1 robust, 1 close, 1 fails." in claims
    assert "| [14.3](chapters/06_depth.ipynb) | Claim robust. | > 1 | – | 5.1 ± 0.1 | – | 0.5 ± 0, the baseline |" in claims
    assert "No full run" in records.hinton_table()
    assert "Not measured yet" in records.throughput_table()
    loops = {k: {"s_per_epoch": 2.0, "samples_per_s": 30000} for k in ("dataloader", "fit", "bare_128", "bare_1024")}
    (tmp_path / "throughput.json").write_text(json.dumps({
        **fake_record(), "setting": {"samples": 60000, "model": "784-512"}, "results": {"cpu": loops},
        "goals": {"cpu": {"fit no slower than the DataLoader loop": False}}}))
    table = records.throughput_table()
    assert "| cpu | `aebook.fit` at its defaults (batch 128) | 2.00 | 30,000 |" in table
    assert "fit no slower than the DataLoader loop: **missed**" in table


def test_run_chapters_records_what_the_chapter_claimed(tmp_path):
    """A two-cell notebook run by run_chapters at two seeds: its claims and measures land in the record."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 14.0 A test chapter"), nbformat.v4.new_code_cell(
        "import aebook\nseed = aebook.set_seed()\n"
        "aebook.measure('twice-seed', 2.0 * seed, 'twice the seed')\n"
        "aebook.claim('seed-small', 'The seed is below 5.', figure=seed, op='<', threshold=5, "
        "control=9, control_label='nine')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "00_test.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "quick.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_chapters.py"), "--scale", "quick",
                    "--seeds", "1", "3", "--threads", "1", "--out", str(out), str(path)],
                   check=True, capture_output=True, timeout=300)
    record = json.loads(out.read_text())
    entry = record["chapters"]["00_test"]
    assert entry["title"] == "14.0 A test chapter"
    assert [r["seed"] for r in entry["runs"]] == [1, 3] and all(r["ok"] for r in entry["runs"])
    assert [r["measures"]["twice-seed"] for r in entry["runs"]] == [2.0, 6.0]
    assert [(c["figure"], c["seed"], c["scale"]) for r in entry["runs"] for c in r["claims"]] == \
        [(1.0, 1, "quick"), (3.0, 3, "quick")]


def test_claims_and_measures_are_glued_for_the_prose(tmp_path):
    """In a kernel, aebook.claim and aebook.measure leave the outputs myst-nb's glue reads."""
    from nbclient import NotebookClient
    # The book's builder reads the glue; Colab has no myst-nb and needs none (claims.glue).
    glue = pytest.importorskip("myst_nb.ext.glue", reason="myst-nb builds the book; Colab lacks it")
    extract_glue_data_cell = glue.extract_glue_data_cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import aebook\naebook.measure('pca30', 13.87, 'PCA-30')\n"
        "aebook.claim('ratio', 'A ratio.', figure=0.25, op='<', threshold=0.5, control=0.75, control_label='c')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    glued = {key: output["data"]["text/plain"] for key, output in extract_glue_data_cell(nb.cells[0])}
    assert glued == {"pca30": "13.87", "ratio": "0.25", "ratio-control": "0.75"}


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


def test_hinton_choice_compares_candidates_of_the_same_plan_on_the_validation_split():
    import hinton2006
    runs = [("bn", 180, 3.4), ("bn-bf16-512-lr20", 180, 2.8), ("fast-1024", 180, 3.0), ("fast-ema", 180, 2.9),
            ("fast-1024", 600, 2.4), ("bn-bf16-512-lr20", 600, 2.5),
            ("bn-bf16-512", None, 1.0), ("masking-0.1", 180, 1.0)]  # no plan; not a candidate
    record = {"ideas": [{"recipe": r, "plan_s": p, "val_error": e, "device": "cpu"} for r, p, e in runs]}
    chosen = hinton2006.chosen(record)
    assert chosen["fast"]["best"] == "bn-bf16-512-lr20" and chosen["fast"]["same_settings_as_best"]
    assert set(chosen["fast"]["validation_errors"]) == {"bn", "bn-bf16-512-lr20", "fast-1024", "fast-ema"}
    assert chosen["long"]["best"] == "fast-1024" and set(chosen["long"]["validation_errors"]) == {
        "fast-1024", "bn-bf16-512-lr20"}
    assert hinton2006.chosen({"ideas": [{**r, "plan_s": None} for r in record["ideas"]]}) == {}


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
    assert all(r["budget_s"] == 1 and r["train_seconds"] < 1 + 2 for r in tests), "the budget bounds the training"
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


def test_hinton_weight_average_gets_batch_norm_statistics_of_its_own():
    """EMA with batch norm: the averaged weights' running statistics are recomputed on training
    images; the live model's (control) belong to other weights and do not fit them."""
    import hinton_recipe as hr
    torch.manual_seed(0)
    x = torch.rand(600, 784)
    model = hr.build(hr.settings(norm="batch"))
    with torch.no_grad():  # statistics for the live weights, as training leaves them
        model.train()
        model(x)
    params = list(model.parameters())
    ema = [2 * p.detach() for p in params]  # an average at twice the scale
    avg = hr._averaged(model, params, ema, x, bn_images=600, batch_size=200)
    assert not avg.training and avg is not model
    with torch.no_grad():
        pre = avg.encoder[0](x)  # what the first batch norm sees
    assert torch.allclose(avg.encoder[1].running_mean, pre.mean(0), atol=1e-4)
    assert torch.allclose(avg.encoder[1].running_var, pre.var(0), rtol=0.05)
    assert not torch.allclose(model.encoder[1].running_mean, pre.mean(0), atol=1e-2)
    model.eval()
    assert hr._averaged(model, params, None, x) is model


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
    assert "No comparison" in hinton_plot.ideas_table({}) and "training error" not in table
    # runs that measured their error on training images get a column for it ("–" where one did not)
    seen = {**record, "ideas": [{**record["ideas"][0], "train_error": 2.1}, record["ideas"][1]]}
    table = hinton_plot.ideas_table(seen)
    assert "| vs bn | training error |" in table and "| 3.50 |  | 2.10 |" in table and "| -0.30 | – |" in table
    # once recipes are compared by a plan (the same seconds each), the runs without one are history
    planned = [{**idea, "plan_s": 180, "val_error": e, "recipe": name}
               for idea in record["ideas"][:1] for name, e in (("bn", 3.4), ("bn-bf16", 3.0))]
    record["ideas"] += planned
    table = hinton_plot.ideas_table(record)
    assert "| bn-bf16 | batch norm | – | 10.0 | – | 3.00 | -0.40 |" in table and "3.20" not in table
    assert "3.20" in hinton_plot.ideas_table(record, every=True)  # both kinds, each against its own baseline
    ax = hinton_plot.plot_error_vs_seconds(record)
    assert sum("(val, 180 s)" in line.get_label() for line in ax.get_lines()) == 2


def test_machine_records_the_instruction_set_and_native_bfloat16():
    """One model name ("AMD EPYC") has covered a CPU with bfloat16 instructions and one without, where the
    Hinton recipes ran 15-20x slower: a record says which it was."""
    import torch
    from records import machine
    m = machine()
    assert m["cpu_isa"] == torch.backends.cpu.get_cpu_capability()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        flags = next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split()
        assert m["cpu_bf16"] == ("avx512_bf16" in flags or "amx_bf16" in flags)
    from records import describe
    record = {"measured": "2026-12-01T00:00:00", "machine": {**m, "cpu": "EPYC", "cpu_cores": 2, "gpu": None,
                                                             "cpu_isa": "AVX512", "cpu_bf16": True}}
    assert describe(record).startswith("2026-12-01, EPYC (AVX512, bfloat16), 2 cores")


def test_hinton_goals_say_met_missed_or_not_run_with_the_validation_evidence():
    import hinton_plot
    run = {"split": "test", "device": "cpu", "recipe": "fast", "budget_s": 180.0, "train_seconds": 180.0,
           "load_start": [0.2], "torch_threads": 2}
    record = {"runs": [{**run, "seed": s, "test_error": e} for s, e in enumerate((2.6, 2.7, 2.8))],
              "chosen": {"fast": {"validation_errors": {"a": 2.8, "b": 3.0}, "best": "a"},
                         "long": {"validation_errors": {"a": 2.9}, "best": "a"}}}
    text = hinton_plot.goals(record)
    assert "- **3.00 or less within 180 s**: met by fast (float32, CPU), test error per seed 2.600, 2.700, 2.800." in text
    assert "within 600 s**: no timed test-set run yet." in text
    assert "trained for 600 s (a, 2.90) did not lower the error of the 180-s choice in 180 s (2.80)" in text
    assert "so far is 2.700 (mean over seeds), 0.20 above the goal." in text
    record["runs"][2]["test_error"] = 3.1  # one seed over: missed
    record["runs"] += [{**run, "budget_s": 600.0, "seed": s, "test_error": 2.4} for s in range(3)]
    text = hinton_plot.goals(record)
    assert "180 s**: not met by fast" in text and "- **2.50 or less within 600 s**: met by fast" in text
    # another record of the network (float32, on a CPU without bfloat16): any record's runs may meet a goal
    record["runs"] = record["runs"][:3]
    other = {"machine": {"cpu": "AMD EPYC", "cpu_isa": "AVX2"},
             "runs": [{**run, "recipe": "long-fp32", "budget_s": 600.0, "seed": s, "test_error": e,
                       "settings": {"bf16": False}} for s, e in enumerate((2.45, 2.5, 2.47))]}
    text = hinton_plot.goals(record, other)
    assert "600 s**: met by long-fp32 (float32, AMD EPYC AVX2), test error per seed 2.450, 2.500, 2.470." in text
    other["runs"][1]["test_error"] = 2.6
    assert "600 s**: not met by long-fp32" in hinton_plot.goals(record, other)
    assert "no timed test-set run yet" in hinton_plot.goals(record) == hinton_plot.goals(record, None)
