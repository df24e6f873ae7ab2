"""The Korean FAQ (ko/faq.md) points at what settles each answer: every link to a chapter names an
English chapter, its anchor is a heading of the Korean chapter (the slug MyST makes of it, which
`myst_heading_anchors` in ko/_config.yml lets Sphinx resolve; an unresolved anchor also fails the
-W build), and every claim check it cites by key is one a chapter asserts."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
FAQ = ROOT / "ko" / "faq.md"
TEXT = FAQ.read_text(encoding="utf-8")
LINK = re.compile(r"\]\((chapters/([\w-]+)\.ipynb)(?:#([^)\s]+))?\)")
KEY = re.compile(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`")  # a claim key: lower-case words and dashes
CLAIM = re.compile(r"aebook\.claim\(\s*\"([a-z0-9-]+)\"")
# MyST's default heading slug (myst_parser.mdit_to_docutils.base.default_slugify), restated so that
# this test runs where myst-parser is not installed (make colab-unit); a test below compares them.
_SLUG_DROP = re.compile(r"[^\w\u4e00-\u9fff\- ]")


def default_slugify(title: str) -> str:
    return _SLUG_DROP.sub("", title.lower().replace(" ", "-"))


def claim_keys() -> set[str]:
    return {k for p in (ROOT / "chapters").glob("*.ipynb")
            for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code"
            for k in CLAIM.findall(c.source)}


def heading_slugs(notebook: Path) -> set[str]:
    """The anchors MyST makes of a notebook's markdown headings (levels 1 to 3)."""
    return {default_slugify(m.group(1).strip())
            for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"
            for m in re.finditer(r"^#{1,3} (.+)$", c.source, re.M)}


LINKS = LINK.findall(TEXT)


def test_the_faq_links_to_chapters_and_cites_claims():
    assert len(LINKS) >= 9 and len(KEY.findall(TEXT)) >= 20


@pytest.mark.parametrize("target, stem, anchor", LINKS, ids=[f"{s}#{a}" for _, s, a in LINKS])
def test_each_chapter_link_resolves(target: str, stem: str, anchor: str):
    assert (ROOT / "chapters" / f"{stem}.ipynb").exists(), f"no English chapter {stem}"
    korean = ROOT / "ko" / target
    if not anchor:
        return
    if not korean.exists():
        pytest.skip(f"ko/{target} is not translated yet: its anchor #{anchor} is unchecked")
    slugs = heading_slugs(korean)
    assert anchor in slugs, f"ko/faq.md links to ko/{target}#{anchor}, no heading of it: {sorted(slugs)}"


def test_every_cited_claim_is_asserted_by_a_chapter():
    missing = sorted(set(KEY.findall(TEXT)) - claim_keys())
    assert not missing, f"ko/faq.md cites claim checks no chapter asserts: {missing}"


def test_the_checks_catch_a_wrong_anchor_and_an_unknown_claim(tmp_path: Path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 14 자동부호기\n\n## 복호기는 모형의 절반이다\n"),
                nbformat.v4.new_code_cell('aebook.claim("decoder-matters", "...")')]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert heading_slugs(path) == {"14-자동부호기", "복호기는-모형의-절반이다"}
    assert CLAIM.findall(nb.cells[1].source) == ["decoder-matters"]
    assert "복호기는-모형의-절반" not in heading_slugs(path)  # a truncated anchor is caught
    assert KEY.findall("(`decoder-matter`, `x_tilde`)") == ["decoder-matter"]
    assert "decoder-matter" not in claim_keys()


def test_the_slug_is_myst_s():
    myst = pytest.importorskip("myst_parser.mdit_to_docutils.base", reason="myst-parser not installed")
    for title in ["잡음 제거는 모습을 바꾼 축약이다(DAE ≈ CAE)", "과대완전: 항등함수 쪽으로의 표류",
                  "14.5.1 The DAE estimates the score", "Why would anyone train a network to copy?"]:
        assert default_slugify(title) == myst.default_slugify(title)
