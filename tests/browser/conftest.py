"""Fixtures of the browser check: a local HTTP server, Debian's Chromium driven by Playwright, and
pages whose requests to other hosts are aborted (CI is offline), except MathJax, which is served
from the npm copy in node_modules/ (`npm ci --prefix tests/browser`; `make check-site` runs it)."""
from __future__ import annotations

import functools
import sys
import threading
from collections import defaultdict
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright downloads no browser here
# The built pages load MathJax 3 from this prefix (sphinx.ext.mathjax's default URL).
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/"
MATHJAX_DIR = HERE / "node_modules" / "mathjax" / "es5"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# host -> pages that asked it for something; printed at the end of the run.
blocked: dict[str, set[str]] = defaultdict(set)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(directory: Path):
    """Serve `directory` on a free localhost port from a thread; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join()


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not CHROMIUM.exists():
        pytest.fail(f"no {CHROMIUM}: `apt-get install chromium` (.ci/run does)", pytrace=False)
    if not (MATHJAX_DIR / "tex-mml-chtml.js").exists():
        pytest.fail(f"no MathJax in {MATHJAX_DIR}: run `npm ci --prefix tests/browser` "
                    "(`make check-site` does)", pytrace=False)
    with sync_playwright() as pw:  # a container's small /dev/shm crashes Chromium: use /tmp
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


def _is_remote(url: str) -> bool:
    return urlsplit(url).hostname not in LOCAL_HOSTS


def new_page(browser: Browser, mathjax: bool = True, note: bool = True) -> Page:
    """A page in a fresh context: MathJax comes from MATHJAX_DIR (unless `mathjax` is False),
    every other request to a non-localhost host is aborted (and noted in `blocked` if `note`)."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

    def handle(route: Route) -> None:
        url = route.request.url
        if mathjax and url.startswith(MATHJAX_CDN):
            path = (MATHJAX_DIR / urlsplit(url).path.removeprefix(urlsplit(MATHJAX_CDN).path))
            if path.resolve().is_relative_to(MATHJAX_DIR) and path.is_file():
                return route.fulfill(path=path)
            return route.fulfill(status=404)
        if note:
            blocked[urlsplit(url).hostname].add(page.url.rsplit("/", 1)[-1])
        return route.abort()

    page.context.route(_is_remote, handle)
    return page


@pytest.fixture
def page(browser: Browser):
    page = new_page(browser)
    yield page
    page.context.close()


def pytest_terminal_summary(terminalreporter) -> None:
    # rows of test_explorers' checks (when it ran), shown even when they pass
    SUMMARY = getattr(sys.modules.get("test_explorers"), "SUMMARY", [])
    if SUMMARY:
        terminalreporter.section("live explorers: page weight, median update, largest difference from Python")
        for row in SUMMARY:
            terminalreporter.write_line(row)
    if blocked:
        terminalreporter.section("requests to other hosts, aborted (CI is offline)")
        for host, pages in sorted(blocked.items()):
            names = ", ".join(sorted(pages))
            terminalreporter.write_line(f"{host}: from {len(pages)} page(s): {names}")
