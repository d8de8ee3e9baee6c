"""Template helpers: bundle_url, bundle_tags and Flask-Assets' {% assets %} tag."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPO, read_manifest
from flask import Flask, render_template_string

from app.assets import AssetError
from app.assets.declare import load_spec


class Tags(HTMLParser):
    """Collects (tag, attrs) of every start tag."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = Tags()
    p.feed(html)
    p.close()
    return p.tags


@pytest.fixture(params=["production", "auto_build"])
def site(request: pytest.FixtureRequest, built: Path, make_app: Callable[..., Flask]) -> Flask:
    """The same checks in both modes: URLs from the manifest, or built on demand."""
    return make_app(built, ASSETS_AUTO_BUILD=request.param == "auto_build")


def render(app: Flask, source: str) -> str:
    with app.test_request_context("/"):
        return render_template_string(source)


def served_sri(app: Flask, url: str) -> str:
    response = app.test_client().get(url)
    assert response.status_code == 200, url
    return "sha384-" + base64.b64encode(hashlib.sha384(response.get_data()).digest()).decode()


@pytest.mark.parametrize("name", ["css_all", "js_all", "css_gallery", "js_gallery"])
def test_bundle_tags_with_sri(site: Flask, name: str) -> None:
    url = render(site, f'{{{{ bundle_url("{name}") }}}}')
    assert url.startswith("/static/gen/")
    tags = parse(render(site, f'{{{{ bundle_tags("{name}") }}}}'))
    assert len(tags) == 1
    tag, attrs = tags[0]
    if name.startswith("css"):
        assert tag == "link"
        assert attrs["rel"] == "stylesheet"
        assert attrs["href"] == url
    else:
        assert tag == "script"
        assert attrs["src"] == url
    assert attrs["crossorigin"] == "anonymous"
    assert attrs["integrity"] == served_sri(site, url)


def test_urls_come_from_the_manifest_in_production(
    built: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app(built, ASSETS_AUTO_BUILD=False)
    for name, entry in read_manifest(built)["bundles"].items():
        assert render(app, f'{{{{ bundle_url("{name}") }}}}') == entry["url"]
        attrs = parse(render(app, f'{{{{ bundle_tags("{name}") }}}}'))[0][1]
        assert attrs["integrity"] == entry["integrity"]


@pytest.mark.parametrize("auto_build", [False, True])
def test_bundle_tags_without_sri(
    built: Path, make_app: Callable[..., Flask], auto_build: bool
) -> None:
    app = make_app(built, ASSETS_AUTO_BUILD=auto_build, ASSETS_SRI=False)
    for name in ("css_all", "js_all"):
        tags = parse(render(app, f'{{{{ bundle_tags("{name}") }}}}'))
        assert len(tags) == 1
        attrs = tags[0][1]
        assert "integrity" not in attrs
        assert "crossorigin" not in attrs
        url = render(app, f'{{{{ bundle_url("{name}") }}}}')
        assert url in (attrs.get("href"), attrs.get("src"))


def test_flask_assets_tag_renders_the_same_url(site: Flask) -> None:
    tag = render(site, '{% assets "js_all" %}{{ ASSET_URL }}{% endassets %}')
    assert tag == render(site, '{{ bundle_url("js_all") }}')

    # The /about page uses the tag for a preload link.
    page = site.test_client().get("/about")
    assert page.status_code == 200
    tags = parse(page.get_data(as_text=True))
    preload = [a["href"] for t, a in tags if t == "link" and a.get("rel") == "preload"]
    scripts = [a["src"] for t, a in tags if t == "script" and a.get("src")]
    js_all = render(site, '{{ bundle_url("js_all") }}')
    assert preload == [js_all]
    assert js_all in scripts


@pytest.mark.parametrize(
    "source",
    [
        '{{ bundle_url("nope") }}',
        '{{ bundle_tags("nope") }}',
        '{% assets "nope" %}{{ ASSET_URL }}{% endassets %}',
    ],
    ids=["bundle_url", "bundle_tags", "assets-tag"],
)
def test_unknown_bundle_is_an_error_naming_it(site: Flask, source: str) -> None:
    with pytest.raises(AssetError, match="nope"):
        render(site, source)


def test_repo_templates_never_link_bundled_sources() -> None:
    spec = load_spec(REPO / "assets.yml", REPO / "static")
    bundled = {f for name in spec.outputs for f in spec.files(name)}
    url_for = re.compile(r"""url_for\(\s*["']static["']\s*,\s*filename\s*=\s*["']([^"']+)["']""")
    raw = re.compile(r"""(?:href|src)\s*=\s*["']/?static/([^"'{]+)["']""")
    templates = sorted((REPO / "templates").rglob("*.html"))
    assert templates
    offenders = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for m in (*url_for.finditer(text), *raw.finditer(text)):
            src = m.group(1).lstrip("/")
            if src in bundled or src.startswith(("scss/", "js/", "gen/")):
                line = text.count("\n", 0, m.start()) + 1
                offenders.append(f"{path.relative_to(REPO)}:{line}: {src}")
    assert offenders == []


def test_assets_url_moves_bundle_urls_to_a_cdn(built: Path, make_app: Callable[..., Flask]) -> None:
    cdn = "https://cdn.example.com/assets/"
    app = make_app(built, ASSETS_AUTO_BUILD=False, ASSETS_URL=cdn)
    for name, entry in read_manifest(built)["bundles"].items():
        expected = cdn + entry["file"]
        assert render(app, f'{{{{ bundle_url("{name}") }}}}') == expected
        attrs = parse(render(app, f'{{{{ bundle_tags("{name}") }}}}'))[0][1]
        assert expected in (attrs.get("href"), attrs.get("src"))
    tag = render(app, '{% assets "js_all" %}{{ ASSET_URL }}{% endassets %}')
    assert tag == render(app, '{{ bundle_url("js_all") }}')


def test_assets_debug_emits_js_sources_unbundled_and_builds_scss(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app(project, ASSETS_AUTO_BUILD=True, ASSETS_DEBUG=True)
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    # js_all nests js_lib: its sources come first, in declaration order.
    assert scripts[:3] == ["/static/js/util.js", "/static/js/format.js", "/static/js/main.js"]
    for url in scripts[:3]:
        assert client.get(url).status_code == 200
    # SCSS cannot be served raw: the CSS bundle is still built (as webassets does).
    css = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert len(css) == 1 and css[0].startswith("/static/gen/dev/")
    about = client.get("/about").get_data(as_text=True)
    assert '<link rel="preload" href="/static/js/util.js" as="script">' in about


def test_assets_debug_is_ignored_in_production(built: Path, make_app: Callable[..., Flask]) -> None:
    app = make_app(built, ASSETS_AUTO_BUILD=False, ASSETS_DEBUG=True)
    html = app.test_client().get("/").get_data(as_text=True)
    assert "/static/js/" not in html
    assert re.search(r'<script src="/static/gen/app\.[0-9a-f]{8}\.js"', html)


def test_bundle_tags_take_the_attributes_real_pages_need(site: Flask) -> None:
    # The nonce tries to break out of its attribute: it must stay a value.
    html = render(
        site,
        '{% set n = "a\\"><script>x()</script>" %}'
        '{{ bundle_tags("js_all", defer=True, async_=False, nonce=n, type="module") }}'
        '{{ bundle_tags("css_all", media="print", crossorigin="use-credentials") }}'
        '{{ bundle_tags("js_gallery", **{"async": True, "data_page": "g"}) }}',
    )
    assert "<script>x()" not in html
    (t1, js), (t2, css), (t3, gallery) = parse(html)
    assert (t1, t2, t3) == ("script", "link", "script")
    assert "defer" in js and js["defer"] is None and "async" not in js
    assert js["nonce"] == 'a"><script>x()</script>' and js["type"] == "module"
    assert js["integrity"] and js["crossorigin"] == "anonymous"
    assert css["media"] == "print" and css["crossorigin"] == "use-credentials"
    assert css["integrity"] == served_sri(site, str(css["href"]))
    assert "async" in gallery and gallery["data-page"] == "g"


@pytest.mark.parametrize("attr", ["src", "integrity", "rel", "on load"])
def test_bundle_tags_refuse_attributes_they_own_or_cannot_name(site: Flask, attr: str) -> None:
    with pytest.raises(TypeError, match="cannot be set"):
        render(site, f'{{{{ bundle_tags("js_all", **{{"{attr}": "1"}}) }}}}')


@pytest.mark.parametrize("name", ["css_all", "js_all"])
def test_bundle_preload_matches_the_tag(site: Flask, name: str) -> None:
    ((_, tag),) = parse(render(site, f'{{{{ bundle_tags("{name}") }}}}'))
    ((kind, preload),) = parse(render(site, f'{{{{ bundle_preload("{name}") }}}}'))
    assert kind == "link" and preload["rel"] == "preload"
    assert preload["as"] == ("style" if name.startswith("css") else "script")
    assert preload["href"] == (tag.get("href") or tag.get("src"))
    assert preload["integrity"] == tag["integrity"] and preload["crossorigin"] == "anonymous"


def test_about_pages_flask_assets_preload_matches_its_script_tag(site: Flask) -> None:
    html = site.test_client().get("/about").get_data(as_text=True)
    tags = parse(html)
    preload = next(a for t, a in tags if t == "link" and a.get("rel") == "preload")
    script = next(a for t, a in tags if t == "script" and a.get("src") == preload["href"])
    assert preload["integrity"] == script["integrity"] == served_sri(site, str(preload["href"]))
    assert preload["crossorigin"] == script["crossorigin"] == "anonymous"
