"""The built site, checked in a real browser (Debian's headless Chromium, driven by Playwright).

`make book` proves that every chapter executes; it does not prove that a reader sees the result.
For every chapter page in _build/html this opens the page and checks that
- every <img> loaded (naturalWidth > 0);
- every figure is there: as many image outputs in the page's cell outputs as the executed
  notebook in the build's execution cache has (counted the way myst-nb picks a MIME type), and > 0;
- the maths is typeset: MathJax 3, which the site loads from a CDN, is served here from the npm
  package (conftest.py) and has finished; every `.math` element holds an <mjx-container>, no
  <mjx-merror>, and no text of the article outside code still holds TeX (`$$`, `\\(`, `\\frac`...);
- the Colab launch button (in the page's header) and the "Open in Colab" badge (a loaded image at
  the top of the article) both open this notebook from the repository and branch of _config.yml;
- every `explorer-static` cell of the notebook (the static fallback of a live `explorer` widget)
  shows a loaded image, and a chapter with an explorer has at least one.
Requests to other hosts (the Jupyter-widget JS on a CDN) are aborted, and listed at the end.
A full-page screenshot of each chapter goes to _build/screenshots/ for a person to look at.
The test_checks_* tests run the same checks on small synthetic pages, to show that each can fail.
"""
from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
import yaml
from myst_nb.core.render import get_mime_priority
from playwright.sync_api import Page, TimeoutError as PlaywrightTimeout

from conftest import MATHJAX_CDN, new_page, serve

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
EXECUTION_CACHE = ROOT / CONFIG["execute"]["cache"]
# The order in which myst-nb picks one MIME type per output for HTML (no overrides in _config.yml).
MIME_PRIORITY = get_mime_priority("html", [])
# TeX that MathJax should have turned into maths: display/inline delimiters and any \command.
TEX = re.compile(r"\$\$|\$[^$\s][^$]*\$|\\[()\[\]]|\\[A-Za-z]+")

# Wait until every <img> has loaded or failed (scrolling each into view, for lazy ones); return
# the src of those that did not load.
BROKEN_IMAGES = """async () => {
  const settle = img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
    setTimeout(done, 10000);
  });
  for (const img of document.images) { img.scrollIntoView(); await settle(img); }
  window.scrollTo(0, 0);
  return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                             .map(i => i.getAttribute('src'));
}"""
# Text nodes of the article outside code, source cells and scripts (null if there is no article).
ARTICLE_TEXT = """() => {
  const article = document.querySelector('article.bd-article');
  if (!article) return null;
  const skip = 'pre, code, kbd, samp, script, style, noscript, template, textarea, .cell_input';
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode())
    if (!n.parentElement.closest(skip) && n.textContent.trim()) texts.push(n.textContent.trim());
  return texts;
}"""
# Whether a link to the given URL inside the article shows a loaded image (the Open in Colab badge).
LOADED_BADGE = """colab => [...document.querySelectorAll('article.bd-article a')]
  .filter(a => a.getAttribute('href') === colab)
  .some(a => [...a.querySelectorAll('img')].some(i => i.complete && i.naturalWidth > 0))"""
LOADED_STATIC_EXPLORERS = """() => [...document.querySelectorAll('.tag_explorer-static')]
  .filter(cell => [...cell.querySelectorAll('img')].some(i => i.complete && i.naturalWidth > 0))
  .length"""


def executed_notebook(source: Path) -> dict | None:
    """The chapter with the outputs the book rendered: the source merged with its record in the
    build's execution cache (_config.yml: execute.cache), None if the cache has none. (The copies
    in _build/jupyter_execute lack the outputs when a page was served from the cache.)"""
    from jupyter_cache import get_cache

    try:
        return get_cache(EXECUTION_CACHE).merge_match_into_notebook(nbformat.read(source, as_version=4))[1]
    except KeyError:
        return None


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def image_outputs(nb: dict) -> int:
    """Outputs that myst-nb renders as an image (the MIME type it picks is image/*), in cells
    whose outputs the book shows (not tagged remove-output or remove-cell)."""
    count = 0
    for cell in nb["cells"]:
        if {"remove-output", "remove-cell"} & set(cell.get("metadata", {}).get("tags", [])):
            continue
        for out in cell.get("outputs", []):
            picked = next((m for m in MIME_PRIORITY if m in out.get("data", {})), "")
            count += picked.startswith("image/")
    return count


def tagged(nb: dict, tag: str) -> int:
    return sum(tag in c.get("metadata", {}).get("tags", []) for c in nb["cells"])


def colab_url(notebook: Path) -> str:
    """The Colab launch URL that _config.yml's repository and launch_buttons give `notebook`."""
    repo, colab = CONFIG["repository"], CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    path = posixpath.join(repo.get("path_to_book") or "", notebook.relative_to(ROOT).as_posix())
    return f"{colab}/github/{urlsplit(repo['url']).path.strip('/')}/blob/{repo['branch']}/{path}"


def typeset(page: Page, timeout_ms: float = 5000) -> bool:
    """Wait for MathJax to start and finish typesetting (and fonts); False if it never starts."""
    try:
        page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    page.evaluate("() => MathJax.startup.promise.then(() => document.fonts.ready).then(() => 0)")
    return True


def page_problems(page: Page, executed: dict, source: dict, colab: str,
                  screenshot: Path | None = None, mathjax_timeout_ms: float = 5000) -> list[str]:
    """Everything wrong with the chapter page open in `page`, as sentences; [] if nothing."""
    problems = []
    has_math = page.locator(".math").count() > 0
    if has_math:
        src = page.evaluate("() => document.querySelector('script[src*=\"mathjax\"]')?.src ?? ''")
        if not src.startswith(MATHJAX_CDN):
            problems.append(f"the page loads MathJax from {src!r}; the test serves {MATHJAX_CDN}")
        if not typeset(page, mathjax_timeout_ms):
            problems.append("MathJax never started")
    broken = page.evaluate(BROKEN_IMAGES)
    if screenshot:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=screenshot, full_page=True)
    if broken:
        problems.append(f"{len(broken)} image(s) did not load: {broken[:5]}")

    shown, expected = page.locator(".cell_output img").count(), image_outputs(executed)
    if expected == 0:
        problems.append("the executed notebook has no image outputs")
    if shown != expected:
        problems.append(f"{shown} image outputs on the page, {expected} in the executed notebook")

    if has_math:
        if page.locator("mjx-container").count() == 0:
            problems.append("the page has maths but no <mjx-container>")
        if n := page.locator(".math:not(:has(mjx-container))").count():
            problems.append(f"{n} .math element(s) not typeset")
        if n := page.locator("mjx-merror").count():
            problems.append(f"{n} TeX error(s) in the typeset maths")
    texts = page.evaluate(ARTICLE_TEXT)
    if texts is None:
        problems.append("no <article class='bd-article'> on the page")
    elif tex := [t[:80] for t in texts if TEX.search(t)]:
        problems.append(f"{len(tex)} text(s) with unrendered TeX, e.g. {tex[:3]}")

    if page.locator(f'.bd-header-article a[href="{colab}"]').count() == 0:
        problems.append(f"no Colab launch button to {colab}")
    if not page.evaluate(LOADED_BADGE, colab):
        problems.append(f"no Open in Colab badge (a loaded image) linked to {colab}")

    statics = tagged(source, "explorer-static")
    shown_statics = page.evaluate(LOADED_STATIC_EXPLORERS)
    if tagged(source, "explorer") and shown_statics == 0:
        problems.append("the chapter has an explorer but no explorer-static cell with an image")
    if shown_statics != statics:
        problems.append(f"{shown_statics} explorer-static cell(s) with a loaded image on the page, "
                        f"{statics} in the notebook")
    return problems


@pytest.fixture(scope="session")
def site() -> str:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site in {SITE}: run `make book` first", pytrace=False)
    with serve(SITE) as url:
        yield url


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks in chapters/"


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page(source: Path, site: str, page: Page):
    html, executed = SITE / "chapters" / f"{source.stem}.html", executed_notebook(source)
    if not html.exists() or executed is None:
        pytest.fail(f"no page or no executed notebook in the cache for {source.name}: run `make book` first",
                    pytrace=False)
    page.goto(f"{site}/chapters/{html.name}")
    problems = page_problems(page, executed, load(source), colab_url(source),
                             SCREENSHOTS / f"{source.stem}.png")
    if problems and html.stat().st_mtime < source.stat().st_mtime:
        problems.append(f"(the page is older than chapters/{source.name}: run `make book`)")
    if problems:
        pytest.fail(f"{html.relative_to(ROOT)}:\n- " + "\n- ".join(problems), pytrace=False)


# --- The checks on synthetic pages: each problem is found, and a good page has none. ---

PNG = ("data:image/png;base64,"  # 1x1 pixel
       "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
COLAB = "https://colab.research.google.com/github/o/r/blob/main/chapters/99_x.ipynb"


def synthetic(tmp_path: Path, figure_src: str, static_src: str | None, colab: str) -> None:
    """A chapter-like page: a Colab launch button and badge, maths, TeX inside code (to be
    ignored), one figure, one explorer."""
    static = (f"<div class='cell tag_explorer-static'><div class='cell_output'><img src='{static_src}'>"
              "</div></div>" if static_src else "")
    (tmp_path / "page.html").write_text(f"""<!DOCTYPE html><html><head>
<script>window.MathJax = {{options: {{processHtmlClass: "math"}}}}</script>
<script defer src="{MATHJAX_CDN}tex-mml-chtml.js"></script></head><body>
<div class="bd-header-article"><a href="{colab}">Colab</a></div>
<article class="bd-article"><p><a href="{colab}"><img src="{PNG}" alt="Open In Colab"></a></p>
<section class="tex2jax_ignore mathjax_ignore">
<p>A fraction <span class="math notranslate nohighlight">\\(\\frac{{a}}{{\\mathbf b}}\\)</span>.</p>
<div class="math notranslate nohighlight">\\[\\begin{{aligned}} r &= g(f(x)) \\end{{aligned}}\\]</div>
<div class="cell"><div class="cell_input"><pre>x = "$$ \\\\frac"</pre></div>
  <div class="cell_output"><img src="{figure_src}"></div></div>
<div class="cell tag_explorer"><div class="cell_output"></div></div>{static}
</section></article></body></html>""")


def notebook(*cells: tuple[list[str], list[dict]]) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {"tags": tags}, "outputs": outs}
                      for tags, outs in cells]}


FIGURE = {"output_type": "display_data", "data": {"image/png": "", "text/plain": ""}}
SOURCE = notebook(([], []), (["explorer"], []), (["explorer-static"], []))
EXECUTED_NB = notebook(([], [FIGURE]), (["explorer"], []), (["explorer-static"], [FIGURE]))


def problems_of(browser, tmp_path, mathjax=True, executed=EXECUTED_NB, **page) -> list[str]:
    page = {"figure_src": PNG, "static_src": PNG, "colab": COLAB} | page
    synthetic(tmp_path, **page)
    tab = new_page(browser, mathjax=mathjax, note=False)
    try:
        with serve(tmp_path) as url:
            tab.goto(f"{url}/page.html")
            return page_problems(tab, executed, SOURCE, COLAB, mathjax_timeout_ms=1500)
    finally:
        tab.context.close()


def test_image_outputs_counts_what_myst_nb_renders_as_an_image():
    html = {"output_type": "execute_result", "data": {"text/html": "", "image/png": ""}}
    widget = {"output_type": "display_data",
              "data": {"application/vnd.jupyter.widget-view+json": {}, "text/plain": ""}}
    svg = {"output_type": "display_data", "data": {"image/svg+xml": "", "text/plain": ""}}
    stream = {"output_type": "stream", "name": "stdout", "text": "$$"}
    nb = notebook(([], [FIGURE, html, widget, stream]), (["hide-output"], [svg]),
                  (["remove-output"], [FIGURE]), (["remove-cell"], [FIGURE]))
    assert image_outputs(nb) == 2


def test_colab_url_is_the_one_readme_gives():
    url = colab_url(ROOT / "chapters" / "01_autoencoders.ipynb")
    assert url in (ROOT / "README.md").read_text()


def test_checks_pass_a_good_page(browser, tmp_path):
    assert problems_of(browser, tmp_path) == []


def test_checks_catch_a_broken_page(browser, tmp_path):
    problems = problems_of(browser, tmp_path, figure_src="missing.png", static_src=None,
                           colab=COLAB.replace("main", "dev"),
                           executed=notebook(([], [FIGURE, FIGURE])))
    expected = ["1 image(s) did not load: ['missing.png']",
                "1 image outputs on the page, 2 in the executed notebook",
                f"no Colab launch button to {COLAB}",
                f"no Open in Colab badge (a loaded image) linked to {COLAB}",
                "the chapter has an explorer but no explorer-static cell with an image",
                "0 explorer-static cell(s) with a loaded image on the page, 1 in the notebook"]
    assert problems == expected


def test_checks_catch_a_broken_static_explorer_and_missing_figures(browser, tmp_path):
    problems = problems_of(browser, tmp_path, static_src="missing.png",
                           executed=notebook(([], [])))
    assert "the executed notebook has no image outputs" in problems
    assert "the chapter has an explorer but no explorer-static cell with an image" in problems


def test_checks_catch_maths_left_as_tex_without_mathjax(browser, tmp_path):
    problems = problems_of(browser, tmp_path, mathjax=False)
    assert problems[:3] == ["MathJax never started", "the page has maths but no <mjx-container>",
                            "2 .math element(s) not typeset"]
    assert problems[3].startswith("2 text(s) with unrendered TeX, e.g. ['\\\\(\\\\frac{a}")
    assert len(problems) == 4
