"""Hangul on the Korean site: every page of _build/html/ko draws its Korean text with real glyphs,
not empty boxes ("tofu").

Chromium draws a character with the first font of the element's `font-family` that has it, and
falls back through fontconfig to any installed font that does. When no installed font has Hangul
(a bare CI image has only DejaVu), each syllable is drawn as the primary font's missing-glyph box,
and the page still loads, lays out and passes every other check. `document.fonts.check()` does not
see it either: it answers true when no font of the list has the glyph, since nothing needs loading.

So the check asks the page what it draws. For every font (style, weight, family, as computed) that
Korean text on the page uses, it loads the font for that text (`document.fonts.load`, the Font
Loading API), draws the page's own syllables with it on a canvas, and compares each bitmap with
that of U+10FFFD, a private-use code point that no font has: a syllable drawn exactly like the
missing character, or drawn with no ink at all, is a missing glyph. The test_checks_* tests below
show that the check passes Korean text with a CJK font installed and fails it in a browser whose
fontconfig sees only fonts without Hangul.

Every Korean page (ko/chapters/*.html included) also gets a full-page screenshot in
_build/screenshots/ko/, and a Korean chapter page gets the same checks as an English one
(test_site.page_problems: images, figures against the execution cache, maths, Colab links,
explorers), against its notebook in ko/chapters/. Without a built Korean site the page test skips,
saying so. CI installs the font: fonts-nanum (.ci/run).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from conftest import CHROMIUM, new_page, serve
from test_site import (ROOT, SCREENSHOTS, SITE, colab_url, executed_notebook, load, page_problems,
                       typeset)

KO_SITE = SITE / "ko"
KO_CHAPTERS = ROOT / "ko" / "chapters"
# Sphinx's generated pages: no prose of the book on them.
GENERATED = {"genindex.html", "search.html", "py-modindex.html"}
HANGUL = "[\\uAC00-\\uD7A3\\u1100-\\u11FF\\u3130-\\u318F]"  # syllables, jamo, compatibility jamo
SYLLABLES_PER_FONT = 12  # distinct syllables of the page drawn per font (and 한)

# For each font that Hangul text on the page is set in: where, a sample, the syllables checked, and
# those drawn like a character no font has (or with no ink).
HANGUL_GLYPHS = """async ({hangul, perFont}) => {
  const isHangul = new RegExp(hangul), syllables = new RegExp(hangul, 'g');
  const skip = 'script, style, noscript, template';
  const fonts = new Map();  // font shorthand -> {where, sample, chars}
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let nodes = 0;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !isHangul.test(n.textContent)) continue;
    nodes++;
    const cs = getComputedStyle(el);
    const font = `${cs.fontStyle} ${cs.fontWeight} 32px ${cs.fontFamily}`;
    if (!fonts.has(font))
      fonts.set(font, {where: el.tagName.toLowerCase() + (el.className ? '.' +
                       String(el.className).trim().split(/\\s+/)[0] : ''),
                       sample: n.textContent.trim().slice(0, 40), chars: new Set(['한'])});
    const f = fonts.get(font);
    for (const c of n.textContent.match(syllables))
      if (f.chars.size < perFont + 1) f.chars.add(c);
  }
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 48;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (font, s) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = font; ctx.textBaseline = 'top'; ctx.fillStyle = '#000';
    ctx.fillText(s, 4, 4);
    const px = ctx.getImageData(0, 0, 48, 48).data;
    let ink = 0;
    for (let i = 3; i < px.length; i += 4) ink += px[i] > 0;
    return {bits: px.join(','), ink};
  };
  const out = [];
  for (const [font, f] of fonts) {
    const chars = [...f.chars];
    await document.fonts.load(font, chars.join('') + '\\u{10FFFD}');
    const tofu = draw(font, '\\u{10FFFD}').bits;
    const missing = chars.filter(c => { const g = draw(font, c); return g.ink === 0 || g.bits === tofu; });
    out.push({font, where: f.where, sample: f.sample, checked: chars.length, missing});
  }
  return {nodes, fonts: out};
}"""


def hangul_problems(page: Page) -> list[str]:
    """Missing Hangul glyphs on the page open in `page`, as sentences; [] if none."""
    page.evaluate("() => document.fonts.ready.then(() => 0)")
    found = page.evaluate(HANGUL_GLYPHS, {"hangul": HANGUL, "perFont": SYLLABLES_PER_FONT})
    if found["nodes"] == 0:
        return ["no Hangul text on the page"]
    return [f"Hangul drawn as empty boxes (tofu): {len(f['missing'])} of {f['checked']} syllables "
            f"({''.join(f['missing'][:8])}) in font {f['font']!r}, e.g. <{f['where']}> "
            f"{f['sample']!r}; no installed font has them (CI installs fonts-nanum)"
            for f in found["fonts"] if f["missing"]]


def redirect(path: Path) -> bool:
    """Jupyter Book's index.html: a stub whose meta refresh sends the reader to the root page."""
    return path.stat().st_size < 1000 and 'http-equiv="Refresh"' in path.read_text(errors="replace")


def korean_pages() -> list[Path]:
    """The built Korean site's pages, except Sphinx's generated ones, redirect stubs and the
    _static etc. folders."""
    if not KO_SITE.is_dir():
        return []
    return sorted(p for p in KO_SITE.rglob("*.html")
                  if p.name not in GENERATED and not redirect(p)
                  and not any(part.startswith("_") for part in p.relative_to(KO_SITE).parts))


PAGES = korean_pages()


def _page_id(html: Path | None) -> str:
    return html.relative_to(KO_SITE).with_suffix("").as_posix() if html else "no-korean-site"


@pytest.fixture(scope="module")
def ko_site() -> str:
    with serve(SITE) as url:
        yield url


@pytest.mark.parametrize("html", PAGES or [None], ids=_page_id)
def test_korean_page(html: Path | None, ko_site: str, page: Page):
    if html is None:
        pytest.skip(f"no Korean site in {KO_SITE.relative_to(ROOT)}: `make book` builds it")
    rel = html.relative_to(SITE).as_posix()
    page.goto(f"{ko_site}/{rel}")
    problems = []
    source = KO_CHAPTERS / f"{html.stem}.ipynb"
    if html.parent == KO_SITE / "chapters" and source.exists():
        executed = executed_notebook(source)
        if executed is None:
            problems.append(f"no executed notebook in the cache for ko/chapters/{source.name}")
        else:
            problems += page_problems(page, executed, load(source), colab_url(source))
    elif page.locator(".math").count():
        typeset(page)
    problems += hangul_problems(page)
    shot = SCREENSHOTS / "ko" / f"{_page_id(html).replace('/', '_')}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=shot, full_page=True)
    if problems:
        pytest.fail(f"{html.relative_to(ROOT)}:\n- " + "\n- ".join(problems), pytrace=False)


# --- The check on synthetic pages: it passes Korean text drawn with a CJK font and fails it
# --- when no font has Hangul. ---

KOREAN_PAGE = """<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><style>
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Arial, sans-serif; }
h1 { font-weight: 700; } code { font-family: monospace; }</style></head><body>
<article class="bd-article"><h1>14 자동부호기</h1>
<p>자동부호기(autoencoder)는 입력을 출력으로 복사하도록 훈련된 신경망이다. 부호 <code>h = f(x)</code>
와 재구축 <code>r = g(h)</code>.</p><p><code>부호기와 복호기</code></p></article></body></html>"""


def fonts_with_hangul() -> list[str]:
    out = subprocess.run(["fc-list", "--format", "%{file}\\n", ":lang=ko"], capture_output=True,
                         text=True, check=True).stdout
    return sorted(set(out.split()))


def problems_of(browser: Browser, directory: Path, html: str) -> list[str]:
    (directory / "page.html").write_text(html, encoding="utf-8")
    tab = new_page(browser, mathjax=False, note=False)
    try:
        with serve(directory) as url:
            tab.goto(f"{url}/page.html")
            return hangul_problems(tab)
    finally:
        tab.context.close()


def test_checks_pass_korean_text_with_a_cjk_font(browser: Browser, tmp_path: Path):
    if shutil.which("fc-list") and not fonts_with_hangul():
        pytest.fail("no installed font has Hangul (`fc-list :lang=ko` is empty): "
                    "`apt-get install fonts-nanum` (.ci/run does)", pytrace=False)
    assert problems_of(browser, tmp_path, KOREAN_PAGE) == []


def test_checks_catch_a_page_without_hangul(browser: Browser, tmp_path: Path):
    assert problems_of(browser, tmp_path, "<html><body><p>English only.</p></body></html>") == [
        "no Hangul text on the page"]


@pytest.fixture
def browser_without_hangul(browser: Browser, tmp_path: Path):
    """Chromium whose fontconfig sees only the installed fonts that have no Hangul (copied by
    link into one folder): what a CI image without a CJK font gives."""
    if not shutil.which("fc-list"):
        pytest.skip("no fc-list (fontconfig) to list the fonts without Hangul")
    every = subprocess.run(["fc-list", "--format", "%{file}\\n"], capture_output=True, text=True,
                           check=True).stdout.split()
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for i, path in enumerate(sorted(set(every) - set(fonts_with_hangul()))):
        (fonts / f"{i}_{Path(path).name}").symlink_to(path)
    assert any(fonts.iterdir()), "no font without Hangul is installed: nothing to fall back on"
    config = tmp_path / "fonts.conf"
    config.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{fonts}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>""")
    other = browser.browser_type.launch(  # the same launch as conftest.py's, another fontconfig
        executable_path=str(CHROMIUM), headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage"],
        env={**os.environ, "FONTCONFIG_FILE": str(config)})
    yield other
    other.close()


def test_checks_catch_tofu_without_a_cjk_font(browser_without_hangul: Browser, tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    problems = problems_of(browser_without_hangul, site, KOREAN_PAGE)
    # The body, the bold heading and the monospace code: three fonts, each drawn as tofu.
    assert len(problems) == 3, problems
    assert all(p.startswith("Hangul drawn as empty boxes (tofu)") for p in problems), problems
    assert any("<h1> '14 자동부호기'" in p for p in problems), problems
