"""House rules every chapter notebook must keep (../shared/CONVENTIONS.md): the Colab setup cell
installs aebook from the repository that _config.yml names, outputs are not stored, the title
carries the DLB section, and the lesson is asserted in claim-check cells."""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks in chapters/"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_setup_cell_installs_from_the_configured_repository(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    setup = source(code[0])
    url, branch = CONFIG["repository"]["url"], CONFIG["repository"]["branch"]
    assert "google.colab" in setup, "the first code cell must be the Colab setup cell"
    found = re.findall(r"git\+(\S+?)@(\w+)", setup)
    assert found == [(url, branch)], f"setup cell installs from {found}, _config.yml names {url}@{branch}"
    assert "remove-output" in code[0].get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_follows_house_rules(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert re.match(r"\d\d_[a-z0-9_]+\.ipynb$", path.name)
    assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "outputs stored"
    first = source(nb["cells"][0])
    assert re.match(r"# 14(\.\d+)* \S", first), f"H1 must carry the DLB section, got {first[:40]!r}"
    claims = [c for c in nb["cells"] if "claim-check" in c.get("metadata", {}).get("tags", [])]
    assert claims and all(re.search(r"^assert ", source(c), re.M) for c in claims), \
        "claim-check cells must assert"
    assert "{cite}" in "".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_toc_lists_every_chapter():
    toc = (ROOT / "_toc.yml").read_text()
    for path in CHAPTERS:
        assert f"chapters/{path.stem}" in toc, f"{path.name} is not in _toc.yml"
