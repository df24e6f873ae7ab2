"""The Korean edition's glossary: ko/glossary.yml -> the tables of ko/glossary.md, and the term check.

ko/glossary.yml holds one entry per term: `en`, `ko` (the book's term), `common` (other forms Korean
ML writing uses, shown for search) and `avoid` (forms a Korean page must not use). The page
ko/glossary.md keeps its hand-written introduction; everything after the line GENERATED is written
here: an English -> Korean table sorted by the English, and a Korean index in 가나다 order, grouped
by initial consonant, in which each other form points to the book's term.

    python tools/glossary.py build    rewrite ko/glossary.md's tables from ko/glossary.yml
    python tools/glossary.py check    fail if they are not current, or a Korean page uses a form
                                      listed under `avoid` (naming the file, line and term)

tests/test_glossary.py runs both checks and shows that a planted form is caught.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
YAML = ROOT / "ko" / "glossary.yml"
PAGE = ROOT / "ko" / "glossary.md"
GENERATED = "<!-- 이 줄 아래는 tools/glossary.py build가 ko/glossary.yml에서 만든다. 손으로 고치지 말 것. -->"
KEYS = {"en", "ko", "common", "avoid"}
# Initial consonants of the Hangul syllables U+AC00..U+D7A3, in order; a doubled one is indexed
# under its single consonant, as Korean dictionaries' section heads do.
CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
SINGLE = {"ㄲ": "ㄱ", "ㄸ": "ㄷ", "ㅃ": "ㅂ", "ㅆ": "ㅅ", "ㅉ": "ㅈ"}


def load(path: Path = YAML) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def problems(entries) -> list[str]:
    """What is wrong with the glossary's structure: [] if each entry has a non-empty `en` and `ko`,
    lists of strings under `common`/`avoid`, no unknown key, no English term twice, and no book
    term that contains a form the glossary forbids."""
    if not isinstance(entries, list):
        return [f"the glossary is a {type(entries).__name__}, not a list of entries"]
    out, seen = [], {}
    for i, e in enumerate(entries):
        where = f"entry {i + 1}"
        if not isinstance(e, dict):
            out.append(f"{where} is not a mapping: {e!r}")
            continue
        where += f" ({e.get('en')!r})"
        out += [f"{where}: unknown key {k!r} (expected {sorted(KEYS)})" for k in e.keys() - KEYS]
        for key in ("en", "ko"):
            if not isinstance(e.get(key), str) or not e[key].strip():
                out.append(f"{where}: no {key!r} term")
        for key in ("common", "avoid"):
            forms = e.get(key, [])
            if not isinstance(forms, list) or not all(isinstance(f, str) and f.strip() for f in forms):
                out.append(f"{where}: {key!r} is not a list of non-empty strings: {forms!r}")
        if isinstance(e.get("en"), str):
            if e["en"].casefold() in seen:
                out.append(f"{where}: English term also in entry {seen[e['en'].casefold()]}")
            seen.setdefault(e["en"].casefold(), i + 1)
    if out:
        return out
    for e in entries:
        for other in entries:
            out += [f"{e['en']!r}: its term {e['ko']!r} contains {bad!r}, a form that "
                    f"{other['en']!r} avoids" for bad in other.get("avoid", []) if bad in e["ko"]]
    return out


# --- The term check. ---

# Spans that are not Korean prose, blanked before the search (keeping line numbers): code fences
# (``` or ~~~ with no info string, a language, or a MyST code directive; a fence of any other
# directive, such as an admonition, holds prose), $$ and $ maths, inline code, and HTML comments
# (the translation files' cell markers). Code and maths stay as in the English book (code cells
# byte-identical, maths unchanged), so a rule for Korean prose cannot apply to them.
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(.*?)\s*$")
_INLINE = re.compile(r"\$\$.*?\$\$|(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$|`[^`\n]+`|<!--.*?-->",
                     re.S)


def _blank(s: str) -> str:
    return re.sub(r"[^\n]", " ", s)


def prose(text: str) -> str:
    """`text` with code, maths and comments blanked (newlines kept, so lines still count)."""
    out, fences = [], []  # fences: the open fences, (marker, is code), innermost last
    for line in text.split("\n"):
        m = _FENCE.match(line)
        in_code = any(code for _, code in fences)
        if m and fences and not m.group(2) and m.group(1).startswith(fences[-1][0]):
            fences.pop()  # a closing fence
            out.append(_blank(line))
        elif in_code:
            out.append(_blank(line))
        elif m:
            info = m.group(2)
            code = not info.startswith("{") or info.startswith("{code")
            fences.append((m.group(1), code))
            out.append(_blank(line) if code else line)  # a directive's title is prose
        else:
            out.append(line)
    return _INLINE.sub(lambda m: _blank(m.group()), "\n".join(out))


def avoided(text: str, entries: list[dict]) -> list[tuple[int, str, dict]]:
    """Every use of an `avoid` form in the prose of `text`: (line, form, entry), by line."""
    found = []
    for n, line in enumerate(prose(text).splitlines(), start=1):
        for e in entries:
            found += [(n, form, e) for form in e.get("avoid", []) if form in line]
    return found


def korean_pages(root: Path = ROOT) -> list[Path]:
    """The files the term check reads: every translation, and every Korean page but the glossary."""
    ko = root / "ko"
    return sorted((ko / "translations").glob("*.md")) + sorted(
        p for p in ko.glob("*.md") if p.name != "glossary.md")


def term_problems(root: Path = ROOT, entries: list[dict] | None = None) -> list[str]:
    """One sentence per avoided form used, naming the file, the line and the book's term."""
    entries = load(root / "ko" / "glossary.yml") if entries is None else entries
    return [f"{path.relative_to(root)}:{line}: {form!r} (use {e['ko']!r} for {e['en']!r})"
            for path in korean_pages(root)
            for line, form, e in avoided(path.read_text(encoding="utf-8"), entries)]


# --- The page's tables. ---

def initial(term: str) -> str:
    """The index section of a term: its first syllable's initial consonant, doubled ones under the
    single; 'A–Z' for a term that starts with a Latin letter or a digit."""
    c = term[0]
    if "가" <= c <= "힣":
        ch = CHOSEONG[(ord(c) - ord("가")) // 588]
        return SINGLE.get(ch, ch)
    return "A–Z"


def others(e: dict) -> list[str]:
    """The other forms of an entry, for search: common ones, then avoided ones, each once."""
    return [f for f in dict.fromkeys(e.get("common", []) + e.get("avoid", [])) if f != e["ko"]]


def render(entries: list[dict]) -> str:
    """The generated part of ko/glossary.md."""
    lines = [GENERATED, "", "## 영어 → 한국어", "",
             "| 영어 (English) | 이 책의 용어 | 다른 표기 |", "| --- | --- | --- |"]
    for e in sorted(entries, key=lambda e: e["en"].casefold()):
        lines.append(f"| {e['en']} | **{e['ko']}** | {', '.join(others(e))} |")
    rows = [(e["ko"], f"**{e['ko']}**", e["en"]) for e in entries]
    rows += [(f, f"{f} → **{e['ko']}**", e["en"]) for e in entries for f in others(e)]
    # Hangul syllables are encoded in 가나다 order; Latin terms (t-SNE, ELBO) come first.
    rows.sort(key=lambda r: (initial(r[0]) != "A–Z", r[0].casefold(), r[2].casefold()))
    lines += ["", "## 한국어 → 영어 (가나다순)", "",
              "다른 표기는 화살표로 이 책의 용어를 가리킨다.", ""]
    section = None
    for term, shown, en in rows:
        if initial(term) != section:
            section = initial(term)
            lines += ([""] if lines[-1] else []) + [f"### {section}", "",
                                                     "| 한국어 | 영어 (English) |", "| --- | --- |"]
        lines.append(f"| {shown} | {en} |")
    return "\n".join(lines) + "\n"


def page_text(entries: list[dict], page: Path = PAGE) -> str:
    """ko/glossary.md as `build` writes it: its introduction, then the tables."""
    text = page.read_text(encoding="utf-8")
    if GENERATED not in text:
        raise ValueError(f"{page.name} has no line {GENERATED!r} to write the tables after")
    return text[:text.index(GENERATED)] + render(entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "check"])
    args = parser.parse_args(argv)
    entries = load()
    bad = problems(entries)
    if not bad and args.command == "build":
        PAGE.write_text(page_text(entries), encoding="utf-8")
        print(f"wrote {PAGE.relative_to(ROOT)}: {len(entries)} terms")
        return 0
    if not bad:
        if PAGE.read_text(encoding="utf-8") != page_text(entries):
            bad.append(f"{PAGE.relative_to(ROOT)} is not current: python tools/glossary.py build")
        bad += term_problems(entries=entries)
    print("\n".join(bad) if bad else f"{len(entries)} terms; no avoided form in the "
          f"{len(korean_pages())} Korean file(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
