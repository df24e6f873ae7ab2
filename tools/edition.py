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
    python tools/edition.py build       write ko/chapters/*.ipynb from the translation files
    python tools/edition.py check       fail (naming the cells) on a missing or stale translation,
                                        or a generated notebook that differs from what build writes

tests/test_edition.py runs `check` and shows that one changed English sentence fails it.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import nbformat

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
    return out


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
