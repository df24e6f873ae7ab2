"""The Korean edition's terms (tools/glossary.py): ko/glossary.yml is well-formed, ko/glossary.md
shows all of it, and no translation or Korean page uses a form the glossary lists under `avoid`;
a planted form is caught, with its file, line and term."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import glossary  # noqa: E402

ENTRIES = glossary.load()


def test_the_glossary_is_well_formed():
    assert glossary.problems(ENTRIES) == []


@pytest.mark.parametrize("entries, expected", [
    ([{"en": "noise", "ko": "잡음"}, {"en": "Noise", "ko": "노이즈"}],
     "entry 2 ('Noise'): English term also in entry 1"),
    ([{"en": "noise"}], "entry 1 ('noise'): no 'ko' term"),
    ([{"ko": "잡음"}], "entry 1 (None): no 'en' term"),
    ([{"en": "noise", "ko": "잡음", "avoid": "노이즈"}],
     "entry 1 ('noise'): 'avoid' is not a list of non-empty strings: '노이즈'"),
    ([{"en": "noise", "ko": "잡음", "kr": "잡음"}], "entry 1 ('noise'): unknown key 'kr'"),
    ([{"en": "noise", "ko": "노이즈", "avoid": ["노이즈"]}],
     "'noise': its term '노이즈' contains '노이즈', a form that 'noise' avoids"),
    ({"en": "noise"}, "the glossary is a dict, not a list of entries"),
])
def test_a_malformed_glossary_is_caught(entries, expected):
    assert any(p.startswith(expected) for p in glossary.problems(entries)), glossary.problems(entries)


def test_no_korean_page_uses_an_avoided_form():
    """Every ko/translations/*.md and every ko/*.md but the glossary itself."""
    assert glossary.term_problems() == []


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A Korean edition with one translation file and one page, both clean."""
    (tmp_path / "ko" / "translations").mkdir(parents=True)
    shutil.copy(glossary.YAML, tmp_path / "ko" / "glossary.yml")
    (tmp_path / "ko" / "translations" / "01_test.md").write_text(
        "<!-- cell: cell-00 en: 0123456789ab -->\n# 14 자동부호기\n\n자동부호기는 잡음을 걸러 낸다.\n",
        encoding="utf-8")
    (tmp_path / "ko" / "faq.md").write_text("# 자주 묻는 질문\n\n부호기와 복호기.\n", encoding="utf-8")
    (tmp_path / "ko" / "glossary.md").write_text("오토인코더, 노이즈: the glossary may name them\n",
                                                encoding="utf-8")
    return tmp_path


def test_a_planted_avoided_form_is_caught_with_its_file_line_and_term(book: Path):
    assert glossary.term_problems(book) == []
    page = book / "ko" / "translations" / "01_test.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n디코더가 노이즈를 지운다.\n", encoding="utf-8")
    assert glossary.term_problems(book) == [
        "ko/translations/01_test.md:6: '디코더' (use '복호기' for 'decoder')",
        "ko/translations/01_test.md:6: '노이즈' (use '잡음' for 'noise')"]
    faq = book / "ko" / "faq.md"
    faq.write_text("# 자주 묻는 질문\n\n매니폴드\n", encoding="utf-8")
    assert glossary.term_problems(book)[-1] == "ko/faq.md:3: '매니폴드' (use '다양체' for 'manifold')"


def test_code_maths_and_comments_are_not_prose_but_admonitions_are():
    text = "\n".join([
        "<!-- cell: 노이즈 en: 000000000000 -->",  # 1: a marker
        "`노이즈` and $\\text{노이즈}$",  # 2: inline code, inline maths
        "$$", "\\text{노이즈}", "$$",  # 3-5: display maths
        "```python", "x = '노이즈'", "```",  # 6-8: code
        "```{code-cell} ipython3", "y = '노이즈'", "```",  # 9-11: a code cell of a MyST page
        "```{admonition} 노이즈", ":class: warning",  # 12-13: an admonition's title is prose
        "본문의 노이즈", "```",  # 14-15: and its body
        "````{note}", "```", "x = '노이즈'", "```", "밖의 노이즈", "````",  # 16-21: code in a note
    ])
    noise = [e for e in ENTRIES if e["en"] == "noise"]
    assert [line for line, _, _ in glossary.avoided(text, noise)] == [12, 14, 20]


def test_the_glossary_page_is_current():
    """ko/glossary.md's tables are what `python tools/glossary.py build` writes."""
    assert glossary.PAGE.read_text(encoding="utf-8") == glossary.page_text(ENTRIES), (
        "ko/glossary.md is not current: python tools/glossary.py build")


def test_the_page_shows_every_term_and_every_other_form():
    text = glossary.PAGE.read_text(encoding="utf-8")
    for e in ENTRIES:
        assert f"| {e['en']} | **{e['ko']}** |" in text
        for form in glossary.others(e):
            assert f"| {form} → **{e['ko']}** | {e['en']} |" in text


def test_the_korean_index_is_in_ganada_order():
    assert [glossary.initial(t) for t in ("가속", "까치", "나무", "힘", "t-SNE")] == [
        "ㄱ", "ㄱ", "ㄴ", "ㅎ", "A–Z"]
    index = glossary.render(ENTRIES).split("## 한국어 → 영어")[1]
    terms = [row.split(" | ")[0].strip("| *").split(" → ")[0]
             for row in index.splitlines() if row.startswith("| ") and "---" not in row
             and not row.startswith("| 한국어")]
    hangul = [t for t in terms if glossary.initial(t) != "A–Z"]
    assert hangul == sorted(hangul) and len(terms) == len(ENTRIES) + sum(
        len(glossary.others(e)) for e in ENTRIES)
    assert hangul.index("가중치 감쇠") < hangul.index("과대완전") < hangul.index("희소성")
