"""The Korean edition's generator (tools/edition.py): translations keyed by cell id and the
English text's hash, code cells byte-identical, and a failure that names each stale cell."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import edition  # noqa: E402


def test_the_korean_notebooks_are_up_to_date():
    """Every translated chapter: each English markdown cell translated, no stale hash, and the
    committed ko/chapters notebook is what the generator writes."""
    assert edition.check() == []


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A one-chapter book: an English notebook, its translation, and the generated notebook."""
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "chapters").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("[![Open In Colab](x.svg)](y)", id="colab-badge"),
                nbformat.v4.new_markdown_cell("# 14 Title\n\nOne sentence. Another.", id="cell-00"),
                nbformat.v4.new_code_cell("x = 1  # a comment stays English", id="cell-01"),
                nbformat.v4.new_markdown_cell("Closing words.", id="cell-02")]
    nbformat.write(nb, tmp_path / "chapters" / "01_test.ipynb")
    translation = tmp_path / "ko" / "translations" / "01_test.md"
    translation.parent.mkdir(parents=True)
    translation.write_text(edition.skeleton(tmp_path / "chapters" / "01_test.ipynb")
                           .replace("One sentence. Another.", "한 문장. 또 한 문장.")
                           .replace("Closing words.", "맺음말."), encoding="utf-8")
    edition.build(tmp_path)
    return tmp_path


def test_generated_notebook_keeps_code_and_translates_prose(book: Path):
    en = nbformat.read(book / "chapters" / "01_test.ipynb", as_version=4)
    ko = nbformat.read(book / "ko" / "chapters" / "01_test.ipynb", as_version=4)
    assert [c.id for c in ko.cells] == [c.id for c in en.cells]
    assert ko.cells[2].source == en.cells[2].source  # code byte-identical: one execution serves both
    assert ko.cells[1].source == "# 14 Title\n\n한 문장. 또 한 문장." and ko.cells[3].source == "맺음말."
    assert "blob/main/ko/chapters/01_test.ipynb" in ko.cells[0].source  # the badge opens the Korean one
    assert edition.check(book) == []


def test_one_changed_english_sentence_fails_and_names_the_cell(book: Path):
    path = book / "chapters" / "01_test.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("Another.", "Another one.")
    nbformat.write(nb, path)
    bad = edition.check(book)
    assert len(bad) == 1 and "cell cell-00 changed in English" in bad[0], bad


def test_missing_and_unknown_translations_and_hand_edits_fail(book: Path):
    translation = book / "ko" / "translations" / "01_test.md"
    text = translation.read_text(encoding="utf-8")
    translation.write_text(text.replace("cell: cell-02", "cell: cell-99"), encoding="utf-8")
    bad = edition.check(book)
    assert any("cell cell-02 has no translation" in b for b in bad)
    assert any("cell cell-99 is translated but not a markdown cell" in b for b in bad)
    translation.write_text(text, encoding="utf-8")
    generated = book / "ko" / "chapters" / "01_test.ipynb"
    generated.write_text(generated.read_text(encoding="utf-8").replace("맺음말", "고친 말"), encoding="utf-8")
    assert edition.check(book) == ["ko/chapters/01_test.ipynb is not what `python tools/edition.py build` writes"]


def test_parse_rejects_text_outside_an_entry_and_repeated_cells():
    with pytest.raises(ValueError, match="before the first"):
        edition.parse("stray\n<!-- cell: a en: 000000000000 -->\nx")
    with pytest.raises(ValueError, match="twice"):
        edition.parse("<!-- cell: a en: 000000000000 -->\nx\n<!-- cell: a en: 000000000000 -->\ny")


def test_the_korean_toc_lists_the_korean_pages_that_exist(book: Path):
    """ko/_toc.yml: the English toc's parts, with a chapter once its translation exists, the
    glossary and FAQ once their pages exist; check fails when it is out of date."""
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n"
        "  - caption: Chapter 14 of Deep Learning\n    chapters:\n"
        "      - file: chapters/01_test\n      - file: chapters/02_untranslated\n"
        "  - caption: Back matter\n    chapters:\n      - file: notation\n      - file: claims\n")
    (book / "ko" / "intro.md").write_text("# 머리말\n", encoding="utf-8")
    (book / "ko" / "notation.md").write_text("# 표기법\n", encoding="utf-8")
    assert edition.check(book) == ["ko/_toc.yml is not what `python tools/edition.py build` "
                                   "writes (the Korean pages that exist)"]
    edition.build(book)
    toc = yaml.safe_load((book / "ko" / "_toc.yml").read_text(encoding="utf-8"))
    assert toc["root"] == "intro"
    assert [[c["file"] for c in p["chapters"]] for p in toc["parts"]] == [
        ["chapters/01_test"], ["notation"]]
    assert edition.check(book) == []
    (book / "ko" / "glossary.md").write_text("# 용어집\n", encoding="utf-8")
    assert len(edition.check(book)) == 1
    edition.build(book)
    toc = yaml.safe_load((book / "ko" / "_toc.yml").read_text(encoding="utf-8"))
    assert [c["file"] for c in toc["parts"][1]["chapters"]] == ["glossary", "notation"]


def test_the_korean_config_names_the_english_repository(book: Path):
    shutil.copy(ROOT / "ko" / "_config.yml", book / "ko" / "_config.yml")
    assert edition.config_problems(book) == []
    config = book / "ko" / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("branch: main", "branch: dev"),
                      encoding="utf-8")
    assert edition.config_problems(book) == [
        "ko/_config.yml: repository.branch is 'dev', not 'main' (as _config.yml)"]
