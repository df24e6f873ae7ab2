"""The two editions' pages, linked to each other: a Sphinx extension that both books load.

The English book is built at the site's root and the Korean one under ko/ (ko/_config.yml); the
two share docnames (intro, chapters/01_autoencoders, claims...). Each book's _config.yml names the
other in `aebook_other_language`:

    lang     the other edition's language code (hreflang)       e.g. ko
    label    the text of the link at the top of every page          한국어
    offer    the text of the link at the top of the landing page    이 책을 한국어로 읽기
    root     the other site's root, from this site's root            ko/   (or ../)
    toc      the other book's _toc.yml, from this book's folder     ko/_toc.yml
    missing  added to a link's text when it falls back to the other edition

What it does:
- every page gets a link to its counterpart at the top of its article, and a
  `<link rel="alternate" hreflang=...>` in its head: the page of the same docname in the other
  book, or the other book's landing page where it has none (the Korean glossary and FAQ);
- a reference to a page that this book lacks and the other has, such as a Korean chapter not yet
  translated, links to the other edition's page (its title, plus `missing`), so the book still
  builds; a reference that neither book can resolve still fails the build;
- a relative `execute.cache` path is read from the book's folder, not the working directory,
  so the Korean book finds the English book's execution cache from anywhere.

tests/browser/test_languages.py checks the links on the built site.
"""
from __future__ import annotations

import html
import json
import posixpath
import re
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join

H1 = re.compile(r"^# (.+)$", re.M)


def toc_docnames(toc: Path) -> tuple[str, set[str]]:
    """A _toc.yml's root docname and every docname it lists."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(entries: list) -> None:
        for entry in entries or []:
            if "file" in entry:
                found.add(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(data.get("parts", []))
    walk(data.get("chapters", []))
    found.add(data["root"])
    return data["root"], found


def title(source_dir: Path, docname: str) -> str:
    """The first `# ` heading of a page's source (.md or .ipynb), else its docname."""
    for suffix in (".md", ".ipynb"):
        path = source_dir / f"{docname}{suffix}"
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        if suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"]
                             if c["cell_type"] == "markdown")
        if m := H1.search(text):
            return m.group(1).strip()
    return docname


def _other(app: Sphinx) -> dict:
    cfg = dict(app.config.aebook_other_language)
    toc = (Path(app.srcdir) / cfg["toc"]).resolve()
    cfg["root_doc"], cfg["docs"] = toc_docnames(toc)
    cfg["dir"] = toc.parent
    return cfg


def counterpart(pagename: str, other: dict) -> str:
    """The URL of `pagename`'s counterpart, relative to the page."""
    target = pagename if pagename in other["docs"] else other["root_doc"]
    return "../" * pagename.count("/") + other["root"] + target + ".html"


def _source_link(refdoc: str, target: str) -> tuple[str, str | None] | None:
    """A link's target as (docname, anchor) if it names a source file (.md, .ipynb), relative to
    the linking page; else None."""
    path, _, anchor = target.partition("#")
    if not path.endswith((".md", ".ipynb")) or "://" in path:
        return None
    return posixpath.normpath(posixpath.join(posixpath.dirname(refdoc), path.rsplit(".", 1)[0])), anchor or None


class OtherEditionReferences(SphinxPostTransform):
    """References to a page this book lacks and the other edition has: a link to that page.
    Runs before MyST's resolver (priority 9) and Sphinx's (10), which would fail on them."""
    default_priority = 8

    def run(self, **kwargs) -> None:
        other = self.env.aebook_other
        for node in list(self.document.findall(nodes.Element)):
            if node.tagname != "pending_xref":
                continue
            refdoc = node.get("refdoc", self.env.docname)
            anchor = node.get("reftargetid")
            if node.get("reftype") == "myst" and node.get("refdomain") == "doc":
                target, explicit = node["reftarget"], bool(node.astext().strip())
            elif node.get("reftype") == "myst" and (path := _source_link(refdoc, node["reftarget"])):
                # a markdown link to a file that this book lacks: [text](02_undercomplete.ipynb)
                (target, anchor), explicit = path, bool(node.astext().strip())
            elif node.get("refdomain") == "std" and node.get("reftype") == "doc":
                target, explicit = docname_join(refdoc, node["reftarget"]), node.get("refexplicit")
            else:
                continue
            if target in self.env.all_docs or target not in other["docs"]:
                continue
            uri = "../" * refdoc.count("/") + other["root"] + target + ".html"
            if anchor:
                uri += "#" + anchor
            text = (node.astext() if explicit else title(other["dir"], target)) + other["missing"]
            ref = nodes.reference("", "", nodes.inline(text, text), refuri=uri, internal=False,
                                  classes=["aebook-other-edition"])
            ref["hreflang"] = other["lang"]
            node.replace_self(ref)


def _page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if doctree is None or "body" not in context:  # genindex, search: no counterpart
        return
    other = app.env.aebook_other
    href, lang = html.escape(counterpart(pagename, other)), other["lang"]
    landing = pagename == app.config.root_doc
    text = html.escape(other["offer"] if landing else other["label"])
    cls = "aebook-language aebook-language-landing" if landing else "aebook-language"
    context["body"] = (f'<p class="{cls}"><a class="aebook-language-link" href="{href}" '
                       f'hreflang="{lang}" lang="{lang}">{text}</a></p>\n' + context["body"])
    context["metatags"] = (context.get("metatags", "")
                           + f'\n<link rel="alternate" hreflang="{lang}" href="{href}" />')


def _config(app: Sphinx, config) -> None:
    cache = config.nb_execution_cache_path
    if cache and not Path(cache).is_absolute():
        config.nb_execution_cache_path = str((Path(app.srcdir) / cache).resolve())


def _builder(app: Sphinx) -> None:
    app.env.aebook_other = _other(app)


def setup(app: Sphinx) -> dict:
    app.add_config_value("aebook_other_language", None, "env")
    app.connect("config-inited", _config, priority=400)
    app.connect("builder-inited", _builder)
    app.connect("html-page-context", _page)
    app.add_post_transform(OtherEditionReferences)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
