"""The Korean edition: the English notebooks' code with translated prose.

The code is shared and the prose is translated. Each chapter's Korean prose lives in
`ko/translations/<stem>.md`, one entry per markdown cell of the English notebook, keyed by the
cell's id and the hash of the English text it translates:

    <!-- cell: cell-03 en: 1f2e3d4c5b6a -->
    한국어 본문 ...

The generator writes `ko/chapters/<stem>.ipynb`: the English notebook with each markdown cell's
source replaced by its translation, and every code cell byte-identical, so that the execution
cache, which keys on the code, serves both books from one execution. The badge cell is not
translated: the generator points it at the Korean notebook in Colab.

    python tools/edition.py skeleton chapters/01_autoencoders.ipynb
        print a translation file for a chapter, each entry holding the English text to replace
    python tools/edition.py build       write ko/chapters/*.ipynb from the translation files, and
                                        ko/_toc.yml: the Korean book's pages that exist
    python tools/edition.py check       fail (naming the cells) on a missing or stale translation,
                                        or a generated notebook or toc that differs from what
                                        build writes

The Korean book (ko/_config.yml) lists what is there: a chapter once its translation exists, the
glossary and FAQ once ko/glossary.md and ko/faq.md exist, each back-matter page once its Korean
page does. A chapter not yet translated is left out of the Korean book; a Korean page's link to it
goes to the English page (tools/sphinx_languages.py).

tests/test_edition.py runs `check` and shows that one changed English sentence fails it.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from publish import BADGE_ID, badge_source, repository  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KO = "ko"
ENTRY = re.compile(r"^<!-- cell: (\S+) en: ([0-9a-f]{12}) -->$", re.M)


def english_hash(source: str) -> str:
    """The first 12 hex digits of the SHA-256 of an English cell's source (UTF-8)."""
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def translated_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The markdown cells a translation must cover: all but the badge cell."""
    return [c for c in nb.cells if c.cell_type == "markdown" and c.get("id") != BADGE_ID]


def parse(text: str) -> dict[str, tuple[str, str]]:
    """A translation file -> {cell id: (English hash, Korean source)}; blank lines around an
    entry's text are dropped. Raises ValueError on text before the first entry or a repeated id."""
    marks = list(ENTRY.finditer(text))
    if text[:marks[0].start() if marks else len(text)].strip():
        raise ValueError("text before the first '<!-- cell: ID en: HASH -->' line")
    out: dict[str, tuple[str, str]] = {}
    for m, nxt in zip(marks, marks[1:] + [None]):
        body = text[m.end():nxt.start() if nxt else len(text)].strip("\n")
        if m.group(1) in out:
            raise ValueError(f"cell {m.group(1)} is translated twice")
        out[m.group(1)] = (m.group(2), body)
    return out


def skeleton(notebook: Path) -> str:
    """A translation file for ``notebook`` whose entries still hold the English text."""
    nb = nbformat.read(notebook, as_version=4)
    return "\n\n".join(f"<!-- cell: {c.id} en: {english_hash(c.source)} -->\n{c.source}"
                       for c in translated_cells(nb)) + "\n"


def chapters(root: Path = ROOT) -> list[Path]:
    """The English chapters that have a translation file."""
    return sorted(p for p in (root / "chapters").glob("*.ipynb")
                  if (root / KO / "translations" / f"{p.stem}.md").exists())


def problems(notebook: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with ``notebook``'s translation: missing, stale or unknown cells."""
    nb = nbformat.read(notebook, as_version=4)
    path = root / KO / "translations" / f"{notebook.stem}.md"
    try:
        entries = parse(path.read_text(encoding="utf-8"))
    except ValueError as e:
        return [f"{path.relative_to(root)}: {e}"]
    out = []
    cells = {c.id: c for c in translated_cells(nb)}
    for cid, cell in cells.items():
        if cid not in entries:
            out.append(f"{notebook.stem}: cell {cid} has no translation")
        elif entries[cid][0] != english_hash(cell.source):
            first = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
            out.append(f"{notebook.stem}: cell {cid} changed in English since it was translated "
                       f"(hash {entries[cid][0]}, now {english_hash(cell.source)}): {first!r}")
        elif not entries[cid][1].strip():
            out.append(f"{notebook.stem}: cell {cid} has an empty translation")
    out += [f"{notebook.stem}: cell {cid} is translated but not a markdown cell of the English "
            f"notebook" for cid in entries.keys() - cells.keys()]
    return out


def generate(notebook: Path, root: Path = ROOT) -> nbformat.NotebookNode:
    """The Korean notebook: ``notebook`` with its prose translated and its code unchanged."""
    nb = nbformat.read(notebook, as_version=4)
    entries = parse((root / KO / "translations" / f"{notebook.stem}.md").read_text(encoding="utf-8"))
    target = root / KO / "chapters" / notebook.name
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if cell.get("id") == BADGE_ID:
            cell.source = badge_source(repository(root / "_config.yml"), target, root)
        else:
            cell.source = entries[cell.id][1]
    return nb


# The Korean book's part captions, by the English ones in _toc.yml, and the pages it has that the
# English book has not: after the chapters, at the head of the back matter.
CAPTIONS = {"Chapter 14 of Deep Learning": "『심층 학습』 14장", "Back matter": "부록"}
KO_ONLY = ["glossary", "faq"]


def toc(root: Path = ROOT) -> str:
    """ko/_toc.yml: the English _toc.yml's structure, with the pages the Korean book has."""
    english = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    translated = {f"chapters/{p.stem}" for p in chapters(root)}

    def present(doc: str) -> bool:
        return doc in translated if doc.startswith("chapters/") else (root / KO / f"{doc}.md").exists()

    parts = []
    for part in english["parts"]:
        docs = [c["file"] for c in part["chapters"]]
        if part["caption"] == "Back matter":
            docs = KO_ONLY + docs
        docs = [d for d in docs if present(d)]
        if docs:
            parts.append({"caption": CAPTIONS[part["caption"]], "chapters": [{"file": d} for d in docs]})
    data = {"format": english["format"], "root": english["root"], "parts": parts}
    return ("# Written by `python tools/edition.py build` from ../_toc.yml and the Korean pages that\n"
            "# exist; tools/edition.py check fails when it is out of date. Do not edit.\n"
            + yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def config_problems(root: Path = ROOT) -> list[str]:
    """ko/_config.yml must name the English book's repository and branch, with ko as its folder."""
    en = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]
    path = root / KO / "_config.yml"
    if not path.exists():
        return []
    ko = yaml.safe_load(path.read_text(encoding="utf-8"))["repository"]
    want = {"url": en["url"], "branch": en["branch"], "path_to_book": KO}
    return [f"{KO}/_config.yml: repository.{k} is {ko.get(k)!r}, not {v!r} (as _config.yml)"
            for k, v in want.items() if ko.get(k) != v]


def build(root: Path = ROOT) -> list[Path]:
    """Write every translated chapter's Korean notebook; return the paths written."""
    written = []
    for notebook in chapters(root):
        bad = problems(notebook, root)
        if bad:
            raise SystemExit("\n".join(bad))
        target = root / KO / "chapters" / notebook.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(generate(notebook, root), target)
        written.append(target)
    if (root / KO / "intro.md").exists():
        (root / KO / "_toc.yml").write_text(toc(root), encoding="utf-8")
        written.append(root / KO / "_toc.yml")
    return written


def check(root: Path = ROOT) -> list[str]:
    """Every problem of every translated chapter, and every generated notebook out of date."""
    out = []
    for notebook in chapters(root):
        bad = problems(notebook, root)
        out += bad
        target = root / KO / "chapters" / notebook.name
        if not bad and (not target.exists()
                        or target.read_text(encoding="utf-8") != nbformat.writes(generate(notebook, root)) + "\n"):
            out.append(f"{target.relative_to(root)} is not what `python tools/edition.py build` writes")
    if (root / KO / "intro.md").exists():
        path = root / KO / "_toc.yml"
        if not path.exists() or path.read_text(encoding="utf-8") != toc(root):
            out.append(f"{path.relative_to(root)} is not what `python tools/edition.py build` "
                       "writes (the Korean pages that exist)")
    return out + config_problems(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("skeleton").add_argument("notebook", type=Path)
    sub.add_parser("build")
    sub.add_parser("check")
    args = parser.parse_args(argv)
    if args.command == "skeleton":
        print(skeleton(args.notebook), end="")
    elif args.command == "build":
        for path in build():
            print(f"wrote {path.relative_to(ROOT)}")
    else:
        bad = check()
        print("\n".join(bad) if bad else f"{len(chapters())} translated chapters are up to date")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
