"""Nothing is exposed in production: no source maps, no dev endpoints, no listings,
no path out of static/, and no bundle name that reaches a file outside static/gen/.

Requests go through Flask's test client and, for raw paths that a client library
would normalise, through a real werkzeug server on 127.0.0.1 spoken to with
``http.client``.
"""

from __future__ import annotations

import gzip
import http.client
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import pytest
from conftest import read_manifest, run_flask, snapshot
from flask import Flask, render_template_string
from werkzeug.serving import make_server

from app.assets.errors import MissingBundleError

SECRET = "TOP-SECRET-7f3a9c"  # planted outside static/; no response may contain it

# Paths that try to leave static/ or list a folder. Each must end in a 4xx without
# leaking a file's contents (a redirect to such an answer is fine: `//` is merged).
ATTACKS = [
    "/static/",
    "/static/gen/",
    "/static/gen",
    "/static/../app/__init__.py",
    "/static/../assets.yml",
    "/static/%2e%2e/assets.yml",
    "/static/..%2fassets.yml",
    "/static/%2e%2e%2fassets.yml",
    "/static/..%5cassets.yml",
    "/static//etc/passwd",
    "/static/gen/%2e%2e/%2e%2e/assets.yml",
    "/static/gen/../../app/__init__.py",
    "/static/gen/..%2f..%2fapp/__init__.py",
    "/static/%2fetc/passwd",
    "/static/gen/%2e%2e/%2e%2e/app/__init__.py",
    "/static/./../assets.yml",
    "/assets.yml",
    "/app/__init__.py",
    "/templates/base.html",
    "/__assets/events",
    "/__assets/client.js",
]
DEV_ENDPOINTS = ["/__assets/events", "/__assets/client.js"]


@pytest.fixture
def site(built: Path) -> Path:
    """The built demo plus files outside static/ that must never be served."""
    (built / "app").mkdir()
    (built / "app" / "__init__.py").write_text(f'PASSWORD = "{SECRET}"\n')
    with (built / "assets.yml").open("a") as fh:
        fh.write(f"# {SECRET}\n")
    return built


@pytest.fixture
def prod(site: Path, make_app: Callable[..., Flask]) -> Flask:
    return make_app(site, ASSETS_AUTO_BUILD=False)


@pytest.fixture
def server(prod: Flask) -> Iterator[tuple[str, int]]:
    """The production app behind a real werkzeug server on an ephemeral port."""
    srv = make_server("127.0.0.1", 0, prod, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield ("127.0.0.1", srv.server_port)
    finally:
        srv.shutdown()
        thread.join(timeout=10)


def raw_get(address: tuple[str, int], path: str) -> tuple[int, dict[str, str], bytes]:
    """Send ``path`` byte for byte (no normalisation, no decoding)."""
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def assert_not_exposed(status: int, body: bytes, path: str) -> None:
    assert 400 <= status < 500, f"{path} answered {status}"
    assert SECRET.encode() not in body, f"{path} leaked a file from outside static/"
    assert b"root:x:0:0" not in body, f"{path} leaked /etc/passwd"
    assert b"contents:" not in body, f"{path} leaked assets.yml"


# --------------------------------------------------------------------------- source maps


def _built_texts(root: Path) -> Iterator[tuple[str, bytes]]:
    for rel, data in snapshot(root / "static" / "gen").items():
        if rel.endswith(".gz"):
            yield rel, gzip.decompress(data)
        elif rel.endswith(".br"):
            yield rel, brotli.decompress(data)
        else:
            yield rel, data


def _assert_no_source_maps(root: Path) -> None:
    files = list(_built_texts(root))
    assert any(rel.endswith(".css") for rel, _ in files)
    assert any(rel.endswith(".js") for rel, _ in files)
    for rel, data in files:
        assert not rel.endswith(".map") and ".map." not in rel, rel
        assert b"sourceMappingURL" not in data, rel
        assert b"sourceURL" not in data, rel


def test_production_build_has_no_source_maps(built: Path) -> None:
    _assert_no_source_maps(built)


def test_cli_build_has_no_source_maps(project: Path) -> None:
    result = run_flask(project, "assets", "build", timeout=60)
    assert result.returncode == 0, result.stderr
    _assert_no_source_maps(project)
    assert read_manifest(project)["bundles"]


def test_production_pages_link_no_source_maps(prod: Flask) -> None:
    client = prod.test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert b"sourceMappingURL" not in page.data
    for entry in read_manifest(Path(prod.config["PROJECT_ROOT"]))["bundles"].values():
        resp = client.get(entry["url"])
        assert resp.status_code == 200, entry["url"]
        assert "SourceMap" not in resp.headers and "X-SourceMap" not in resp.headers
        assert b"sourceMappingURL" not in resp.get_data()
        resp.close()


# --------------------------------------------------------------------------- raw paths


@pytest.mark.parametrize("path", DEV_ENDPOINTS)
def test_dev_endpoints_do_not_exist_in_production(prod: Flask, path: str) -> None:
    resp = prod.test_client().get(path)
    assert resp.status_code == 404
    assert b"EventSource" not in resp.data


def test_production_pages_do_not_load_the_live_reload_client(prod: Flask) -> None:
    page = prod.test_client().get("/")
    assert page.status_code == 200
    assert b"/__assets/" not in page.data
    assert b"data-bundle" not in page.data


@pytest.mark.parametrize("path", ATTACKS)
def test_test_client_cannot_reach_outside_static(prod: Flask, path: str) -> None:
    client = prod.test_client()
    resp = client.get(path)
    if resp.status_code in (301, 302, 307, 308):
        target = urlsplit(resp.headers["Location"]).path
        assert target.startswith("/"), resp.headers["Location"]
        resp = client.get(target)
    assert_not_exposed(resp.status_code, resp.get_data(), path)


def test_real_server_cannot_reach_outside_static(server: tuple[str, int], site: Path) -> None:
    # Sanity: the server does serve what it should, so the 404s below mean something.
    status, headers, body = raw_get(server, "/")
    assert status == 200
    entry = read_manifest(site)["bundles"]["css_all"]
    status, headers, body = raw_get(server, entry["url"])
    assert status == 200 and body == (site / "static" / entry["file"]).read_bytes()
    assert "immutable" in headers.get("Cache-Control", "")

    answers = {}
    for path in ATTACKS:
        status, headers, body = raw_get(server, path)
        if status in (301, 302, 307, 308):
            target = urlsplit(headers["Location"]).path
            assert target.startswith("/"), headers["Location"]
            status, headers, body = raw_get(server, target)
        answers[path] = status
        assert_not_exposed(status, body, path)
    assert all(code == 404 for p, code in answers.items() if p in DEV_ENDPOINTS)
    assert answers["/static/"] == 404 and answers["/static/gen/"] == 404


def test_directory_listing_is_not_served_for_any_static_folder(
    server: tuple[str, int], site: Path
) -> None:
    folders = [p for p in (site / "static").rglob("*") if p.is_dir()]
    assert folders
    for folder in folders:
        rel = folder.relative_to(site / "static").as_posix()
        for path in (f"/static/{rel}", f"/static/{rel}/"):
            status, _, body = raw_get(server, path)
            if status in (301, 302, 307, 308):
                continue  # a redirect to the trailing-slash form, checked next
            assert status == 404, path
            for child in folder.iterdir():
                assert child.name.encode() not in body, f"{path} lists {child.name}"


# --------------------------------------------------------------------------- bundle names

EVIL_NAMES = [
    "../../assets",
    "../x",
    "../gen/app",
    "gen/../../assets",
    "/etc/passwd",
    "css_all/../js_all",
    "css_all/../../../assets",
    "manifest.json",
    "",
]


@pytest.mark.parametrize("auto_build", [False, True], ids=["production", "development"])
@pytest.mark.parametrize("name", EVIL_NAMES)
def test_bundle_names_cannot_reach_files(
    site: Path, make_app: Callable[..., Flask], auto_build: bool, name: str
) -> None:
    app = make_app(site, ASSETS_AUTO_BUILD=auto_build, ASSETS_LIVE_RELOAD=False)
    before = snapshot(site)
    templates = [
        "{{ bundle_url(name) }}",
        "{{ bundle_tags(name) }}",
        "{% assets name %}{{ ASSET_URL }}{% endassets %}",
    ]
    with app.test_request_context("/"):
        for source in templates:
            with pytest.raises(MissingBundleError) as info:
                render_template_string(source, name=name)
            assert f"'{name}'" in str(info.value), str(info.value)
    # Development builds on demand: asking for a bad name must not write anywhere.
    after = snapshot(site)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert all(k.startswith("static/gen/dev/") for k in changed), sorted(changed)


@pytest.mark.parametrize("name", ["../x", "../../assets"])
def test_literal_assets_tag_with_a_path_raises(prod: Flask, name: str) -> None:
    with prod.test_request_context("/"), pytest.raises(MissingBundleError):
        render_template_string('{% assets "' + name + '" %}{{ ASSET_URL }}{% endassets %}')
    with prod.test_request_context("/"), pytest.raises(MissingBundleError):
        render_template_string('{{ bundle_url("' + name + '") }}')
