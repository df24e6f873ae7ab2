"""House rules every chapter notebook must keep (../shared/CONVENTIONS.md): the Colab setup cell
installs aebook from the repository that _config.yml names, an "Open in Colab" badge opens the
notebook from that repository, outputs are not stored, the title carries the DLB section, the
lesson is checked in claim-check cells through aebook.claim, other chapters are linked where they
are named, and code fits the page. (tools/publish.py links writes the two URLs; these tests
check them on their own.)"""
import ast
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
    assert any("claim-check" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]), \
        "a chapter checks its lesson in claim-check cells"
    assert "{cite}" in "".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_toc_lists_every_chapter():
    toc = (ROOT / "_toc.yml").read_text()
    for path in CHAPTERS:
        assert f"chapters/{path.stem}" in toc, f"{path.name} is not in _toc.yml"


def claim_calls(code: str) -> tuple[list[ast.Call], int]:
    """The calls of ``claim``/``aebook.claim`` in a cell, and its number of bare assert statements."""
    lines = [l[:len(l) - len(l.lstrip())] + "pass" if l.lstrip().startswith(("%", "!")) else l
             for l in code.splitlines()]  # IPython magics read as `pass`
    tree = ast.parse("\n".join(lines))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and (getattr(n.func, "id", None) == "claim" or getattr(n.func, "attr", None) == "claim")]
    return calls, sum(isinstance(n, ast.Assert) for n in ast.walk(tree))


# Chapters whose claim checks are not yet rewritten for aebook.claim (issue 10). Strict: a chapter
# that passes must leave this list.
NOT_CONVERTED: set[str] = set()


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.xfail(
    p.stem in NOT_CONVERTED, strict=True, reason="claim checks still bare asserts (issue 10)"))
    for p in CHAPTERS], ids=lambda p: p.name)
def test_claim_checks_go_through_the_claim_helper(path):
    """Every claim-check cell states its claims with aebook.claim, each with a control or the reason
    it has none, and keeps no bare assert; no claim call hides outside a claim-check cell."""
    for i, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code":
            continue
        calls, asserts = claim_calls(source(cell))
        if "claim-check" not in cell.get("metadata", {}).get("tags", []):
            assert not calls, f"cell {i}: a claim outside a claim-check cell"
            continue
        assert calls, f"cell {i}: a claim-check cell without aebook.claim"
        assert not asserts, f"cell {i}: a bare assert in a claim-check cell; state it with aebook.claim"
        for call in calls:
            given = {k.arg for k in call.keywords}
            assert {"figure", "op", "threshold"} <= given, f"cell {i}: claim without figure/op/threshold"
            assert len(given & {"control", "no_control"}) == 1, \
                f"cell {i}: each claim needs a control= (with control_label=) or a no_control= reason"


def test_claim_keys_are_unique_within_a_chapter():
    for path in CHAPTERS:
        keys = [call.args[0].value for c in cells(path) if c["cell_type"] == "code"
                for call in claim_calls(source(c))[0] if call.args and isinstance(call.args[0], ast.Constant)]
        assert len(keys) == len(set(keys)), f"{path.name}: repeated claim keys {keys}"


# Which chapter teaches which section of DLB chapter 14: a mention of another chapter's section
# must link to it.
SECTIONS = {"14.1": "02_undercomplete", "14.2": "03_sparse", "14.2.1": "03_sparse",
            "14.2.2": "04_denoising", "14.5": "04_denoising", "14.2.3": "05_contractive",
            "14.7": "05_contractive", "14.3": "06_depth", "14.4": "07_stochastic",
            "14.6": "08_manifolds", "14.8": "09_psd", "14.9": "10_applications"}
MENTION = re.compile(r"(?<![\w.])(14\.\d(?:\.\d)?)\b")
NOT_SECTIONS = re.compile(r"\b(?:figs?\.|figures?|eqs?\.|equations?|tables?)\s*14\.\d+(?:\s*[–-]\s*14\.\d+)?",
                          re.IGNORECASE)  # DLB's figure, equation and table numbers


def unlinked_mentions(path: Path) -> list[str]:
    """Paragraphs of the chapter's prose that name another chapter's section without linking it."""
    found = []
    for i, cell in enumerate(cells(path)):
        if cell["cell_type"] != "markdown":
            continue
        for paragraph in re.split(r"\n\s*\n", source(cell)):
            if paragraph.lstrip().startswith("#"):
                continue  # a heading names its own section
            for section in MENTION.findall(NOT_SECTIONS.sub("", paragraph)):
                target = SECTIONS.get(section) or SECTIONS.get(section.rsplit(".", 1)[0])
                if target is None or target == path.stem:
                    continue
                if not re.search(rf"(\{{doc\}}`[^`]*{target}|\]\([^)]*{target})", paragraph):
                    found.append(f"cell {i}: {section} without a link to {target}: "
                                 f"{paragraph.strip()[:80]!r}")
    return found


LINKS_TODO: set[str] = set()


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.xfail(
    p.stem in LINKS_TODO, strict=True, reason="cross-links not yet added (issue 11)"))
    for p in CHAPTERS], ids=lambda p: p.name)
def test_mentions_of_other_chapters_are_links(path):
    found = unlinked_mentions(path)
    assert not found, "\n".join(found)


def test_the_link_check_catches_an_unlinked_mention(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": "As 14.6 shows, and chapter 14.5 too.\n\n"
                     "See {doc}`08_manifolds` for 14.6, and DLB eqs. 14.3–14.7 and fig. 14.8."}]}
    path = tmp_path / "02_undercomplete.ipynb"
    path.write_text(json.dumps(nb))
    found = unlinked_mentions(path)
    assert len(found) == 2 and "08_manifolds" in found[0] and "04_denoising" in found[1]


MAX_LINE = 85  # characters of code the book's page shows without scrolling sideways
LINES_TODO: set[str] = set()


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.xfail(
    p.stem in LINES_TODO, strict=True, reason="long code lines not yet wrapped (issue 11)"))
    for p in CHAPTERS], ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    long = [f"cell {i}: {len(line)} chars: {line[:60]!r}" for i, cell in enumerate(cells(path))
            if cell["cell_type"] == "code" for line in source(cell).splitlines() if len(line) > MAX_LINE]
    assert not long, "\n".join(long)


def lines_opening_a_list_inside_math(markdown: str) -> list[str]:
    """Lines of ``markdown`` that start with a list marker (``- ``, ``+ ``, ``* ``) while an
    inline ``$...$`` is open: Markdown reads them as a new bullet list and the formula breaks."""
    bad, open_dollars = [], 0
    for line in markdown.split("\n"):
        if line.strip() == "$$":  # a display block's fence: its lines are math, not Markdown
            open_dollars = 0
            continue
        if open_dollars % 2 == 1 and re.match(r"\s*[-+*] ", line):
            bad.append(line.strip()[:60])
        open_dollars += len(re.findall(r"(?<![\\$])\$(?!\$)", line))
    return bad


def test_the_list_marker_check_catches_a_broken_formula():
    assert lines_opening_a_list_inside_math("so $a = b\n+ c$ holds") == ["+ c$ holds"]
    assert lines_opening_a_list_inside_math("so $a = b + c$ holds\n- a real item") == []
    assert lines_opening_a_list_inside_math("$$\na\n+ b\n$$") == []


@pytest.mark.parametrize("path", CHAPTERS + sorted((ROOT / "ko" / "chapters").glob("*.ipynb")),
                         ids=lambda p: "/".join(p.parts[-2:]))
def test_no_line_inside_a_formula_starts_a_list(path):
    nb = json.loads(path.read_text())
    bad = [f"cell {c.get('id')}: {line!r}" for c in nb["cells"] if c["cell_type"] == "markdown"
           for line in lines_opening_a_list_inside_math("".join(c["source"]))]
    assert not bad, "reflow these lines so they do not start with - + or *: " + "; ".join(bad)
