"""A real browser (Chromium via Playwright) against real servers on 127.0.0.1.

Development: the page is styled and scripted, a CSS save swaps the stylesheet in place
(no navigation), a compile error shows the overlay until fixed, a JS save reloads.
Production: a built tree with auto-build off serves minified bundles that work.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import build_project, read_manifest
from flask import Flask, Response
from playwright.sync_api import Browser, Page, sync_playwright
from test_parser_minifiers import computed_styles

from app.assets.cssparse import check_css
from app.assets.minifiers import MinifyOptions, minify

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
GREEN = "rgb(46, 125, 50)"  # $brand in _variables.scss
BLUE = "rgb(21, 101, 192)"  # #1565c0, the edit
RECEIPT = "Total:   3   items\nSlugs:   green-tea,earl-grey,oolong"
HEADER_BG = "getComputedStyle(document.querySelector('header.site-header')).backgroundColor"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=BROWSER_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        pw.stop()


class Tab:
    """One page, with the JavaScript errors it raised."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function("document.documentElement.dataset.js === 'ready'")

    def header_bg(self) -> str:
        return self.page.evaluate(HEADER_BG)


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield Tab(page)
    finally:
        context.close()


@pytest.fixture
def dev_url(
    project: Path, make_app: Callable[..., Flask], live_server: Callable[[Flask], str]
) -> str:
    app = make_app(project, ASSETS_AUTO_BUILD=True, ASSETS_LIVE_RELOAD=True, DEBUG=True)
    return live_server(app)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def assert_styled_and_scripted(tab: Tab) -> None:
    assert tab.header_bg() == GREEN
    assert tab.page.text_content("#js-status") == "JS ready"
    assert tab.page.text_content("#receipt") == RECEIPT  # template-literal spaces survived


def listening(tab: Tab) -> None:
    """Wait until the live-reload client runs and the event stream has polled once."""
    tab.page.wait_for_selector("script[data-assets-live]", state="attached")
    # The stream records the current URLs on its first poll (every 0.25 s); a save
    # before that would be its baseline, not a change.
    tab.page.wait_for_timeout(1000)


def test_dev_page_is_styled_and_scripted(tab: Tab, dev_url: str) -> None:
    tab.open(dev_url + "/")
    assert_styled_and_scripted(tab)
    assert tab.page.locator("script[data-assets-live]").count() == 1
    assert tab.page.locator("#assets-error-overlay").count() == 0
    assert tab.errors == []


def test_css_edit_restyles_without_navigation(tab: Tab, dev_url: str, project: Path) -> None:
    tab.open(dev_url + "/")
    assert tab.header_bg() == GREEN
    listening(tab)
    tab.page.evaluate("window.__marker = 1")
    edit(project / "static/scss/_variables.scss", "$brand: #2e7d32;", "$brand: #1565c0;")
    tab.page.wait_for_function(f"{HEADER_BG} === '{BLUE}'")
    assert tab.page.evaluate("window.__marker") == 1, "the page navigated"
    # $brand is in css_all and css_gallery: one swap event each, only css_all is linked here.
    assert tab.page.evaluate("document.documentElement.dataset.assetsCssSwaps") in ("1", "2")
    tab.page.wait_for_function(
        "document.querySelectorAll('link[rel=stylesheet][data-bundle=css_all]').length === 1"
    )
    assert tab.errors == []


def test_compile_error_shows_overlay_until_fixed(tab: Tab, dev_url: str, project: Path) -> None:
    variables = project / "static/scss/_variables.scss"
    tab.open(dev_url + "/")
    listening(tab)
    tab.page.evaluate("window.__marker = 1")
    edit(variables, "$radius: 6px;", "$radius: 6px;\n$broken: 1px !;")
    line = variables.read_text().splitlines().index("$broken: 1px !;") + 1

    overlay = tab.page.locator("#assets-error-overlay")
    overlay.wait_for(state="visible")  # pushed over the event stream
    assert re.search(rf"_variables\.scss:{line}\b", overlay.inner_text()), overlay.inner_text()
    assert tab.page.evaluate("window.__marker") == 1, "the page navigated"
    assert tab.header_bg() == GREEN  # the last good stylesheet still applies

    tab.page.reload()  # a page loaded while broken: the server renders the overlay
    assert tab.page.locator("header.site-header").count() == 1, "page markup was escaped"
    tab.page.wait_for_function("document.documentElement.dataset.js === 'ready'")
    overlay.wait_for(state="visible")
    assert re.search(rf"_variables\.scss:{line}\b", overlay.inner_text()), overlay.inner_text()
    assert_styled_and_scripted(tab)  # the page around the overlay is intact

    listening(tab)
    edit(variables, "\n$broken: 1px !;", "")
    overlay.wait_for(state="detached")
    assert tab.header_bg() == GREEN


def test_js_edit_reloads_the_page(tab: Tab, dev_url: str, project: Path) -> None:
    tab.open(dev_url + "/")
    listening(tab)
    tab.page.evaluate("window.__marker = 1")
    edit(project / "static/js/main.js", '"JS ready"', '"JS ready again"')
    tab.page.wait_for_function(
        "document.getElementById('js-status').textContent === 'JS ready again'"
    )
    assert tab.page.evaluate("window.__marker") is None, "the page was not reloaded"
    assert tab.page.text_content("#receipt") == RECEIPT
    assert tab.header_bg() == GREEN
    assert tab.errors == []


def test_production_build_serves_working_minified_bundles(
    tab: Tab,
    project: Path,
    make_app: Callable[..., Flask],
    live_server: Callable[[Flask], str],
) -> None:
    build_project(project)
    app = make_app(project, ASSETS_AUTO_BUILD=False)
    base = live_server(app)
    tab.open(base + "/")
    assert_styled_and_scripted(tab)
    assert tab.page.locator("script[data-assets-live]").count() == 0

    bundles = read_manifest(project)["bundles"]
    css = tab.page.get_attribute("link[rel=stylesheet][integrity]", "href")
    js = tab.page.get_attribute("script[integrity]", "src")
    assert css == bundles["css_all"]["url"] and js == bundles["js_all"]["url"]
    for url in (css, js):
        body = tab.page.request.get(base + url).text()
        assert "\n  " not in body and "sourceMappingURL" not in body, f"{url} is not minified"
    assert tab.errors == []  # an integrity mismatch would be a console error


def test_overlay_and_live_reload_work_under_a_strict_csp(
    browser: Browser,
    project: Path,
    make_app: Callable[..., Flask],
    live_server: Callable[[Flask], str],
) -> None:
    """No inline script anywhere: a site with ``script-src 'self'`` keeps its dev tools."""
    app = make_app(project, ASSETS_AUTO_BUILD=True, ASSETS_LIVE_RELOAD=True, DEBUG=True)

    @app.after_request
    def csp(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = "script-src 'self'"
        return response

    base = live_server(app)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(msg.text))
    tab = Tab(page)
    variables = project / "static/scss/_variables.scss"

    def until(expression: str) -> None:
        # Polled from here: wait_for_function evaluates strings, which this CSP forbids.
        deadline = time.monotonic() + 10
        while not page.evaluate(expression):
            assert time.monotonic() < deadline, expression
            time.sleep(0.05)

    try:
        page.goto(base + "/")
        until("document.documentElement.dataset.js === 'ready'")
        listening(tab)
        edit(variables, "$radius: 6px;", "$radius: 6px;\n$x: 1 !;")
        overlay = page.locator("#assets-error-overlay")
        overlay.wait_for(state="visible")
        edit(variables, "\n$x: 1 !;", "")
        overlay.wait_for(state="detached")
        edit(variables, "$brand: #2e7d32;", "$brand: #1565c0;")
        until(f"{HEADER_BG} === '{BLUE}'")
        edit(variables, "$radius: 6px;", "$radius: 6px;\n$x: 1 !;")
        page.reload()  # the overlay rendered by the server, under the same policy
        overlay.wait_for(state="visible")
        until("document.documentElement.dataset.js === 'ready'")
    finally:
        context.close()
    assert not [m for m in messages if "Content Security Policy" in m], messages
    assert tab.errors == []


def test_about_pages_preload_is_used_not_fetched_twice(
    tab: Tab,
    project: Path,
    make_app: Callable[..., Flask],
    live_server: Callable[[Flask], str],
) -> None:
    build_project(project)
    base = live_server(make_app(project, ASSETS_AUTO_BUILD=False))
    messages: list[str] = []
    tab.page.on("console", lambda msg: messages.append(msg.text))
    requests: list[str] = []
    tab.page.on("request", lambda req: requests.append(req.url))
    tab.open(base + "/about")
    tab.page.wait_for_timeout(500)
    js = read_manifest(project)["bundles"]["js_all"]["url"]
    assert requests.count(base + js) == 1, requests
    assert not [m for m in messages if "preload" in m.lower()], messages
    assert tab.errors == []


# --- Minified CSS (tests/test_parser_minifiers.py has the sample page and the rest)


@pytest.mark.parametrize(
    ("engine", "browsers"),
    [
        ("minify", ()),
        ("lightningcss", ()),
        ("lightningcss", ("defaults",)),
        ("lightningcss", ("safari 12", "chrome 80")),
    ],
)
def test_minified_bootstrap_styles_the_page_the_same(
    engine: str, browsers: tuple[str, ...], browser: Browser
) -> None:
    from test_minify import _load_ensure_corpus

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    source = (_load_ensure_corpus()() / "bootstrap/dist/css/bootstrap.css").read_text()
    out = minify(source, engine, "css", MinifyOptions(browsers=browsers))
    assert len(out) < 0.9 * len(source)  # prefixes for old targets cost a little
    check_css(out)
    expected = computed_styles(page, source)
    assert len(expected) > 40
    assert computed_styles(page, out) == expected
    page.close()
