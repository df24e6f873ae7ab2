"""House rules every chapter notebook must keep (../shared/CONVENTIONS.md): the Colab setup cell
installs aebook from the repository that _config.yml names, an "Open in Colab" badge opens the
notebook from that repository, outputs are not stored, the title carries the DLB section, and the
lesson is asserted in claim-check cells. (tools/publish.py links writes the two URLs; these tests
check them on their own.)"""
import json
import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

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
    found = re.findall(r"git\+(\S+?)@([^\s\"']+)", setup)
    assert found == [(url, branch)], f"setup cell installs from {found}, _config.yml names {url}@{branch}"
    assert "remove-output" in code[0].get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_badge_cell_opens_the_notebook_in_colab_from_the_configured_repository(path):
    """The first cell is the badge: the book's own image (served from _static, so the offline
    browser check loads it), linked to this notebook in the repository and branch of _config.yml."""
    badge = cells(path)[0]
    repo, colab = CONFIG["repository"], CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    notebook = posixpath.join(repo.get("path_to_book") or "", path.relative_to(ROOT).as_posix())
    url = f"{colab}/github/{urlsplit(repo['url']).path.strip('/')}/blob/{repo['branch']}/{notebook}"
    assert badge["cell_type"] == "markdown" and badge.get("id") == "colab-badge"
    found = re.fullmatch(r"\[!\[Open In Colab\]\((\S+)\)\]\((\S+)\)", source(badge).strip())
    assert found, f"the first cell should be the Colab badge alone, got {source(badge)[:60]!r}"
    image, link = found.groups()
    assert link == url, f"the badge opens {link}, _config.yml gives {url}"
    assert (path.parent / image).resolve() == ROOT / "_static" / "colab-badge.svg"
    assert (ROOT / "_static" / "colab-badge.svg").is_file()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_follows_house_rules(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert re.match(r"\d\d_[a-z0-9_]+\.ipynb$", path.name)
    assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "outputs stored"
    title = source(nb["cells"][1])  # after the Colab badge
    assert re.match(r"# 14(\.\d+)* \S", title), f"H1 must carry the DLB section, got {title[:40]!r}"
    claims = [c for c in nb["cells"] if "claim-check" in c.get("metadata", {}).get("tags", [])]
    assert claims and all(re.search(r"^assert ", source(c), re.M) for c in claims), \
        "claim-check cells must assert"
    assert "{cite}" in "".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_toc_lists_every_chapter():
    toc = (ROOT / "_toc.yml").read_text()
    for path in CHAPTERS:
        assert f"chapters/{path.stem}" in toc, f"{path.name} is not in _toc.yml"
