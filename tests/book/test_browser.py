"""Every page of the built book in a real headless Chromium.

For each page: no console errors, no failed or remote requests, every image loaded, every equation typeset,
every internal link and #anchor resolves. Full-page screenshots go to _build/screenshots/.

Run `make book` first; `make test` does both. Without a built book these tests skip, unless
LSTM_COURSE_REQUIRE_BOOK=1 (set by `make test`, so CI fails when the book that should be there is not).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOST = "127.0.0.1"
NOT_BUILT = "the book is not built"
# set by `make test`: the book must have been built, so a missing one is an error, not a skip
REQUIRE_BOOK = os.environ.get("LSTM_COURSE_REQUIRE_BOOK") == "1"


def _require_built_book() -> None:
    """Skip the calling test when the book is not built; fail instead under LSTM_COURSE_REQUIRE_BOOK=1."""
    if (HTML / "index.html").is_file():
        return
    reason = f"{NOT_BUILT}: run `make book` first ({HTML / 'index.html'} is missing)"
    if REQUIRE_BOOK:
        pytest.fail(f"{reason}; LSTM_COURSE_REQUIRE_BOOK=1 says it must be there")
    pytest.skip(reason)


def _pages() -> list[str]:
    """Every HTML page of the build, relative to _build/html (theme assets and sources excluded)."""
    if not (HTML / "index.html").is_file():
        return [NOT_BUILT]
    skip = ("_static/", "_sources/", "_images/", ".jupyter_cache/", "reports/")
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).as_posix().startswith(skip)
    )


class _Ids(HTMLParser):
    """Collects every id and a[name] of a page: the anchors a link's #fragment may target."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if value and (key == "id" or (key == "name" and tag == "a")):
                self.ids.add(value)


@functools.cache
def _anchors(relpath: str) -> frozenset[str]:
    parser = _Ids()
    parser.feed((HTML / relpath).read_text(encoding="utf-8"))
    return frozenset(parser.ids)


class _QuietHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(HTML), **kwargs)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="module")
def server():
    """A local HTTP server over _build/html on 127.0.0.1, in a thread; yields its base URL."""
    _require_built_book()
    httpd = ThreadingHTTPServer((LOCAL_HOST, 0), _QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOCAL_HOST}:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        if os.environ.get("CI") or REQUIRE_BOOK:
            pytest.fail(f"{CHROMIUM} is missing; `make chromium` installs it")
        pytest.skip(f"{CHROMIUM} is missing (run `make chromium`); the browser test needs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageReport:
    """What happened while one page loaded."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.remote: list[str] = []


def _record_http_error(report: PageReport):
    def on_response(response):
        if response.status >= 400:
            report.failed.append(f"{response.url} (HTTP {response.status})")

    return on_response


def _open(browser, url: str, report: PageReport):
    """A fresh context and page that records errors and blocks (and records) any request off 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def route(r):
        parts = urlsplit(r.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != LOCAL_HOST:
            report.remote.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: report.console_errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: report.failed.append(f"{r.url} ({r.failure})"))
    page.on("response", _record_http_error(report))
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return context, page


MATH_STATE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const blocks = Array.from(document.querySelectorAll('span.math, div.math'));
  const raw = blocks.filter(b => !b.querySelector('mjx-container')).map(b => b.textContent.slice(0, 80));
  const prose = document.querySelector('main') || document.body;
  const clone = prose.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight, textarea')
       .forEach(n => n.remove());
  return {count: blocks.length, typeset: document.querySelectorAll('mjx-container').length, raw: raw,
          text: clone.textContent};
}"""

IMAGES = """() => Array.from(document.images)
  .map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}))"""

LINKS = """() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"""


def _link_problems(page_rel: str, base: str, hrefs: list[str]) -> list[str]:
    """Internal links whose file or #anchor does not exist in the build."""
    problems = []
    page_url = urljoin(base, page_rel)
    for href in hrefs:
        if not href or href.startswith(("mailto:", "javascript:", "data:")):
            continue
        target = urlsplit(urljoin(page_url, href))
        if f"{target.scheme}://{target.netloc}/" != base:
            continue  # a link to another site: not loaded, not checked here
        rel = unquote(target.path).lstrip("/")
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        if not (HTML / rel).is_file():
            problems.append(f"{href} -> missing file {rel}")
            continue
        frag = unquote(target.fragment)
        if frag and rel.endswith(".html") and frag not in _anchors(rel):
            problems.append(f"{href} -> no id {frag!r} in {rel}")
    return problems


@pytest.mark.browser
@pytest.mark.parametrize("page_rel", _pages())
def test_page(page_rel, server, browser):
    report = PageReport()
    context, page = _open(browser, server + page_rel, report)
    try:
        math = page.evaluate(MATH_STATE)
        images = page.evaluate(IMAGES)
        hrefs = page.evaluate(LINKS)
        # index.html redirects to the first page: links are resolved from where the browser landed
        landed = urlsplit(page.url).path.lstrip("/") or "index.html"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / (page_rel.replace("/", "__").removesuffix(".html") + ".png")
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()

    problems = []
    problems += [f"console error: {e}" for e in report.console_errors]
    problems += [f"failed request: {f}" for f in report.failed]
    problems += [f"request to a non-local host: {u}" for u in report.remote]
    problems += [f"image not loaded: {i['src']}" for i in images if not i["ok"]]
    if math["count"] and math["typeset"] < math["count"]:
        problems.append(f"{math['count']} maths blocks but {math['typeset']} typeset; raw: {math['raw'][:3]}")
    problems += [
        f"untypeset maths in the text: ...{m.group(0)}..."
        for m in re.finditer(r".{0,30}(\$\$|\\\[|\\\(|\\begin\{).{0,30}", math["text"])
    ]
    problems += [f"broken link: {p}" for p in _link_problems(landed, server, hrefs)]
    assert not problems, f"{page_rel}:\n  " + "\n  ".join(problems)


REMOTE_ASSET = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed|link)\b[^>]*?"  # a tag that loads something
    r"\b(?:src|href|srcset)=[\"'](?:https?:)?//",  # from another host
    re.I,
)
REMOTE_CSS = re.compile(r"(?:url\(|@import)\s*[\"']?(?:https?:)?//", re.I)


def test_no_page_or_stylesheet_references_a_remote_asset():
    """Static check of the files: no script, stylesheet, image, font or frame from another host."""
    _require_built_book()
    problems = []
    for path in HTML.rglob("*.html"):
        for match in REMOTE_ASSET.finditer(path.read_text(encoding="utf-8")):
            problems.append(f"{path.relative_to(HTML)}: {match.group(0)[:120]}")
    for path in HTML.rglob("*.css"):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8", errors="replace"), flags=re.S)
        for match in REMOTE_CSS.finditer(text):
            problems.append(f"{path.relative_to(HTML)}: {match.group(0)}")
    assert not problems, "remote assets:\n  " + "\n  ".join(problems[:20])


# A Markdown table's separator row, |---|---| (or |—|—| once smart quotes have made the dashes an em dash)
MARKDOWN_TABLE_RULE = re.compile(r"^\s*\|(?:\s*(?:—|–|:?-{3,}:?)\s*\|){2,}\s*$")


class _ParagraphLines(HTMLParser):
    """The text of every <p> of a page (outside <pre>), line by line: where Markdown lands when it is rendered
    as CommonMark, which has no tables."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._depth = 0  # open <p> elements
        self._pre = 0  # open <pre> elements
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self._pre += 1
        elif tag == "p":
            self._depth += 1

    def handle_endtag(self, tag):
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        elif tag == "p" and self._depth:
            self._depth -= 1
            if not self._depth:
                self.lines += "".join(self._text).splitlines()
                self._text = []

    def handle_data(self, data):
        if self._depth and not self._pre:
            self._text.append(data)


def raw_markdown_table_rows(page_html: str) -> list[str]:
    """The |---| rows of Markdown tables that reached the page as paragraph text, not as a <table>."""
    parser = _ParagraphLines()
    parser.feed(page_html)
    return [line.strip() for line in parser.lines if MARKDOWN_TABLE_RULE.match(line)]


def test_raw_markdown_table_rows_finds_a_commonmark_rendered_table():
    """What the book made of chapter 4's old Markdown table output (copied from a built page): a paragraph."""
    built = (
        '<div class="cell_output docutils container">\n<p>| | tanh RNN | LSTM |\n|—|—|—|\n'
        "| parameters | 1,602 | 5,730 |\n| accuracy, lag 12+ | 0.51 | 0.97 |</p>\n</div>"
    )
    assert raw_markdown_table_rows(built) == ["|—|—|—|"]
    assert raw_markdown_table_rows("<p>|---|:---:|</p>") == ["|---|:---:|"]
    assert raw_markdown_table_rows("<p>a | b | c is prose</p><pre>|---|---|</pre>") == []
    assert raw_markdown_table_rows("<table><tr><th>|---|---|</th></tr></table>") == []


def test_no_page_shows_a_markdown_table_as_text():
    """A table printed as Markdown renders as CommonMark, which has no tables: the page shows | ... |---|
    text. Tables built in code must be HTML (lstm_course.plot.tables)."""
    _require_built_book()
    problems = []
    for page_rel in _pages():
        rows = raw_markdown_table_rows((HTML / page_rel).read_text(encoding="utf-8"))
        problems += [f"{page_rel}: {row}" for row in rows]
    assert not problems, "Markdown tables shown as text:\n  " + "\n  ".join(problems)


@pytest.mark.browser
def test_search_works_offline(server, browser):
    """Sphinx's client-side search finds a chapter from the local index."""
    report = PageReport()
    context, page = _open(browser, server + "search.html?q=recurrent", report)
    try:
        page.wait_for_selector("#search-results li", timeout=20_000)
        hrefs = "els => els.map(e => e.getAttribute('href'))"
        hits = page.eval_on_selector_all("#search-results li a", hrefs)
    finally:
        context.close()
    assert any("02_rnn" in h for h in hits), hits
    assert not report.console_errors and not report.failed and not report.remote, vars(report)
