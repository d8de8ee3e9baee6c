"""Serving modes: production from the manifest alone, and development auto-build."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
from conftest import read_manifest, run_flask
from flask import Flask
from flask.testing import FlaskClient

from app.assets import ManifestError

PAGES = ("/", "/about", "/gallery")


class BundleRefs(HTMLParser):
    """(url, integrity or None) of every stylesheet, script and script preload."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        url = None
        if tag == "script" and a.get("src"):
            url = a["src"]
        elif tag == "link" and (
            a.get("rel") == "stylesheet" or (a.get("rel") == "preload" and a.get("as") == "script")
        ):
            url = a.get("href")
        if url:
            self.refs.append((url, a.get("integrity")))


def bundle_refs(html: str) -> list[tuple[str, str | None]]:
    p = BundleRefs()
    p.feed(html)
    p.close()
    return p.refs


def sri_of(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def get_pages(client: FlaskClient) -> dict[str, bytes]:
    out = {}
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        out[page] = response.get_data()
    return out


def assert_bundles_served(client: FlaskClient, html: bytes, manifest: dict) -> set[str]:
    by_url = {e["url"]: e for e in manifest["bundles"].values()}
    refs = bundle_refs(html.decode())
    assert refs
    for url, integrity in refs:
        assert url.startswith("/static/gen/"), url
        assert not url.startswith("/static/gen/dev/"), url
        assert url in by_url, f"{url} is not in the manifest"
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data()
        assert sri_of(body) == by_url[url]["integrity"]
        if integrity is not None:
            assert integrity == sri_of(body)
    return {url for url, _ in refs}


def test_production_pages_use_built_bundles(built: Path, make_app: Callable[..., Flask]) -> None:
    manifest = read_manifest(built)
    app = make_app(built, ASSETS_AUTO_BUILD=False)
    client = app.test_client()
    urls = {}
    for page, html in get_pages(client).items():
        urls[page] = assert_bundles_served(client, html, manifest)
    b = {name: e["url"] for name, e in manifest["bundles"].items()}
    assert {b["css_all"], b["js_all"]} <= urls["/"]
    assert {b["css_gallery"], b["js_gallery"]} <= urls["/gallery"]
    assert b["css_gallery"] not in urls["/"]
    assert not list((built / "static" / "gen").glob("dev")), "production never builds"


def test_css_url_references_resolve(built: Path, make_app: Callable[..., Flask]) -> None:
    """url() in built CSS (e.g. the leaf icon) points at something that is served."""
    import re

    manifest = read_manifest(built)
    client = make_app(built, ASSETS_AUTO_BUILD=False).test_client()
    for entry in manifest["bundles"].values():
        if entry["type"] != "css":
            continue
        css = client.get(entry["url"]).get_data(as_text=True)
        for ref in re.findall(r"""url\(\s*["']?([^"')]+)["']?\s*\)""", css):
            if ref.startswith(("data:", "http:", "https:", "#")):
                continue
            target = urljoin(entry["url"], ref)
            assert client.get(target).status_code == 200, f"{entry['url']}: url({ref})"


def test_production_needs_no_sources(built: Path, make_app: Callable[..., Flask]) -> None:
    manifest = read_manifest(built)
    app = make_app(built, ASSETS_AUTO_BUILD=False)
    client = app.test_client()
    before = get_pages(client)

    shutil.rmtree(built / "static" / "scss")
    shutil.rmtree(built / "static" / "js")
    assert get_pages(client) == before
    for html in before.values():
        assert_bundles_served(client, html, manifest)

    # A fresh start on a deploy that ships only static/gen/ renders the same pages.
    fresh = make_app(built, ASSETS_AUTO_BUILD=False).test_client()
    assert get_pages(fresh) == before
    for html in before.values():
        assert_bundles_served(fresh, html, manifest)


def test_production_reads_the_manifest_once(built: Path, make_app: Callable[..., Flask]) -> None:
    """URLs are a lookup in the manifest loaded at start-up, not file system work."""
    client = make_app(built, ASSETS_AUTO_BUILD=False).test_client()
    before = get_pages(client)
    (built / "static" / "gen" / "manifest.json").unlink()
    assert get_pages(client) == before


def test_missing_manifest_fails_at_start_up(project: Path, make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ManifestError) as info:
        make_app(project, ASSETS_AUTO_BUILD=False)
    assert "flask --app app assets build" in str(info.value)


def test_unreadable_manifest_fails_at_start_up(built: Path, make_app: Callable[..., Flask]) -> None:
    (built / "static" / "gen" / "manifest.json").write_text('{"version": 1, "bundles": ')
    with pytest.raises(ManifestError, match="assets build"):
        make_app(built, ASSETS_AUTO_BUILD=False)


def test_env_var_turns_auto_build_off(project: Path) -> None:
    result = run_flask(project, "routes", FLASK_ASSETS_AUTO_BUILD="false")
    assert result.returncode != 0
    assert "assets build" in result.stdout + result.stderr
    # One clear line from Flask's CLI, not a traceback.
    assert "Traceback" not in result.stderr
    # The whole output is that line: no usage banner above it (this is no misuse).
    one_line = (
        "Error: static/gen/manifest.json: manifest not found: "
        "run `flask --app app assets build` first"
    )
    assert result.stderr.splitlines() == [one_line]
    result = run_flask(project, "run", "--port", "1", FLASK_ASSETS_AUTO_BUILD="false")
    assert result.returncode != 0
    assert result.stderr.splitlines() == [one_line]

    # The build command itself must not need the manifest it is about to create.
    result = run_flask(project, "assets", "build", FLASK_ASSETS_AUTO_BUILD="false")
    assert result.returncode == 0, result.stderr
    assert (project / "static" / "gen" / "manifest.json").is_file()

    result = run_flask(project, "routes", FLASK_ASSETS_AUTO_BUILD="false")
    assert result.returncode == 0, result.stderr
    assert "/gallery" in result.stdout


# --- development: auto-build ----------------------------------------------------------------


def dev_state(root: Path) -> dict[str, int]:
    """Every built file (relative path -> mtime_ns)."""
    gen = root / "static" / "gen"
    return {p.relative_to(gen).as_posix(): p.stat().st_mtime_ns for p in gen.rglob("*")}


def page_urls(client: FlaskClient, page: str = "/") -> dict[str, str]:
    """Bundle URLs of a page, keyed by kind and position (css0, js0...)."""
    response = client.get(page)
    assert response.status_code == 200
    out: dict[str, str] = {}
    for url, _ in bundle_refs(response.get_data(as_text=True)):
        kind = "css" if url.endswith(".css") else "js"
        out[f"{kind}{sum(k.startswith(kind) for k in out)}"] = url
    return out


def test_auto_build_builds_into_dev_dir(project: Path, make_app: Callable[..., Flask]) -> None:
    app = make_app(project, ASSETS_AUTO_BUILD=True)
    client = app.test_client()
    urls = page_urls(client)
    assert {"css0", "js0"} <= set(urls)
    for url in urls.values():
        assert url.startswith("/static/gen/dev/"), url
        response = client.get(url)
        assert response.status_code == 200
        rel = url.removeprefix("/static/")
        assert (project / "static" / rel).read_bytes() == response.get_data()
    assert not (project / "static" / "gen" / "manifest.json").exists()


def test_auto_build_follows_partial_edits(project: Path, make_app: Callable[..., Flask]) -> None:
    client = make_app(project, ASSETS_AUTO_BUILD=True).test_client()
    first = page_urls(client)
    old_css = client.get(first["css0"]).get_data(as_text=True)
    assert "edited-in-dev" not in old_css

    partial = project / "static" / "scss" / "_buttons.scss"
    with partial.open("a") as fh:
        fh.write("\n.edited-in-dev { outline-offset: 7px; }\n")
    second = page_urls(client)
    assert second["css0"] != first["css0"]
    assert second["js0"] == first["js0"]  # only the bundle that read the partial changes
    new_css = client.get(second["css0"]).get_data(as_text=True)
    assert "edited-in-dev" in new_css
    assert not (project / "static" / "gen" / "manifest.json").exists()


def test_auto_build_does_not_rebuild_unchanged(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    client = make_app(project, ASSETS_AUTO_BUILD=True).test_client()
    first = page_urls(client, "/gallery")
    state = dev_state(project)
    assert state
    # Let any rewrite be visible in mtimes, even on coarse-timestamp file systems.
    time.sleep(0.05)
    os.sync()
    assert page_urls(client, "/gallery") == first
    assert dev_state(project) == state


def test_auto_build_never_disturbs_the_production_build(
    built: Path, make_app: Callable[..., Flask]
) -> None:
    gen = built / "static" / "gen"
    manifest = (gen / "manifest.json").read_bytes()
    outputs = {p.name: p.read_bytes() for p in gen.iterdir() if p.is_file()}
    with (built / "static" / "scss" / "_buttons.scss").open("a") as fh:
        fh.write("\n.dev-only { top: 2px; }\n")
    client = make_app(built, ASSETS_AUTO_BUILD=True).test_client()
    assert "dev-only" in client.get(page_urls(client)["css0"]).get_data(as_text=True)
    assert (gen / "manifest.json").read_bytes() == manifest
    for name, data in outputs.items():
        assert (gen / name).read_bytes() == data, name
