"""Production delivery through WhiteNoise: cache headers, precompression, url() assets, CDN.

Every test builds its own tmp copy of the demo site and serves it with auto-build off, so
requests go through WhiteNoise exactly as under gunicorn (``test_deploy.py`` runs the real
server). Expected values (hashes, compressed sizes, SRI) are computed here, independently
of the app's own helpers.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import brotli
import pytest
from conftest import build_project, bundle_refs, read_manifest, run_flask, snapshot, sri
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from app.assets.output import brotli_bytes

FOREVER = "public, max-age=31536000, immutable"
PAGES = ("/", "/about", "/gallery")
CDN = "https://cdn.example.com/static"
# An hour at most: long enough to spare the server, short enough to pick up a new deploy.
SHORT = 3600


def hashed_name(name: str, data: bytes) -> str:
    """``leaf.svg`` -> ``leaf.<first 8 hex of sha256>.svg``, as DESIGN.md specifies."""
    stem, _, ext = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:8]}.{ext}"


def max_age(cache_control: str) -> int:
    m = re.search(r"max-age=(\d+)", cache_control)
    assert m, f"no max-age in {cache_control!r}"
    return int(m.group(1))


def decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, f"unexpected Content-Encoding {encoding!r}"
    return body


def leaf_url_asset(root: Path) -> str:
    """static/-relative path of the hashed copy of img/leaf.svg that the CSS points at."""
    return "gen/img/" + hashed_name("leaf.svg", (root / "static/img/leaf.svg").read_bytes())


def outputs(root: Path) -> list[str]:
    """Every built file of the current build: bundles and their url() assets."""
    files = [e["file"] for e in read_manifest(root)["bundles"].values()]
    return [*files, leaf_url_asset(root)]


@pytest.fixture
def client(built: Path, make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app(built, ASSETS_AUTO_BUILD=False).test_client()


# --- 1. Cache headers, ETags, 304s, Vary ------------------------------------------------


def test_hashed_outputs_are_cached_forever(built: Path, client: FlaskClient) -> None:
    files = outputs(built)
    assert len(files) == 6  # 5 bundles + the hashed leaf.svg copy
    for rel in files:
        for accept in ("", "br, gzip"):
            r = client.get(f"/static/{rel}", headers={"Accept-Encoding": accept})
            assert r.status_code == 200, rel
            assert r.headers["Cache-Control"] == FOREVER, rel
            assert r.headers["ETag"], rel
            assert "accept-encoding" in r.headers.get("Vary", "").lower(), rel
            assert (
                decode(r.data, r.headers.get("Content-Encoding"))
                == (built / "static" / rel).read_bytes()
            )


def test_other_static_files_get_a_short_max_age(
    built: Path, make_app: Callable[..., Flask]
) -> None:
    static = built / "static"
    # Look-alikes: a hash-shaped name outside gen/, and unhashed files inside gen/.
    (static / "img/leaf.deadbeef.svg").write_bytes((static / "img/leaf.svg").read_bytes())
    (static / "gen/vendor.css").write_text("body{color:red}\n")
    (static / "gen/notes.txt").write_text("not a build output\n")
    client = make_app(built, ASSETS_AUTO_BUILD=False).test_client()
    for path in (
        "/static/img/leaf.svg",
        "/static/gen/manifest.json",
        "/static/img/leaf.deadbeef.svg",
        "/static/gen/vendor.css",
        "/static/gen/notes.txt",
        "/static/js/main.js",
    ):
        r = client.get(path, headers={"Accept-Encoding": "br, gzip"})
        assert r.status_code == 200, path
        cc = r.headers.get("Cache-Control", "")
        assert "immutable" not in cc, (path, cc)
        assert 0 < max_age(cc) <= SHORT, (path, cc)
        assert r.headers["ETag"], path


@pytest.mark.parametrize("accept", ["", "br", "gzip"])
def test_etag_and_304_on_if_none_match(built: Path, client: FlaskClient, accept: str) -> None:
    for path in [*(f"/static/{f}" for f in outputs(built)), "/static/img/leaf.svg"]:
        first = client.get(path, headers={"Accept-Encoding": accept})
        etag = first.headers["ETag"]
        again = client.get(path, headers={"Accept-Encoding": accept, "If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
        stale = client.get(path, headers={"Accept-Encoding": accept, "If-None-Match": '"nope"'})
        assert stale.status_code == 200, path
        assert stale.data == first.data


# --- 2. Precompression at build, content negotiation ---------------------------------------


def test_every_output_has_smaller_gz_and_br_siblings(built: Path) -> None:
    static = built / "static"
    for rel in outputs(built):
        raw = (static / rel).read_bytes()
        gz = (static / f"{rel}.gz").read_bytes()
        br = (static / f"{rel}.br").read_bytes()
        assert gz[:2] == b"\x1f\x8b", rel
        assert gz[4:8] == b"\0\0\0\0", f"{rel}.gz: mtime field must be 0"
        assert gz[8] == 2, f"{rel}.gz: XFL should say 'maximum compression' (level 9)"
        assert gzip.decompress(gz) == raw, rel
        assert brotli.decompress(br) == raw, rel
        assert len(gz) < len(raw) and len(br) < len(raw), rel


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("br", "br"),
        ("gzip", "gzip"),
        ("br, gzip", "br"),
        ("gzip, deflate, br", "br"),
        ("gzip, deflate", "gzip"),
        ("identity", None),
        ("", None),
    ],
)
def test_content_negotiation(
    built: Path, client: FlaskClient, accept: str, encoding: str | None
) -> None:
    static = built / "static"
    for rel in outputs(built):
        r = client.get(f"/static/{rel}", headers={"Accept-Encoding": accept})
        assert r.status_code == 200
        assert r.headers.get("Content-Encoding") == encoding, (rel, accept)
        on_disk = static / (rel + {"br": ".br", "gzip": ".gz", None: ""}[encoding])
        assert r.data == on_disk.read_bytes(), rel
        assert int(r.headers["Content-Length"]) == len(r.data)
        assert decode(r.data, encoding) == (static / rel).read_bytes()


def _add_bundle(root: Path, name: str, source: str, text: str) -> None:
    (root / "static/js" / source).write_text(text)
    with open(root / "assets.yml", "a", encoding="utf-8") as fh:
        fh.write(f"\n{name}:\n  contents: [js/{source}]\n  filters: jsmin\n")
        fh.write(f"  output: gen/{name}.js\n")


def test_variants_that_are_not_smaller_are_skipped(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    _add_bundle(project, "tiny", "tiny.js", "x=1\n")
    # Short: gzip's 18 bytes of framing lose, brotli's built-in web dictionary wins.
    _add_bundle(project, "small", "small.js", 'document.getElementById("x");\n')
    build_project(project)
    static = project / "static"
    bundles = read_manifest(project)["bundles"]
    seen = {}
    for name in ("tiny", "small"):
        rel = bundles[name]["file"]
        raw = (static / rel).read_bytes()
        gz_smaller = len(gzip.compress(raw, compresslevel=9, mtime=0)) < len(raw)
        br_smaller = len(brotli_bytes(raw)) < len(raw)  # the build's own rule
        assert (static / f"{rel}.gz").exists() == gz_smaller, (name, raw)
        assert (static / f"{rel}.br").exists() == br_smaller, (name, raw)
        seen[name] = (gz_smaller, br_smaller)
    # The premises: a 1-statement file compresses to nothing smaller; "small" only with br.
    assert seen == {"tiny": (False, False), "small": (False, True)}

    client = make_app(project, ASSETS_AUTO_BUILD=False).test_client()
    tiny, small = bundles["tiny"], bundles["small"]
    r = client.get(tiny["url"], headers={"Accept-Encoding": "br, gzip"})
    assert r.status_code == 200 and "Content-Encoding" not in r.headers
    assert r.data == (static / tiny["file"]).read_bytes()
    assert r.headers["Cache-Control"] == FOREVER
    r = client.get(small["url"], headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in r.headers
    assert r.data == (static / small["file"]).read_bytes()
    r = client.get(small["url"], headers={"Accept-Encoding": "br, gzip"})
    assert r.headers["Content-Encoding"] == "br"
    assert brotli.decompress(r.data) == (static / small["file"]).read_bytes()


# --- 3. url() in CSS ------------------------------------------------------------------------


def test_css_url_points_at_the_digested_copy_of_the_file(built: Path, client: FlaskClient) -> None:
    """One mechanism: the url() target is the same copy url_for('static', ...) links."""
    static = built / "static"
    manifest = read_manifest(built)
    entry = manifest["bundles"]["css_all"]
    css = (static / entry["file"]).read_text()
    urls = re.findall(r"""url\(\s*["']?([^"')]+)""", css)
    expected = "img/" + hashed_name("leaf.svg", (static / "img/leaf.svg").read_bytes())
    assert urls == [expected], "relative to the CSS's own folder (gen/), under a hashed name"
    assert "../img" not in css
    target = urljoin(entry["url"], urls[0])
    assert target == f"/static/gen/{expected}" == manifest["files"]["img/leaf.svg"]["url"]
    assert entry["assets"] == [f"gen/{expected}"]
    r = client.get(target)
    assert r.status_code == 200
    assert r.data == (static / "img/leaf.svg").read_bytes()
    assert r.headers["Cache-Control"] == FOREVER
    assert r.headers["Content-Type"].startswith("image/svg+xml")
    # The page's integrity covers the CSS that names the image.
    assert entry["integrity"] == sri((static / entry["file"]).read_bytes())


def test_changing_only_the_image_changes_the_css_hash(built: Path) -> None:
    static = built / "static"
    before = read_manifest(built)["bundles"]
    svg = static / "img/leaf.svg"
    svg.write_bytes(svg.read_bytes().replace(b"#66bb6a", b"#43a047"))
    build_project(built)
    after = read_manifest(built)["bundles"]
    assert after["css_all"]["file"] != before["css_all"]["file"]
    assert "img/leaf.svg" in after["css_all"]["sources"]
    for name in ("css_gallery", "js_all", "js_lib", "js_gallery"):
        assert after[name] == before[name], f"{name} does not use the image"
    new_name = "img/" + hashed_name("leaf.svg", svg.read_bytes())
    assert f'url("{new_name}")' in (static / after["css_all"]["file"]).read_text()
    assert (static / "gen" / new_name).read_bytes() == svg.read_bytes()


def test_missing_url_target_is_a_build_error_with_file_and_line(built: Path) -> None:
    partial = built / "static/scss/_components.scss"
    text = partial.read_text().replace("../img/leaf.svg", "../img/missing.svg")
    partial.write_text(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "missing.svg" in s)
    gen_before = snapshot(built / "static/gen")
    r = run_flask(built, "assets", "build")
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(rf"(^|/)scss/_components\.scss:{line}: .*missing\.svg", r.stderr, re.M), (
        r.stderr
    )
    assert "Traceback" not in r.stderr
    # Nothing written: the previous build keeps serving.
    assert snapshot(built / "static/gen") == gen_before


# --- 4. CDN -------------------------------------------------------------------------------


def _all_bundle_urls(app: Flask) -> list[str]:
    client = app.test_client()
    urls = []
    for page in PAGES:
        r = client.get(page)
        assert r.status_code == 200, page
        html = r.get_data(as_text=True)
        urls += [u for u, _ in bundle_refs(html)]
        assert "/static/gen/" not in html.replace(f"{CDN}/gen/", ""), f"{page}: a non-CDN URL"
    return urls


@pytest.mark.parametrize("base", [CDN, CDN + "/"])
def test_cdn_base_url_is_used_for_every_bundle_url(
    built: Path, make_app: Callable[..., Flask], base: str
) -> None:
    app = make_app(built, ASSETS_AUTO_BUILD=False, ASSETS_URL=base)
    bundles = read_manifest(built)["bundles"]
    on_pages = ("css_all", "js_all", "css_gallery", "js_gallery")  # js_lib is only nested
    urls = _all_bundle_urls(app)
    # Every page bundle, the /about preload included.
    assert set(urls) == {f"{CDN}/{bundles[n]['file']}" for n in on_pages}
    expected = {f"{CDN}/{e['file']}" for e in bundles.values()}
    with app.test_request_context("/"):
        for name, e in bundles.items():
            url = f"{CDN}/{e['file']}"
            assert render_template_string("{{ bundle_url(n) }}", n=name) == url
            assert f'"{url}"' in render_template_string("{{ bundle_tags(n) }}", n=name)
            tag = render_template_string(
                "{% assets n %}{{ ASSET_URL }}{% endassets %}", n=name
            ).strip()
            assert tag == url
    # The CDN pulls from this origin: the same paths exist here, cached forever, and
    # readable cross-origin (the tags say crossorigin="anonymous" for SRI).
    client = app.test_client()
    for url in expected:
        r = client.get(url.removeprefix("https://cdn.example.com"))
        assert r.status_code == 200 and r.headers["Cache-Control"] == FOREVER
        assert r.headers.get("Access-Control-Allow-Origin") == "*"


def test_cdn_from_environment(
    built: Path, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_ASSETS_URL", CDN)
    app = make_app(built, ASSETS_AUTO_BUILD=False)
    urls = _all_bundle_urls(app)
    assert urls and all(u.startswith(CDN + "/gen/") for u in urls), urls
