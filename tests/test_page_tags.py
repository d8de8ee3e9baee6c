"""Tags on a development page: every save made before a request shows in its tags.

Rendered through real requests, so what a page links is checked, not only what the
resolver answers: the change gate, the declarations' look and the tags remembered
between requests all sit on this path. Each test saves, then requests at once.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask, render_template_string

from app.assets import changes

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")
TAG = re.compile(r"<(?:link|script)\b[^>]*>")
ATTR = re.compile(r'([\w-]+)(?:="([^"]*)")?')


def tags(html: str) -> dict[str, dict[str, str]]:
    """``{bundle: attributes}`` of every tag naming a bundle (``data-bundle``)."""
    out = {}
    for tag in TAG.findall(html):
        attrs = dict(ATTR.findall(tag.removeprefix("<link").removeprefix("<script")))
        if "data-bundle" in attrs:
            out[attrs["data-bundle"]] = attrs
    return out


def url(attrs: dict[str, str]) -> str:
    return attrs.get("href") or attrs["src"]


class Dev:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.resolver = app.extensions["assets"].resolver

    def page(self, path: str = "/") -> dict[str, dict[str, str]]:
        resp = self.client.get(path)
        assert resp.status_code == 200, resp.status_code
        return tags(resp.get_data(as_text=True))

    def body(self, attrs: dict[str, str]) -> str:
        resp = self.client.get(url(attrs))
        assert resp.status_code == 200, url(attrs)
        return resp.get_data(as_text=True)

    def quiet_pages(self) -> dict[str, dict[str, str]]:
        """Two pages with nothing saved: the second is answered from the gate alone."""
        first = self.page()
        rebuilds = self.resolver.rebuilds
        assert self.page() == first
        assert self.resolver.rebuilds == rebuilds, "a quiet page rebuilt"
        return first


@pytest.fixture(
    params=[pytest.param("gate", marks=linux_only), "ASSETS_INOTIFY=false", "no inotify"]
)
def dev(
    request: pytest.FixtureRequest,
    project: Path,
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
) -> Dev:
    config: dict[str, object] = {"ASSETS_AUTO_BUILD": True, "DEBUG": True}
    if request.param == "ASSETS_INOTIFY=false":
        config["ASSETS_INOTIFY"] = False
    elif request.param == "no inotify":
        monkeypatch.setattr(changes, "_inotify", lambda: None)  # as on macOS or Windows
    site = Dev(make_app(project, **config))
    assert (site.resolver.gate is not None) == (request.param == "gate")
    return site


def test_each_save_shows_in_the_next_pages_tags(dev: Dev, project: Path) -> None:
    partial = project / "static" / "scss" / "_buttons.scss"
    main_js = project / "static" / "js" / "main.js"
    original, original_js = partial.read_text(), main_js.read_text()
    before = dev.quiet_pages()
    for i in range(4):
        # Same length each time: only the content (or the gate) tells the saves apart.
        marker = f"calc(1rem + {10 + i}px)"
        partial.write_text(original.replace("calc(1rem + 2px)", marker))
        after = dev.page()
        assert url(after["css_all"]) != url(before["css_all"]), f"save {i} not linked"
        assert marker in dev.body(after["css_all"])
        assert after["js_all"] == before["js_all"], "an unchanged bundle was relinked"
        main_js.write_text(original_js + f"\n// save {i}\n")
        after = dev.page()
        assert url(after["js_all"]) != url(before["js_all"])
        assert f"// save {i}" in dev.body(after["js_all"])
        before = dev.quiet_pages()


def test_a_tag_is_never_older_than_its_build(dev: Dev, project: Path) -> None:
    partial = project / "static" / "scss" / "_buttons.scss"
    original = partial.read_text()
    dev.quiet_pages()
    seen = set()
    for text in (original.replace("2px", "3px"), original, original.replace("2px", "4px")):
        partial.write_text(text)  # back to the first text too: its URL again, a new build
        page = dev.page()
        with dev.app.test_request_context("/"):
            entry = dev.resolver.entry("css_all")
        css = page["css_all"]
        assert (css["href"], css["integrity"]) == (entry.url, entry.integrity)
        seen.add(css["href"])
    assert len(seen) == 3


def test_an_assets_yml_edit_shows_in_the_next_page(dev: Dev, project: Path) -> None:
    assert url(dev.quiet_pages()["css_all"]).startswith("/static/gen/dev/app.")
    config = project / "assets.yml"
    config.write_text(config.read_text().replace("output: gen/app.css", "output: gen/site.css"))
    assert url(dev.page()["css_all"]).startswith("/static/gen/dev/site.")


@linux_only
def test_a_file_the_gate_cannot_vouch_for_is_compared_on_every_page(
    project: Path, tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    # A second name outside every watched folder: writes through it raise no event.
    elsewhere = tmp_path / "elsewhere.scss"
    elsewhere.write_text(".brand { color: red; }\n")
    scss = project / "static" / "scss"
    os.link(elsewhere, scss / "_brand.scss")
    main = scss / "main.scss"
    main.write_text('@import "brand";\n' + main.read_text())
    dev = Dev(make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True))
    gate = dev.resolver.gate
    assert gate is not None and not gate.covers(str(scss / "_brand.scss"))
    for colour in ("blue", "green"):
        before = dev.quiet_pages()
        epoch = gate.epoch()
        elsewhere.write_text(f".brand {{ color: {colour}; }}\n")
        assert gate.epoch() == epoch, "the gate saw the write: this tests nothing"
        after = dev.page()
        assert url(after["css_all"]) != url(before["css_all"])
        assert f".brand {{\n  color: {colour};" in dev.body(after["css_all"])


CALLS = (
    '{{ bundle_tags("js_all") }}',
    '{{ bundle_tags("js_all", defer=True) }}',
    '{{ bundle_tags("js_all", nonce=nonce) }}',
    '{{ bundle_tags("js_all", crossorigin="use-credentials") }}',
    '{{ bundle_tags("js_all", crossorigin=\'a"b\') }}',
    '{{ bundle_preload("js_all") }}',
    '{{ bundle_tags("js_all") }}',
)


@pytest.mark.parametrize("auto_build", [False, True], ids=["production", "auto_build"])
def test_attributes_of_each_call_are_its_own(
    built: Path, make_app: Callable[..., Flask], auto_build: bool
) -> None:
    app = make_app(built, ASSETS_AUTO_BUILD=auto_build)
    source = "|".join(CALLS)
    renders = []
    for nonce in ("n1", "n2", "n1"):
        with app.test_request_context("/"):
            renders.append(render_template_string(source, nonce=nonce).split("|"))
    assert renders[0] == renders[2], "the same calls rendered differently"
    plain, deferred, nonced, creds, quoted, preload, again = renders[0]
    assert plain == again and len({plain, deferred, nonced, creds, quoted, preload}) == 6
    assert deferred == plain.replace("></script>", " defer></script>")
    assert nonced == plain.replace("></script>", ' nonce="n1"></script>')
    assert renders[1][2] == plain.replace("></script>", ' nonce="n2"></script>')
    assert 'crossorigin="anonymous"' in plain
    assert creds == plain.replace('"anonymous"', '"use-credentials"')
    assert quoted == plain.replace('"anonymous"', '"a&#34;b"')
    assert preload.startswith('<link rel="preload"') and 'as="script"' in preload
    assert ("data-bundle" in plain) is auto_build and "data-bundle" not in preload
    # A nonce per request is not remembered: what is kept stays one entry per tag kind.
    assert len(app.extensions["assets"].tags) <= 4
