"""Publishing: the placeholder check (make publish-check), the Colab links written from _config.yml
(make colab-links), the two GitHub workflows (linted with actionlint and zizmor), CITATION.cff
(validated against the CFF 1.2.0 schema) and the licences."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import publish  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent  # actionlint and zizmor come with requirements.txt
# The official CFF 1.2.0 schema (citation-file-format/citation-file-format, tag 1.2.0, schema.json;
# the same file ships in the cffconvert 2.0.0 wheel). Its hash guards against accidental edits.
CFF_SCHEMA = ROOT / "tests" / "schemas" / "citation-file-format-1.2.0.json"
CFF_SCHEMA_SHA256 = "0b8d22140da702d766df318dcff3a91af2f39521298dcf36d76315fd99cc169b"


def run_publish(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """tools/publish.py in a subprocess, with PUBLISH and GITHUB_REPOSITORY only as `env` gives
    them (the deploy workflow runs these tests with PUBLISH=1 set)."""
    base = {k: v for k, v in os.environ.items() if k not in {"PUBLISH", "GITHUB_REPOSITORY"}}
    return subprocess.run([sys.executable, str(ROOT / "tools" / "publish.py"), *args],
                          env=base | (env or {}), capture_output=True, text=True, timeout=60)


def book_copy(tmp_path: Path, url: str, chapters: int = 2) -> Path:
    """A copy of the book's _config.yml (with repository.url set to `url`) and its first chapters."""
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    text = (ROOT / "_config.yml").read_text()
    (root / "_config.yml").write_text(text.replace(f"url: {CONFIG['repository']['url']}", f"url: {url}", 1))
    assert publish.repository(root / "_config.yml")["url"] == url
    for path in sorted((ROOT / "chapters").glob("*.ipynb"))[:chapters]:
        shutil.copy(path, root / "chapters")
    return root


# --- make publish-check ---

def test_publish_check_passes_without_publish():
    result = run_publish("check")
    assert result.returncode == 0, result.stderr
    assert "PUBLISH is not set" in result.stdout


def test_publish_check_fails_on_the_placeholder_when_publish_is_set(tmp_path):
    root = book_copy(tmp_path, publish.PLACEHOLDER, chapters=0)
    assert run_publish("check", "--root", str(root)).returncode == 0
    result = run_publish("check", "--root", str(root), env={"PUBLISH": "1"})
    assert result.returncode == 1
    assert f"repository.url is the placeholder {publish.PLACEHOLDER}" in result.stderr


def test_publish_check_of_this_repository_fails_exactly_when_it_names_the_placeholder():
    result = run_publish("check", env={"PUBLISH": "1"})
    assert result.returncode == (CONFIG["repository"]["url"].rstrip("/").lower() == publish.PLACEHOLDER)


def test_publish_check_passes_a_real_url_and_catches_another_repository(tmp_path):
    root = book_copy(tmp_path, "https://github.com/someone/their-book", chapters=0)
    ok = run_publish("check", "--root", str(root), env={"PUBLISH": "1", "GITHUB_REPOSITORY": "someone/their-book"})
    assert ok.returncode == 0, ok.stderr
    assert "publishing from https://github.com/someone/their-book" in ok.stdout
    other = run_publish("check", "--root", str(root), env={"PUBLISH": "1", "GITHUB_REPOSITORY": "fork/their-book"})
    assert other.returncode == 1 and "this is https://github.com/fork/their-book" in other.stderr


# --- make colab-links ---

def test_colab_links_rewrites_setup_cell_and_badge_and_nothing_else(tmp_path):
    url = "https://github.com/someone/their-book"
    root = book_copy(tmp_path, url)
    result = run_publish("links", "--root", str(root))
    assert result.returncode == 0, result.stderr
    for path in sorted((root / "chapters").glob("*.ipynb")):
        old = nbformat.read(ROOT / "chapters" / path.name, as_version=4)
        new = nbformat.read(path, as_version=4)
        assert len(new.cells) == len(old.cells)
        setup = next(i for i, c in enumerate(new.cells) if c.cell_type == "code")
        changed = [i for i, (a, b) in enumerate(zip(old.cells, new.cells)) if a != b]
        assert changed == [0, setup]
        assert new.cells[0].source == (f"[![Open In Colab](../_static/colab-badge.svg)](https://colab.research."
                                       f"google.com/github/someone/their-book/blob/main/chapters/{path.name})")
        assert f'"aebook @ git+{url}@main"' in new.cells[setup].source
    assert run_publish("links", "--root", str(root)).stdout == "", "a second run should change nothing"


def test_colab_links_inserts_a_missing_badge_cell(tmp_path):
    root = book_copy(tmp_path, CONFIG["repository"]["url"], chapters=1)
    path = next((root / "chapters").glob("*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    del nb.cells[0]
    nbformat.write(nb, path)
    assert run_publish("links", "--root", str(root)).returncode == 0
    assert path.read_text() == (ROOT / "chapters" / path.name).read_text()


def test_this_repository_is_in_sync_with_its_config(tmp_path):
    root = book_copy(tmp_path, CONFIG["repository"]["url"], chapters=99)
    assert run_publish("links", "--root", str(root)).stdout == ""


# --- the GitHub workflows ---

def lint(tool: str, *args: str) -> subprocess.CompletedProcess:
    exe = BIN / tool
    if not exe.exists():
        pytest.fail(f"no {exe}: `make .venv/.installed` installs it (requirements.txt)", pytrace=False)
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize("workflow", ["ci.yml", "deploy.yml"])
def test_workflow_passes_actionlint(workflow):
    result = lint("actionlint", "-no-color", str(WORKFLOWS / workflow))
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_zizmor_offline():
    """zizmor's offline audits (the online ones would ask GitHub's API about each action)."""
    result = lint("zizmor", "--offline", "--no-progress", "--format", "plain", str(WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


BROKEN = """on:
  push:
    branch: main
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.head_commit.message }}"
"""


def test_the_linters_catch_a_broken_workflow(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.write_text(BROKEN)
    result = lint("actionlint", "-no-color", str(bad))
    assert result.returncode == 1 and 'unexpected key "branch"' in result.stdout
    result = lint("zizmor", "--offline", "--no-progress", "--format", "plain", str(bad.parent))
    assert result.returncode != 0
    assert all(audit in result.stdout for audit in ("unpinned-uses", "artipacked", "template-injection"))


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(f"actions/{action}@")]


def test_every_action_is_pinned_to_a_commit_with_its_version():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        uses = re.findall(r"uses: (\S+)(.*)", path.read_text())
        assert uses
        for ref, comment in uses:
            assert re.fullmatch(r"actions/[\w-]+@[0-9a-f]{40}", ref), f"{path.name}: {ref} is not pinned to a commit"
            assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{path.name}: {ref} needs a '# vX.Y.Z' comment"


def test_ci_runs_ci_run_on_every_push_and_pull_request():
    wf = workflow("ci.yml")
    assert set(wf[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    (job,) = wf["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert [s["with"]["python-version"] for s in steps_using(job, "setup-python")] == ["3.11"]
    assert any(s.get("run") == "bash .ci/run" for s in job["steps"])
    (cache,) = steps_using(job, "cache")
    assert cache["with"]["path"] == CONFIG["execute"]["cache"]
    assert "hashFiles('chapters/*.ipynb')" in cache["with"]["key"]
    (upload,) = steps_using(job, "upload-artifact")
    assert {"_build/screenshots/", "_build/benchmarks/throughput.json"} <= set(upload["with"]["path"].split())


def test_deploy_publishes_what_its_build_checked_with_publish_set():
    wf = workflow("deploy.yml")
    assert wf[True]["push"]["branches"] == [CONFIG["repository"]["branch"]] and wf["permissions"] == {}
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    assert build["env"]["PUBLISH"] == "1" and build["permissions"] == {"contents": "read"}
    runs = [s.get("run") for s in build["steps"]]
    (upload,) = steps_using(build, "upload-pages-artifact")
    assert runs.index("bash .ci/run") < build["steps"].index(upload)
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert len(steps_using(deploy, "deploy-pages")) == 1


def test_ci_run_runs_the_publish_check_and_uses_sudo_only_when_not_root():
    script = (ROOT / ".ci" / "run").read_text()
    assert 'stage "publish check' in script and "make publish-check" in script
    assert re.search(r'if \[ "\$\(id -u\)" -eq 0 \]; then "\$@"; else sudo "\$@"; fi', script)
    assert not re.search(r"^\s*(sudo )?apt-get", script, re.M), "apt-get goes through as_root"


# --- CITATION.cff and the licences ---

def load_cff(text: str) -> dict:
    """YAML as CFF tools read it: a date stays a string (the schema's `date` is a string)."""
    class Loader(yaml.SafeLoader):
        pass
    Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
                                      for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return yaml.load(text, Loader=Loader)


def cff_errors(cff: dict) -> list[str]:
    assert hashlib.sha256(CFF_SCHEMA.read_bytes()).hexdigest() == CFF_SCHEMA_SHA256
    validator = Draft7Validator(json.loads(CFF_SCHEMA.read_text()), format_checker=Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(cff)]


def test_citation_cff_is_valid_cff_1_2_0():
    assert cff_errors(load_cff((ROOT / "CITATION.cff").read_text())) == []


def test_cff_validation_can_fail():
    cff = load_cff((ROOT / "CITATION.cff").read_text())
    del cff["authors"]
    cff["date-released"] = "30 November 2026"
    errors = cff_errors(cff)
    assert any("'authors' is a required property" in e for e in errors)
    assert any(e.startswith("date-released") for e in errors)


def test_citation_agrees_with_the_book_and_the_package():
    cff = load_cff((ROOT / "CITATION.cff").read_text())
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert cff["title"] == CONFIG["title"] and cff["authors"] == [{"name": CONFIG["author"]}]
    assert cff["version"] == version and cff["license"] == ["MIT", "CC-BY-4.0"]
    year = cff["date-released"][:4]
    cite = (ROOT / "intro.md").read_text().split("## How to cite", 1)[1]
    for fact in (f"{CONFIG['author']} ({year})", f"*{cff['title']}*, version {version}",
                 f"title   = {{{cff['title']}}}", f"version = {{{version}}}", f"year    = {{{year}}}"):
        assert fact in cite, f"intro.md's How to cite lacks {fact!r}"


def test_licences_and_footer():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n\nCopyright (c) ")
    text = (ROOT / "LICENSE-TEXT").read_text()
    assert "Attribution 4.0 International" in text and "Section 1 -- Definitions." in text
    assert re.search(r'^license = "MIT"$', (ROOT / "pyproject.toml").read_text(), re.M)
    footer = CONFIG["html"]["extra_footer"]
    assert 'href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0' in footer
    assert 'href="https://opensource.org/license/mit">MIT' in footer
