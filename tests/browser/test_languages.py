"""The two editions, linked: every page of the built site links to its counterpart in the other
language, and the link resolves (make check-site, after make book).

The English book is at _build/html, the Korean one at _build/html/ko (ko/_config.yml).
tools/sphinx_languages.py puts a link to the other edition at the top of every page's article and
a <link rel="alternate" hreflang=...> in its head. For every page of both tocs this opens the page
in Chromium and checks that
- the page declares its language (<html lang="en"> or "ko");
- it has exactly one language link, first in the article, hreflang the other language, the same
  URL as its rel="alternate";
- the link loads (HTTP 200) a page in the other language: the page of the same docname where the
  other edition has one, else the other edition's landing page; and where both have the page,
  that page's own language link leads back;
- a link to the other edition inside the text (a Korean page's link to a chapter not yet
  translated) loads a page in the other language.
test_checks_catch_* run the same check on a small synthetic site, to show that it can fail.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Page

from conftest import serve

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from sphinx_languages import toc_docnames  # noqa: E402

SITE = ROOT / "_build" / "html"
# language -> (its folder on the site, its _toc.yml)
EDITIONS = {"en": ("", ROOT / "_toc.yml"), "ko": ("ko/", ROOT / "ko" / "_toc.yml")}
HTML_LANG = re.compile(r"<html[^>]*\blang=\"([^\"]+)\"")

# What the page says about its language links (hrefs resolved by the browser).
LINKS = """() => {
  const article = document.querySelector('article.bd-article');
  const links = [...document.querySelectorAll('a.aebook-language-link')];
  const first = article && article.querySelector('a, h1, h2, p, section');
  return {
    lang: document.documentElement.lang,
    links: links.map(a => ({href: a.href, hreflang: a.hreflang})),
    first: !!(first && first.closest('.aebook-language')),
    alternate: [...document.querySelectorAll('link[rel="alternate"][hreflang]')].map(l => l.href),
    others: [...document.querySelectorAll('a.aebook-other-edition')].map(a => a.href),
  };
}"""


def editions(site_root: Path = SITE) -> dict[str, tuple[str, str, set[str]]]:
    """language -> (folder, landing docname, docnames) for each edition built on the site."""
    out = {}
    for lang, (folder, toc) in EDITIONS.items():
        if toc.exists() and (site_root / folder / "index.html").exists():
            root, docs = toc_docnames(toc)
            out[lang] = (folder, root, docs)
    return out


def lang_of(page: Page, url: str) -> tuple[int, str | None]:
    """The HTTP status of `url` and the lang attribute of the HTML it returns."""
    response = page.request.get(url)
    m = HTML_LANG.search(response.text()) if response.ok else None
    return response.status, m.group(1) if m else None


def _links_only(route) -> None:
    """Load the HTML alone: the links are in it (test_site.py checks the rest of each page)."""
    if route.request.resource_type in {"image", "script", "stylesheet", "font", "media"}:
        return route.abort()
    return route.fallback()


def language_problems(page: Page, base: str, books: dict, lang: str, doc: str) -> list[str]:
    """What is wrong with the language links of `doc` in edition `lang` (the site at `base`)."""
    folder = books[lang][0]
    (other,) = [k for k in books if k != lang]
    ofolder, oroot, odocs = books[other]
    url = f"{base}/{folder}{doc}.html"
    page.route("**/*", _links_only)
    page.goto(url, wait_until="domcontentloaded")
    got = page.evaluate(LINKS)
    problems = []
    if got["lang"] != lang:
        problems.append(f'<html lang="{got["lang"]}">, not "{lang}"')
    if len(got["links"]) != 1:
        return problems + [f"{len(got['links'])} language links, not 1"]
    href, hreflang = got["links"][0]["href"], got["links"][0]["hreflang"]
    want = f"{base}/{ofolder}{doc if doc in odocs else oroot}.html"
    if hreflang != other:
        problems.append(f"the language link's hreflang is {hreflang!r}, not {other!r}")
    if href != want:
        problems.append(f"the language link goes to {href}, not {want}")
    if not got["first"]:
        problems.append("the language link is not at the top of the article")
    if got["alternate"] != [href]:
        problems.append(f'<link rel="alternate"> is {got["alternate"]}, not [{href}]')
    status, target_lang = lang_of(page, href)
    if status != 200 or target_lang != other:
        problems.append(f"the language link {href} answers {status}, lang {target_lang!r}")
    elif doc in odocs:
        page.goto(href, wait_until="domcontentloaded")
        back = page.evaluate(LINKS)["links"]
        if [b["href"] for b in back] != [url]:
            problems.append(f"{href} does not link back to {url}: {back}")
    for other_href in got["others"]:
        status, target_lang = lang_of(page, other_href.split("#")[0])
        if status != 200 or target_lang != other:
            problems.append(f"the link to the other edition {other_href} answers {status}, "
                            f"lang {target_lang!r}")
    return problems


@pytest.fixture(scope="module")
def site() -> str:
    books = editions()
    if set(books) != set(EDITIONS):
        pytest.fail(f"{SITE}: both editions must be built (make book); found {sorted(books)}",
                    pytrace=False)
    with serve(SITE) as url:
        yield url


PAGES = [(lang, doc) for lang, (folder, toc) in EDITIONS.items() if toc.exists()
         for doc in sorted(toc_docnames(toc)[1])]


def test_both_editions_have_pages():
    assert {lang for lang, _ in PAGES} == set(EDITIONS), PAGES


@pytest.mark.parametrize(("lang", "doc"), PAGES, ids=[f"{lang}:{doc}" for lang, doc in PAGES])
def test_language_links(lang: str, doc: str, site: str, page: Page):
    problems = language_problems(page, site, editions(), lang, doc)
    if problems:
        pytest.fail(f"{EDITIONS[lang][0]}{doc}.html:\n- " + "\n- ".join(problems), pytrace=False)


# A synthetic two-edition site: English intro and a, Korean intro only.
def _page(lang: str, href: str, hreflang: str, text: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head>'
            f'<link rel="alternate" hreflang="{hreflang}" href="{href}" /></head><body>'
            f'<article class="bd-article"><p class="aebook-language"><a class="aebook-language-link" '
            f'href="{href}" hreflang="{hreflang}">x</a></p><h1>T</h1>{text}</article></body></html>')


def _synthetic(tmp_path: Path, ko_intro: str, en_a: str) -> dict:
    (tmp_path / "ko").mkdir()
    (tmp_path / "index.html").write_text("")
    (tmp_path / "ko" / "index.html").write_text("")
    (tmp_path / "intro.html").write_text(_page("en", "ko/intro.html", "ko"))
    (tmp_path / "a.html").write_text(en_a)
    (tmp_path / "ko" / "intro.html").write_text(ko_intro)
    return {"en": ("", "intro", {"intro", "a"}), "ko": ("ko/", "intro", {"intro"})}


def _problems(browser, tmp_path, ko_intro, en_a) -> list[str]:
    from conftest import new_page
    books = _synthetic(tmp_path, ko_intro, en_a)
    tab = new_page(browser, mathjax=False, note=False)
    try:
        with serve(tmp_path) as base:
            return [p for lang, doc in [("en", "intro"), ("en", "a"), ("ko", "intro")]
                    for p in language_problems(tab, base, books, lang, doc)]
    finally:
        tab.context.close()


def test_checks_pass_a_good_site(browser, tmp_path):
    good = _page("ko", "../intro.html", "en",
                 '<a class="aebook-other-edition" href="../a.html">a (영어)</a>')
    assert _problems(browser, tmp_path, good, _page("en", "ko/intro.html", "ko")) == []


def test_checks_catch_broken_language_links(browser, tmp_path):
    ko_intro = _page("en", "../missing.html", "en",  # wrong lang, a link to nowhere
                     '<a class="aebook-other-edition" href="../gone.html">gone</a>')
    en_a = _page("en", "ko/a.html", "ko")  # a counterpart the Korean edition does not have
    problems = "\n".join(_problems(browser, tmp_path, ko_intro, en_a))
    assert '<html lang="en">, not "ko"' in problems
    assert "/missing.html answers 404" in problems
    assert "/gone.html answers 404" in problems
    assert "/ko/a.html, not " in problems and "/ko/intro.html" in problems


def test_checks_catch_a_counterpart_that_does_not_lead_back(browser, tmp_path):
    ko_intro = _page("ko", "../a.html", "en")  # the English intro's counterpart points elsewhere
    problems = "\n".join(_problems(browser, tmp_path, ko_intro, _page("en", "ko/intro.html", "ko")))
    assert "does not link back" in problems and "/a.html, not " in problems
