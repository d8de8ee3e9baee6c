"""The development loop: rebuild on demand, error overlay, live-reload events.

Every test works on a tmp copy of the project (the ``project`` fixture); real servers
are werkzeug's threaded server on 127.0.0.1 (the ``live_server`` fixture).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import build_project, read_manifest, run_flask, sri
from flask import Flask, render_template_string

from app.assets.cli import assets
from app.assets.resolvers import dynamic as resolver_mod

TAG = re.compile(r"<(?:link|script)\b[^>]*>")
ATTR = re.compile(r'([\w-]+)="([^"]*)"')
OVERLAY = re.compile(r'<div id="assets-error-overlay".*?</div>', re.DOTALL)
MAP = re.compile(
    r"/\*# sourceMappingURL=data:application/json;(?:charset=[\w-]+;)?base64,(\S+) \*/"
)
PAGES = ("/", "/about", "/gallery")


def bundle_tags(html: str) -> dict[str, dict[str, str]]:
    """``{bundle: {"url": ..., "integrity": ...}}`` for every tag the pipeline emitted."""
    out = {}
    for tag in TAG.findall(html):
        attrs = dict(ATTR.findall(tag))
        if "data-bundle" in attrs:
            url = attrs.get("href") or attrs["src"]
            out[attrs["data-bundle"]] = {"url": url, "integrity": attrs.get("integrity", "")}
    return out


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


class Site:
    """A dev app and its test client, with the questions the tests ask."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()

    @property
    def rebuilds(self) -> int:
        return self.app.extensions["assets"].resolver.rebuilds

    def page(self, path: str = "/") -> str:
        resp = self.client.get(path)
        assert resp.status_code == 200, resp.status_code
        return resp.get_data(as_text=True)

    def bundles(self, path: str = "/") -> dict[str, dict[str, str]]:
        return bundle_tags(self.page(path))

    def fetch(self, url: str) -> bytes:
        resp = self.client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        return resp.get_data()

    def css(self, path: str = "/") -> tuple[str, str]:
        """(URL, text) of css_all as the page links it."""
        url = self.bundles(path)["css_all"]["url"]
        return url, self.fetch(url).decode()


@pytest.fixture
def site(project: Path, make_app: Callable[..., Flask]) -> Site:
    return Site(make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True))


def scss(project: Path, name: str) -> Path:
    return project / "static" / "scss" / name


# --- rebuild on demand ----------------------------------------------------------------


def test_partial_edit_serves_new_css_then_idle_requests_do_not_rebuild(
    site: Site, project: Path
) -> None:
    assert "depends" not in (project / "assets.yml").read_text()  # found by the compile alone
    for path in PAGES:
        site.page(path)  # every bundle built once
    url1, css1 = site.css()
    assert ".btn {\n  display: inline-block;" in css1

    replace(scss(project, "_buttons.scss"), "display: inline-block;", "display: inline-flex;")
    url2, css2 = site.css()
    assert url2 != url1
    assert ".btn {\n  display: inline-flex;" in css2
    assert ".btn {\n  display: inline-block;" not in css2

    rebuilds = site.rebuilds
    for path in PAGES:
        tags = site.bundles(path)
        assert tags["css_all"]["url"] == url2
    assert site.rebuilds == rebuilds, "an untouched request rebuilt a bundle"


def test_only_the_changed_bundle_is_rebuilt(site: Site, project: Path) -> None:
    before = site.bundles("/gallery")
    rebuilds = site.rebuilds
    replace(scss(project, "_buttons.scss"), "font-weight: bold;", "font-weight: 600;")
    after = site.bundles("/gallery")
    assert after["css_all"]["url"] != before["css_all"]["url"]
    for name in ("js_all", "css_gallery", "js_gallery"):
        assert after[name] == before[name], name
    assert site.rebuilds == rebuilds + 1


def test_saves_do_not_pile_up_outputs_but_recent_urls_keep_working(
    site: Site, project: Path
) -> None:
    from app.assets.resolvers.dev_outputs import DEV_KEEP

    buttons = scss(project, "_buttons.scss")
    urls = [site.css()[0]]
    for i in range(DEV_KEEP + 3):
        replace(buttons, "border-radius:", f"outline-offset: {i}px;\n  border-radius:")
        urls.append(site.css()[0])
    assert len(set(urls)) == len(urls)  # every save gave a new URL
    dev = project / "static" / "gen" / "dev"
    css_files = sorted(p.name for p in dev.glob("app.*.css"))
    assert len(css_files) == DEV_KEEP
    for url in urls[-DEV_KEEP:]:  # pages rendered just before a save still load
        site.fetch(url)
    assert site.client.get(urls[0]).status_code == 404
    # Other bundles were left alone.
    assert len(list(dev.glob("app.*.js"))) == 1


def test_same_second_same_size_edits_are_detected(site: Site, project: Path) -> None:
    """Six saves right after a build, each keeping the size and (worst case) the mtime."""
    variables = scss(project, "_variables.scss")
    replace(variables, "$accent: #f9a825;", "$accent: #f9a82f;")  # a save, then a build
    _, css = site.css()
    assert "background-color: #f9a82f" in css
    color = "#f9a82f"
    for digit in "012345":
        new = f"#f9a82{digit}"
        before = variables.stat()
        replace(variables, f"$accent: {color};", f"$accent: {new};")
        # A file system with coarse timestamps (or two saves in one kernel tick) gives
        # the second save the same mtime: only the content tells them apart.
        os.utime(variables, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = variables.stat()
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        _, css = site.css()
        assert f"background-color: {new}" in css, f"edit {digit} not picked up"
        color = new


def test_save_landing_during_a_compile_is_not_lost(
    site: Site, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save that lands while a rebuild compiles (format-on-save, two quick saves, the
    live-reload poller compiling between them) must be picked up by the next request."""
    buttons = scss(project, "_buttons.scss")
    site.css()
    real_compile = resolver_mod.compile_bundle
    saves = ["display: inline-flex;"]

    def compile_then_save(*args: Any, **kwargs: Any) -> Any:
        compiled = real_compile(*args, **kwargs)
        if saves:  # the compile has read the sources; the editor saves again now
            replace(buttons, "display: inline-grid;", saves.pop())
        return compiled

    monkeypatch.setattr(resolver_mod, "compile_bundle", compile_then_save)
    replace(buttons, "display: inline-block;", "display: inline-grid;")
    _, css = site.css()
    assert ".btn {\n  display: inline-grid;" in css  # what the compile read
    _, css = site.css()
    assert ".btn {\n  display: inline-flex;" in css, "the save made during the compile was lost"


def test_assets_yml_edit_takes_effect_without_restart(site: Site, project: Path) -> None:
    _, css = site.css()
    assert ".gallery-grid" not in css
    config = project / "assets.yml"
    # gallery.scss is written with @use: libsass refuses it, so css_all moves to dartsass.
    replace(
        config,
        "contents: [scss/main.scss]\n  filters: libsass",
        "contents: [scss/main.scss, scss/gallery.scss]\n  filters: dartsass",
    )
    config.write_text(
        config.read_text()
        + "\ncss_extra:\n  contents: [scss/gallery.scss]\n  filters: dartsass\n"
        + "  output: gen/extra.css\n"
    )
    _, css = site.css()
    assert ".gallery-grid" in css and "header.site-header" in css
    with site.app.test_request_context("/"):
        url = render_template_string('{{ bundle_url("css_extra") }}')
    assert url.startswith("/static/gen/dev/extra.") and url.endswith(".css")
    assert b".gallery-grid" in site.fetch(url)


# --- dev vs production output ----------------------------------------------------------


def test_dev_builds_are_unminified_with_source_map_and_cli_build_stays_minified(
    site: Site, project: Path
) -> None:
    assert site.app.debug and site.app.extensions["assets"].settings.debug
    tags = site.bundles()
    css = site.fetch(tags["css_all"]["url"]).decode()
    assert "\n  display: inline-block;\n" in css  # expanded, not minified
    m = MAP.search(css)
    assert m, "no embedded source map in the dev CSS"
    smap = json.loads(base64.b64decode(m.group(1)))
    names = [Path(s).name for s in smap["sources"]]
    assert "_buttons.scss" in names and "_components.scss" in names, names
    js = site.fetch(tags["js_all"]["url"]).decode()
    assert "// main.js: page bootstrap" in js  # comments kept: unminified

    # The CLI build is the production build, even with FLASK_DEBUG set in the shell.
    done = run_flask(project, "assets", "build", timeout=60, FLASK_DEBUG="1")
    assert done.returncode == 0, done.stderr
    bundles = read_manifest(project)["bundles"]
    gen = project / "static"
    prod_css = (gen / bundles["css_all"]["file"]).read_text()
    prod_js = (gen / bundles["js_all"]["file"]).read_text()
    assert "sourceMappingURL" not in prod_css
    assert "\n  " not in prod_css and len(prod_css) < len(css) // 2
    assert ".btn{" in prod_css.replace(" ", "")
    assert "// main.js" not in prod_js and len(prod_js) < len(js)


# --- error overlay ---------------------------------------------------------------------


def overlay(html: str) -> str | None:
    m = OVERLAY.search(html)
    return m.group(0) if m else None


def assert_page_intact(html: str) -> None:
    """The overlay is added to the page; the page itself must stay HTML, not text."""
    assert '<header class="site-header">' in html, "page markup was escaped"
    assert "&lt;" not in html, "page markup was escaped around the overlay"


def test_scss_syntax_error_shows_overlay_keeps_last_good_css_logs_once(
    site: Site, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="app.assets")
    buttons = scss(project, "_buttons.scss")
    good_url, good_css = site.css()

    replace(buttons, "  text-decoration: none;\n", "  text-decoration: none;\n  width: 10px !;\n")
    line = line_of(buttons, "width: 10px !;")
    for _ in range(3):
        html = site.page()
        box = overlay(html)
        assert box is not None, "no error overlay in the page"
        assert re.search(rf"_buttons\.scss:{line}\b", box), box
        assert "css_all" in box
        assert_page_intact(html)
        assert bundle_tags(html)["css_all"]["url"] == good_url
        assert site.fetch(good_url).decode() == good_css
    logged = [r for r in caplog.records if r.name == "app.assets" and "_buttons.scss" in r.message]
    assert len(logged) == 1, [r.message for r in logged]

    replace(buttons, "  width: 10px !;\n", "  width: 10px;\n")
    html = site.page()
    assert overlay(html) is None
    url, css = site.css()
    assert url != good_url and "width: 10px;" in css


def test_missing_import_shows_overlay_until_fixed(site: Site, project: Path) -> None:
    components = scss(project, "_components.scss")
    good_url, _ = site.css()
    replace(components, '@import "buttons";', '@import "buttons";\n@import "no-such-partial";')
    line = line_of(components, "no-such-partial")
    html = site.page()
    box = overlay(html)
    assert box is not None, "no error overlay for a missing import"
    assert re.search(rf"_components\.scss:{line}\b", box) and "no-such-partial" in box, box
    assert_page_intact(html)
    assert bundle_tags(html)["css_all"]["url"] == good_url

    replace(components, '\n@import "no-such-partial";', "")
    assert overlay(site.page()) is None


def test_invalid_assets_yml_shows_overlay_until_fixed(site: Site, project: Path) -> None:
    config = project / "assets.yml"
    good = site.bundles()
    replace(config, "filters: libsass,cssmin", "filters: libsass,no_such_filter")
    line = line_of(config, "no_such_filter")
    html = site.page()
    box = overlay(html)
    assert box is not None, "no error overlay for an invalid assets.yml"
    assert re.search(rf"assets\.yml:{line}\b", box) and "no_such_filter" in box, box
    assert_page_intact(html)
    assert bundle_tags(html) == good  # the last good declarations keep serving

    replace(config, "filters: libsass,no_such_filter", "filters: libsass,cssmin")
    html = site.page()
    assert overlay(html) is None
    assert bundle_tags(html) == good


def test_vanished_js_source_shows_overlay_naming_it_until_restored(
    site: Site, project: Path
) -> None:
    site.page()
    main = project / "static" / "js" / "main.js"
    kept = main.read_bytes()
    main.unlink()
    html = site.page()
    box = overlay(html)
    assert box is not None, "no overlay for a deleted source"
    assert "assets.yml" in box and "js/main.js" in box and "js_all" in box
    main.write_bytes(kept)
    assert overlay(site.page()) is None


def test_new_file_matching_a_glob_joins_its_bundle_without_restart(
    site: Site, project: Path
) -> None:
    config = project / "assets.yml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + "\njs_widgets:\n  contents: [js/widgets/*.js]\n  filters: jsmin\n  output: gen/w.js\n"
    )
    widgets = project / "static" / "js" / "widgets"
    widgets.mkdir()
    (widgets / "a.js").write_text("window.widgetA = 1;\n")
    page = "{{ bundle_url('js_widgets') }}"
    with site.app.test_request_context("/"):
        first = render_template_string(page)
    assert b"widgetA" in site.fetch(first)
    (widgets / "b.js").write_text("window.widgetB = 2;\n")
    with site.app.test_request_context("/"):
        second = render_template_string(page)
    assert second != first
    body = site.fetch(second)
    assert b"widgetA" in body and b"widgetB" in body


@pytest.mark.parametrize("path", PAGES)
def test_bundle_that_never_built_shows_overlay_not_500(
    project: Path, make_app: Callable[..., Flask], path: str
) -> None:
    """Every page, including /about's Flask-Assets ``{% assets "js_all" %}`` tag."""
    (project / "static" / "js" / "main.js").write_bytes(b"var s = '\xff\xfe';\n")
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    html = Site(app).page(path)
    box = overlay(html)
    assert box is not None and "js_all" in box, "no overlay for a bundle that failed to build"
    assert_page_intact(html)


# --- live reload -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status"),
    [("debug", 200), ("live reload off", 404), ("production", 404)],
)
def test_live_reload_endpoints_exist_only_in_debug(
    project: Path, make_app: Callable[..., Flask], mode: str, status: int
) -> None:
    if mode == "debug":
        app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    elif mode == "live reload off":
        app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True, ASSETS_LIVE_RELOAD=False)
    else:
        build_project(project)
        app = make_app(project, ASSETS_AUTO_BUILD=False)
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert ('<script src="/__assets/client.js"' in html) == (status == 200)
    assert bundle_tags(html) or 'rel="stylesheet"' in html

    script = client.get("/__assets/client.js")
    assert script.status_code == status
    if status == 200:
        assert script.mimetype == "text/javascript"
        assert b'new EventSource("/__assets/events")' in script.data
    events = client.get("/__assets/events", buffered=False)
    try:
        assert events.status_code == status
        if status == 200:
            assert events.mimetype == "text/event-stream"
            assert next(iter(events.response)).startswith(b"retry:")
    finally:
        events.close()


class EventStream:
    """Read server-sent events from a real server, each read bounded by a timeout."""

    def __init__(self, base: str, timeout: float = 5.0) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.conn.request("GET", "/__assets/events")
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        assert self.resp.getheader("Content-Type", "").startswith("text/event-stream")

    def next_event(self, deadline: float) -> tuple[str, dict[str, Any]]:
        kind, data = "message", ""
        while time.monotonic() < deadline:
            line = self.resp.readline().decode()
            if not line:
                raise AssertionError("event stream closed")
            line = line.rstrip("\r\n")
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data += line.partition(":")[2].strip()
            elif line == "" and data:
                return kind, json.loads(data)
        raise AssertionError("no event before the deadline")

    def wait_for(self, kind: str, seconds: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        seen = []
        while True:
            try:
                got, data = self.next_event(deadline)
            except (TimeoutError, AssertionError) as exc:
                raise AssertionError(f"no '{kind}' event within {seconds}s; saw {seen}") from exc
            if got == kind:
                return data
            seen.append(got)

    def first_pass(self, seconds: float = 5.0) -> None:
        """Wait for the stream's first ping: it comes after the pass that records the
        current URLs, so a save from here on is a change to it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            line = self.resp.readline()
            if not line:
                raise AssertionError("event stream closed")
            if line.startswith(b": ping"):
                return
        raise AssertionError("no first pass before the deadline")

    def close(self) -> None:
        self.resp.close()  # the response holds its own reference to the socket
        self.conn.close()


def test_event_stream_announces_css_rebuild_and_errors(
    project: Path, make_app: Callable[..., Flask], live_server: Callable[[Flask], str]
) -> None:
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    base = live_server(app)
    page = Site(app)
    old = page.bundles()
    stream = EventStream(base)
    try:
        assert stream.resp.readline().startswith(b"retry:")
        stream.first_pass()
        buttons = scss(project, "_buttons.scss")
        replace(buttons, "display: inline-block;", "display: inline-flex;")
        data = stream.wait_for("css")
        new = page.bundles()  # no page request was needed for the rebuild
        assert data["bundle"] == "css_all"
        assert data["url"] == new["css_all"]["url"] != old["css_all"]["url"]
        assert data["integrity"] == new["css_all"]["integrity"]

        replace(
            buttons, "  text-decoration: none;\n", "  text-decoration: none;\n  width: 1px !;\n"
        )
        errors = stream.wait_for("error")["errors"]
        assert len(errors) == 1 and errors[0]["file"].endswith("_buttons.scss")
        assert errors[0]["line"] == line_of(buttons, "width: 1px !;")
        replace(buttons, "  width: 1px !;\n", "")
        assert stream.wait_for("ok")["errors"] == []
    finally:
        stream.close()


def test_event_stream_reacts_to_file_events_not_its_poll(
    project: Path, make_app: Callable[..., Flask], live_server: Callable[[Flask], str]
) -> None:
    """Saves wake the stream through watchdog: the css event beats the 1 s safety poll."""
    from app.assets import dev

    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    base = live_server(app)
    Site(app).page()
    stream = EventStream(base)
    buttons = scss(project, "_buttons.scss")
    try:
        assert stream.resp.readline().startswith(b"retry:")
        stream.first_pass()
        delays = []
        for i in range(3):
            time.sleep(0.05)  # just after the last pass: the next poll is ~1 s away
            replace(buttons, "border-radius:", f"outline-offset: {i}px;\n  border-radius:")
            saved = time.monotonic()
            stream.wait_for("css")
            delays.append(time.monotonic() - saved)
        assert sorted(delays)[1] < dev.POLL_SECONDS * 0.4, delays
    finally:
        stream.close()
    tools = app.extensions["assets_dev"]
    deadline = time.monotonic() + 3 * dev.POLL_SECONDS
    while tools.watching and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not tools.watching, "the file watcher outlived the last stream"


def test_a_save_rebuilds_and_announces_css_while_the_compiles_reads_stay_unseen(
    project: Path,
    make_app: Callable[..., Flask],
    live_server: Callable[[Flask], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stream builds on the file event (no page request), and its watcher is woken by
    saves only: the compile's reads of every source never reach it."""
    from app.assets.watch import SaveTracker

    seen: list[tuple[str, str]] = []
    on_any_event = SaveTracker.on_any_event

    def recording(self: SaveTracker, event: Any) -> None:
        seen.append((event.event_type, os.path.basename(event.src_path)))
        on_any_event(self, event)

    monkeypatch.setattr(SaveTracker, "on_any_event", recording)
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    base = live_server(app)
    site = Site(app)
    old = site.bundles()["css_all"]["url"]
    stream = EventStream(base)
    buttons = scss(project, "_buttons.scss")
    marker = project / "static" / "img" / "marker.txt"
    try:
        assert stream.resp.readline().startswith(b"retry:")
        stream.first_pass()
        before = site.rebuilds
        for i in range(2):
            replace(buttons, "border-radius:", f"outline-offset: {i}px;\n  border-radius:")
            assert stream.wait_for("css")["bundle"] == "css_all"
        assert site.rebuilds == before + 2  # built by the stream: no page was requested
        # Events arrive in order: once this write is seen, so is every read before it.
        marker.write_text("x")
        deadline = time.monotonic() + 5.0
        while ("closed", marker.name) not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stream.close()
    assert ("closed", marker.name) in seen, seen
    assert ("closed", buttons.name) in seen
    assert not {kind for kind, _ in seen} & {"opened", "closed_no_write"}, seen
    assert site.bundles()["css_all"]["url"] != old


def test_event_stream_frees_its_server_thread_when_the_client_leaves(
    project: Path, make_app: Callable[..., Flask], live_server: Callable[[Flask], str]
) -> None:
    """Each reload of a page (every JS save) drops a stream; the server must notice
    rather than keep a polling thread per closed stream for the stream's lifetime."""
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    base = live_server(app)
    Site(app).page()  # built
    before = set(threading.enumerate())
    for _ in range(3):
        stream = EventStream(base)
        assert stream.resp.readline().startswith(b"retry:")
        stream.close()
    deadline = time.monotonic() + 3.0
    while True:
        left = [
            t
            for t in threading.enumerate()
            if t not in before and t.name.endswith("(process_request_thread)")
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == [], f"{len(left)} stream thread(s) still running 3 s after their clients left"


# --- concurrency -----------------------------------------------------------------------


def test_request_storm_while_a_partial_is_rewritten(
    project: Path, make_app: Callable[..., Flask], live_server: Callable[[Flask], str]
) -> None:
    """8 threads x 50 pages (+ every bundle each links) while _buttons.scss changes every
    100 ms: every response is a 200 and every bundle body matches its page's integrity."""
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    parts = urlsplit(live_server(app))
    buttons = scss(project, "_buttons.scss")
    original = buttons.read_text()
    variants = [original.replace("+ 2px", f"+ {n}px") for n in (3, 4)]
    assert variants[0] != original
    stop = threading.Event()
    errors: list[str] = []
    css_urls: set[str] = set()
    lock = threading.Lock()
    counts = {"pages": 0, "bundles": 0}

    def rewrite() -> None:
        n = 0
        while not stop.wait(0.1):
            buttons.write_text(variants[n % 2])
            n += 1

    def worker(w: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)

        def get(url: str) -> tuple[int, bytes]:
            conn.request("GET", url)
            resp = conn.getresponse()
            return resp.status, resp.read()

        try:
            for i in range(50):
                path = PAGES[(w + i) % len(PAGES)]
                status, body = get(path)
                if status != 200:
                    with lock:
                        errors.append(f"{path}: {status}")
                    continue
                tags = bundle_tags(body.decode())
                if len(tags) < 2:
                    with lock:
                        errors.append(f"{path}: bundles missing: {sorted(tags)}")
                for name, tag in tags.items():
                    status, data = get(tag["url"])
                    problem = None
                    if status != 200:
                        problem = f"status {status}"
                    elif not data:
                        problem = "empty body"
                    elif sri(data) != tag["integrity"]:
                        problem = f"body ({len(data)} B) does not match the page's integrity"
                    with lock:
                        counts["bundles"] += 1
                        if name == "css_all":
                            css_urls.add(tag["url"])
                        if problem:
                            errors.append(f"{path} -> {name} {tag['url']}: {problem}")
                with lock:
                    counts["pages"] += 1
        except Exception as exc:  # a dropped connection or a timeout is a failure too
            with lock:
                errors.append(f"worker {w}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()

    rebuilds = app.extensions["assets"].resolver.rebuilds
    writer = threading.Thread(target=rewrite, daemon=True)
    workers = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(8)]
    started = time.monotonic()
    writer.start()
    for t in workers:
        t.start()
    try:
        for t in workers:
            t.join(timeout=max(0.1, 60 - (time.monotonic() - started)))
    finally:
        stop.set()
        writer.join(timeout=5)
    assert not any(t.is_alive() for t in workers), "storm did not finish within 60 s"
    assert errors == [], f"{len(errors)} errors, first: {errors[:5]}"
    assert counts["pages"] == 400 and counts["bundles"] >= 800, counts
    assert app.extensions["assets"].resolver.rebuilds - rebuilds >= 3, "no rebuild happened"
    assert len(css_urls) >= 2, "the storm never saw a rebuilt stylesheet"


# --- the real `flask run --debug`, reloader and all --------------------------------------


def test_flask_run_debug_serves_saves_and_idles_quietly(project: Path) -> None:
    """As a user runs it: werkzeug's reloader (on watchdog) plus our auto-build.

    watchdog 7.1.0 sent that reloader into an endless inotify-overflow loop (a core
    at 100 %, a warning many times a second), and 7.0.0 never matched werkzeug's
    ``*.py`` pattern, so Python edits never reloaded: pyproject excludes both.
    """
    import shutil
    import subprocess
    import sys
    import urllib.request

    from conftest import REPO, flask_env, free_port, stop_process

    # Our own copy of the package, so the test can edit a view as a user would.
    shutil.copytree(REPO / "app", project / "app", ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "run", "--debug", "--port", str(port)],
        cwd=project,
        env=flask_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def get(path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.read().decode()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = get("/")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server never came up"
                time.sleep(0.2)
        before = bundle_tags(page)["css_all"]["url"]
        replace(scss(project, "_buttons.scss"), "display: inline-block;", "display: inline-flex;")
        after = bundle_tags(get("/"))["css_all"]["url"]
        assert after != before
        assert ".btn {\n  display: inline-flex;" in get(urlsplit(after).path)
        assert "Gyokuro" not in page
        views = project / "app" / "views.py"
        views.write_text(views.read_text().replace('"Sencha"', '"Gyokuro"'))
        deadline = time.monotonic() + 30
        while True:  # the reloader restarts the server: wait for the new text
            try:
                if "Gyokuro" in get("/"):
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "no reload"
            time.sleep(0.2)
        time.sleep(3)  # idle, with the reloader watching
    finally:
        stop_process(proc)  # type: ignore[arg-type]
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "Restarting with" in out, out
    assert "Detected change in" in out and "views.py" in out, out
    assert "overflow" not in out.lower(), out[-2000:]


def test_clean_leaves_a_dev_servers_files_and_clean_dev_is_healed_on_the_next_fetch(
    site: Site, project: Path
) -> None:
    build_project(project)  # a production build beside the development one
    urls = {page: site.bundles(page) for page in PAGES}
    css_url, css = site.css()
    image = re.search(r'url\("?([^")]+\.svg)', css)
    assert image, css
    image_url = css_url.rsplit("/", 1)[0] + "/" + image.group(1)
    site.fetch(image_url)

    result = site.app.test_cli_runner().invoke(assets, ["clean"])
    assert result.exit_code == 0, result.output
    assert "gen/dev/" not in result.output
    for page in PAGES:  # nothing a page links was removed
        for tag in site.bundles(page).values():
            site.fetch(tag["url"])

    result = site.app.test_cli_runner().invoke(assets, ["clean", "--dev"])
    assert result.exit_code == 0, result.output
    assert "removed gen/dev/" in result.output
    dev = project / "static" / "gen" / "dev"
    assert not [p for p in dev.rglob("*") if p.is_file()]
    # The server notices on the next fetch of a vanished file and rebuilds it.
    for page in PAGES:
        for name, tag in site.bundles(page).items():
            assert tag == urls[page][name]
            site.fetch(tag["url"])
    assert site.fetch(image_url).startswith(b"<svg")
    assert site.client.get("/static/gen/dev/nothing.1234abcd.css").status_code == 404


def test_clean_dev_without_a_production_build_empties_only_gen_dev(
    site: Site, project: Path
) -> None:
    site.page("/")
    keep = project / "static" / "gen" / "keep.txt"
    keep.write_text("not ours")
    result = site.app.test_cli_runner().invoke(assets, ["clean", "--dev"])
    assert result.exit_code == 0, result.output
    assert keep.read_text() == "not ours"
    assert not list((project / "static" / "gen" / "dev").rglob("*.css"))
    result = site.app.test_cli_runner().invoke(assets, ["clean"])
    assert result.exit_code == 1
    assert "manifest not found" in result.output
