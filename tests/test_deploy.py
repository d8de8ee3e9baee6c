"""Deploying built assets: rolling deploys, `assets clean`, reproducible builds, gunicorn.

The gunicorn tests start the real server (``python -m gunicorn 'app:create_app()'``) on a
free 127.0.0.1 port against a built tmp tree, and talk to it with ``http.client`` so that
nothing decodes a compressed body behind the test's back.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin

import brotli
import pytest
from conftest import (
    build_project,
    bundle_refs,
    copy_project,
    flask_env,
    free_port,
    read_manifest,
    run_flask,
    snapshot,
    sri,
    stop_process,
)
from flask import Flask

FOREVER = "public, max-age=31536000, immutable"
PAGES = ("/", "/about", "/gallery")
BOOT_TIMEOUT = 30.0


def hashed_name(name: str, data: bytes) -> str:
    stem, _, ext = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:8]}.{ext}"


def gen_files(root: Path) -> set[str]:
    """static/-relative paths of the build outputs in static/gen/ (not manifest or lock)."""
    gen = root / "static/gen"
    return {
        p.relative_to(root / "static").as_posix()
        for p in gen.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", ".build.lock")
    }


def with_siblings(files: set[str]) -> set[str]:
    return files | {f + ".gz" for f in files} | {f + ".br" for f in files}


# --- 5. Rolling deploys and `assets clean` --------------------------------------------------


def test_old_pages_still_find_their_bundles_after_a_new_build(
    built: Path, make_app: Callable[..., Flask]
) -> None:
    old_app = make_app(built, ASSETS_AUTO_BUILD=False)
    old_pages = {p: old_app.test_client().get(p).get_data(as_text=True) for p in PAGES}
    old_refs = {r for html in old_pages.values() for r in bundle_refs(html) if r[1]}
    old_bundles = read_manifest(built)["bundles"]

    static = built / "static"
    with open(static / "js/main.js", "a", encoding="utf-8") as fh:
        fh.write("\nwindow.deployed = 2;\n")
    with open(static / "scss/gallery.scss", "a", encoding="utf-8") as fh:
        fh.write("\n.deployed { color: red; }\n")
    r = run_flask(built, "assets", "build")
    assert r.returncode == 0, r.stderr

    manifest = read_manifest(built)
    assert manifest["previous"][0] == old_bundles
    for name in ("js_all", "css_gallery"):
        assert manifest["bundles"][name]["file"] != old_bundles[name]["file"], name

    # The new release serves the new pages *and* every bundle an old page links to.
    new = make_app(built, ASSETS_AUTO_BUILD=False).test_client()
    new_refs = {r for p in PAGES for r in bundle_refs(new.get(p).get_data(as_text=True)) if r[1]}
    assert new_refs != old_refs
    for url, integrity in old_refs | new_refs:
        resp = new.get(url)
        assert resp.status_code == 200, url
        assert sri(resp.data) == integrity, url
        assert resp.headers["Cache-Control"] == FOREVER


def _edit(root: Path, step: int) -> None:
    """A different source edit for each of builds 2..5 (build 1 is the original tree)."""
    static = root / "static"
    svg = static / "img/leaf.svg"
    if step == 2:
        with open(static / "js/main.js", "a", encoding="utf-8") as fh:
            fh.write("\nwindow.build = 2;\n")
    elif step == 3:  # only the url() image: css_all changes through its hashed name
        svg.write_bytes(svg.read_bytes().replace(b"#66bb6a", b"#43a047"))
    elif step == 4:
        with open(static / "scss/gallery.scss", "a", encoding="utf-8") as fh:
            fh.write("\n.build-4 { color: red; }\n")
    elif step == 5:
        svg.write_bytes(svg.read_bytes().replace(b"#43a047", b"#2e7d32"))
        with open(static / "js/util.js", "a", encoding="utf-8") as fh:
            fh.write("\nwindow.build = 5;\n")


def test_clean_keeps_current_and_assets_keep_previous_builds(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    static = project / "static"
    builds: list[dict[str, dict[str, str]]] = []
    images: list[str] = []  # the hashed url() copy of leaf.svg each build's CSS names
    for step in range(1, 6):
        _edit(project, step)
        r = run_flask(project, "assets", "build", FLASK_ASSETS_KEEP="2")
        assert r.returncode == 0, r.stderr
        builds.append(read_manifest(project)["bundles"])
        images.append("gen/img/" + hashed_name("leaf.svg", (static / "img/leaf.svg").read_bytes()))
    assert all(builds[i] != builds[i + 1] for i in range(4)), "each edit makes a new build"
    assert len(set(images)) == 3

    manifest = read_manifest(project)
    assert manifest["bundles"] == builds[4]
    assert manifest["previous"] == [builds[3], builds[2]], "newest first, ASSETS_KEEP=2"

    def outputs_of(indexes: range) -> set[str]:
        files = {e["file"] for i in indexes for e in builds[i].values()}
        return with_siblings(files | {images[i] for i in indexes})

    everything = outputs_of(range(5))
    kept = outputs_of(range(2, 5))
    before = gen_files(project)
    assert before == everything, "builds only add files; every old output still exists"
    assert everything - kept, "the edits must leave something for clean to remove"
    assert images[0] + ".br" in everything - kept

    r = run_flask(project, "assets", "clean", FLASK_ASSETS_KEEP="2")
    assert r.returncode == 0, r.stderr
    assert gen_files(project) == kept
    removed = {line.removeprefix("removed ") for line in r.stdout.splitlines()}
    assert removed - {f"{len(before - kept)} file(s) removed"} == before - kept
    assert read_manifest(project) == manifest

    # Whatever a kept build's pages link to is still served; cleaned files are gone.
    client = make_app(project, ASSETS_AUTO_BUILD=False).test_client()
    for rel in kept:
        assert client.get(f"/static/{rel}").status_code == 200, rel
    for rel in before - kept:
        assert client.get(f"/static/{rel}").status_code == 404, rel

    again = run_flask(project, "assets", "clean", FLASK_ASSETS_KEEP="2")
    assert again.returncode == 0 and gen_files(project) == kept
    assert "removed gen/" not in again.stdout


# --- 6. Reproducible builds -------------------------------------------------------------------


def _outputs_snapshot(root: Path) -> dict[str, bytes]:
    snap = snapshot(root / "static/gen")
    snap.pop(".build.lock", None)  # the build's lock file, not an output
    return snap


def test_builds_are_reproducible(tmp_path: Path) -> None:
    a = copy_project(tmp_path / "a")
    b = copy_project(tmp_path / "checkout-b")
    # Different mtimes and a different way in (the real CLI) must not matter.
    for p in (b / "static").rglob("*"):
        os.utime(p, (1_000_000_000, 1_000_000_000))
    build_project(a)
    r = run_flask(b, "assets", "build")
    assert r.returncode == 0, r.stderr
    first = _outputs_snapshot(a)
    assert any(k.endswith(".br") for k in first) and any(k.endswith(".gz") for k in first)
    assert "manifest.json" in first
    assert _outputs_snapshot(b) == first

    # From scratch again: in-process, and through the CLI (whose build cache is now warm).
    shutil.rmtree(a / "static/gen")
    build_project(a)
    assert _outputs_snapshot(a) == first
    shutil.rmtree(b / "static/gen")
    r = run_flask(b, "assets", "build")
    assert r.returncode == 0, r.stderr
    assert _outputs_snapshot(b) == first

    build_project(a)  # nothing changed: nothing new, no "previous" entry
    assert _outputs_snapshot(a) == first


# --- 7. A real server -------------------------------------------------------------------------


def gunicorn_cmd(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-b",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--graceful-timeout",
        "3",
        "app:create_app()",
    ]


@contextlib.contextmanager
def gunicorn(root: Path, log: Path) -> Iterator[int]:
    """Run gunicorn on ``root`` in production mode; yields its port once it accepts."""
    port = free_port()
    env = flask_env(root, FLASK_ASSETS_AUTO_BUILD="false")
    with open(log, "wb") as out:
        proc = subprocess.Popen(gunicorn_cmd(port), cwd=root, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}")
            try:
                status, _, _ = fetch(port, "/")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer in {BOOT_TIMEOUT} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield port
    finally:
        stop_process(proc)


def fetch(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        names = {k.replace("_", "-"): v for k, v in headers.items()}
        conn.request("GET", path, headers=names)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def decoded(headers: dict[str, str], body: bytes) -> bytes:
    encoding = headers.get("content-encoding")
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


def test_gunicorn_serves_the_built_site(built: Path, tmp_path: Path) -> None:
    static = built / "static"
    with gunicorn(built, tmp_path / "gunicorn.log") as port:
        refs: dict[str, str | None] = {}
        for page in PAGES:
            status, headers, body = fetch(port, page)
            assert status == 200, page
            assert headers["content-type"].startswith("text/html")
            for url, integrity in bundle_refs(body.decode()):
                refs[url] = refs.get(url) or integrity
        manifest = read_manifest(built)["bundles"]
        on_pages = {manifest[n]["url"] for n in ("css_all", "js_all", "css_gallery", "js_gallery")}
        assert set(refs) == on_pages
        assert all(refs.values()), "every bundle tag carries an integrity attribute"

        urls = dict(refs)
        css_url = manifest["css_all"]["url"]
        css = (static / manifest["css_all"]["file"]).read_text()
        image = "img/" + hashed_name("leaf.svg", (static / "img/leaf.svg").read_bytes())
        assert f'url("{image}")' in css
        urls[urljoin(css_url, image)] = sri((static / "img/leaf.svg").read_bytes())

        for url, integrity in urls.items():
            kind = url.rpartition(".")[2]
            for accept, encoding in (("", None), ("br, gzip", "br"), ("gzip", "gzip")):
                extra = {"Accept-Encoding": accept} if accept else {}
                status, headers, body = fetch(port, url, **extra)
                assert status == 200, (url, accept)
                assert headers["cache-control"] == FOREVER, url
                assert headers.get("content-encoding") == encoding, (url, accept)
                assert "accept-encoding" in headers.get("vary", "").lower(), url
                assert int(headers["content-length"]) == len(body)
                ctype = headers["content-type"]
                if kind == "css":
                    assert ctype.startswith("text/css"), ctype
                elif kind == "js":
                    assert ctype.split(";")[0] in ("text/javascript", "application/javascript")
                else:
                    assert ctype.startswith("image/svg+xml"), ctype
                assert sri(decoded(headers, body)) == integrity, (url, accept)
                if encoding:
                    assert len(body) < len(decoded(headers, body))
                status, headers, body = fetch(port, url, If_None_Match=headers["etag"], **extra)
                assert status == 304, (url, accept)
                assert body == b""
                assert headers["cache-control"] == FOREVER

        status, headers, _ = fetch(port, "/static/img/leaf.svg")
        assert status == 200 and "immutable" not in headers["cache-control"]
        status, _, _ = fetch(port, "/static/gen/app.00000000.css")
        assert status == 404


def test_gunicorn_refuses_to_boot_an_unbuilt_tree(project: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        gunicorn_cmd(free_port()),
        cwd=project,
        env=flask_env(project, FLASK_ASSETS_AUTO_BUILD="false"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        out, _ = proc.communicate(timeout=BOOT_TIMEOUT)
    finally:
        stop_process(proc)
    text = out.decode(errors="replace")
    assert proc.returncode not in (0, None), text
    assert "flask --app app assets build" in text, text
    assert "manifest" in text
