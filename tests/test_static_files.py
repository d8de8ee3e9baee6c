"""Every static file digested: url_for('static', ...) in production, caching, CDN, check.

Expected names and hashes are computed here, independently of the app's helpers.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import build_project, read_manifest, run_flask, sri
from flask import Flask, render_template_string

from app.assets import ManifestError, builder
from app.assets import manifest as manifest_mod
from app.assets.clean import clean
from app.assets.declare import load_spec

FOREVER = "public, max-age=31536000, immutable"
CDN = "https://cdn.example.com/static"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # binary: never compressed


def digested(logical: str, data: bytes) -> str:
    """``img/leaf.svg`` -> ``gen/img/leaf.<first 8 hex of sha256>.svg``."""
    stem, _, ext = logical.rpartition(".")
    return f"gen/{stem}.{hashlib.sha256(data).hexdigest()[:8]}.{ext}"


def write_template(root: Path, name: str, body: str) -> None:
    (root / "templates" / name).write_text(body, encoding="utf-8")


@pytest.fixture
def site(project: Path) -> Path:
    """The demo site with a photo and a PDF besides the leaf icon, built."""
    (project / "static/img/photo.png").write_bytes(PNG)
    (project / "static/docs").mkdir()
    (project / "static/docs/menu.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    (project / "static/.hidden").write_text("not served\n")
    build_project(project)
    return project


def test_manifest_lists_every_served_file_and_nothing_else(site: Path) -> None:
    static = site / "static"
    files = read_manifest(site)["files"]
    # Not the bundles' sources (SCSS partials included), not dotfiles, not gen/.
    assert set(files) == {"img/leaf.svg", "img/photo.png", "docs/menu.pdf"}
    for logical, entry in files.items():
        data = (static / logical).read_bytes()
        assert entry == {
            "file": digested(logical, data),
            "url": "/static/" + digested(logical, data),
            "integrity": sri(data),
            "bytes": len(data),
        }
        assert (static / entry["file"]).read_bytes() == data
    # Compressible types get siblings; PNG and PDF do not.
    svg = files["img/leaf.svg"]["file"]
    assert (static / (svg + ".br")).exists() and (static / (svg + ".gz")).exists()
    for logical in ("img/photo.png", "docs/menu.pdf"):
        rel = files[logical]["file"]
        assert not (static / (rel + ".br")).exists() and not (static / (rel + ".gz")).exists()


def test_production_links_digested_urls_and_development_plain_ones(
    site: Path, make_app: Callable[..., Flask]
) -> None:
    files = read_manifest(site)["files"]
    prod = make_app(site, ASSETS_AUTO_BUILD=False).test_client()
    page = prod.get("/gallery").text
    assert files["img/leaf.svg"]["url"] in page
    assert "/static/img/leaf.svg" not in page
    dev = make_app(site, ASSETS_AUTO_BUILD=True, ASSETS_LIVE_RELOAD=False).test_client()
    page = dev.get("/gallery").text
    assert 'src="/static/img/leaf.svg"' in page
    assert files["img/leaf.svg"]["url"] not in page


def test_digested_files_are_cached_forever_plain_ones_briefly(
    site: Path, make_app: Callable[..., Flask]
) -> None:
    static = site / "static"
    client = make_app(site, ASSETS_AUTO_BUILD=False).test_client()
    for logical, entry in read_manifest(site)["files"].items():
        r = client.get(entry["url"])
        assert r.status_code == 200, logical
        assert r.headers["Cache-Control"] == FOREVER, logical
        assert r.data == (static / logical).read_bytes()
    r = client.get("/static/gen/img/leaf.svg".replace("gen/", ""))
    assert r.status_code == 200 and "immutable" not in r.headers["Cache-Control"]


def test_url_for_in_templates_and_code(site: Path, make_app: Callable[..., Flask]) -> None:
    files = read_manifest(site)["files"]
    app = make_app(site, ASSETS_AUTO_BUILD=False)
    with app.test_request_context("/"):
        from flask import url_for

        assert url_for("static", filename="img/photo.png") == files["img/photo.png"]["url"]
        html = render_template_string("{{ url_for('static', filename='docs/menu.pdf') }}")
        assert html == files["docs/menu.pdf"]["url"]
        external = url_for("static", filename="img/photo.png", _external=True)
        assert external == "http://localhost" + files["img/photo.png"]["url"]
        # Not in the manifest: Flask's own URL, and Flask's 404.
        assert url_for("static", filename="img/nope.png") == "/static/img/nope.png"
        assert url_for("pages.gallery") == "/gallery"
    assert app.test_client().get("/static/img/nope.png").status_code == 404


def test_cdn_urls_under_assets_url(site: Path, make_app: Callable[..., Flask]) -> None:
    files = read_manifest(site)["files"]
    client = make_app(site, ASSETS_AUTO_BUILD=False, ASSETS_URL=CDN).test_client()
    page = client.get("/gallery").text
    assert f'src="{CDN}/{files["img/leaf.svg"]["file"]}"' in page
    assert 'href="/static/' not in page and 'src="/static/' not in page


def test_changed_image_gets_a_new_url_unchanged_ones_are_not_rewritten(
    site: Path, tmp_path: Path
) -> None:
    static = site / "static"
    for cache_dir in (None, tmp_path / "cache"):  # hashed each time, then fingerprinted

        def build(cache_dir: Path | None = cache_dir) -> None:
            builder.build(load_spec(site / "assets.yml", static), cache_dir=cache_dir, jobs=1)

        build()
        before = read_manifest(site)["files"]
        stamps = {
            p: p.stat().st_mtime_ns
            for p in (static / "gen").rglob("*")
            if p.is_file() and p.name[0] != "." and p.name != "manifest.json"
        }
        svg = static / "img/leaf.svg"
        svg.write_bytes(svg.read_bytes().replace(b"</svg>", b"<!-- v2 --></svg>"))
        build()
        after = read_manifest(site)["files"]
        assert after["img/leaf.svg"]["url"] != before["img/leaf.svg"]["url"]
        assert after["img/leaf.svg"]["file"] == digested("img/leaf.svg", svg.read_bytes())
        assert after["img/photo.png"] == before["img/photo.png"]
        assert after["docs/menu.pdf"] == before["docs/menu.pdf"]
        for path, mtime in stamps.items():
            assert path.stat().st_mtime_ns == mtime, f"{path} was rewritten"
        # The CSS naming the image follows it; the old build keeps its files.
        m = read_manifest(site)
        assert m["bundles"]["css_all"]["assets"] == [after["img/leaf.svg"]["file"]]
        assert m["previous_files"][0]["img/leaf.svg"] == before["img/leaf.svg"]


def test_clean_keeps_the_files_of_kept_builds(site: Path) -> None:
    static = site / "static"
    old = read_manifest(site)["files"]["img/leaf.svg"]["file"]
    svg = static / "img/leaf.svg"
    svg.write_bytes(svg.read_bytes().replace(b"</svg>", b"<!-- v2 --></svg>"))
    build_project(site)
    new = read_manifest(site)["files"]
    assert clean(static, keep=1) == []
    assert (static / old).exists()
    removed = clean(static, keep=0)
    assert old in removed and old + ".br" in removed
    for entry in new.values():
        assert (static / entry["file"]).exists()


def test_check_reports_missing_linked_files_and_stale_copies(site: Path) -> None:
    write_template(
        site,
        "broken.html",
        "<p>x</p>\n<img src=\"{{ url_for('static', filename='img/nope.png') }}\">\n",
    )
    r = run_flask(site, "assets", "check")
    assert r.returncode == 1
    assert any(
        line.endswith(
            "broken.html:2: links static file 'img/nope.png', which does not exist in static/"
        )
        for line in r.stderr.splitlines()
    ), r.stderr
    (site / "templates/broken.html").unlink()
    assert run_flask(site, "assets", "check").returncode == 0

    static = site / "static"
    copy = static / read_manifest(site)["files"]["img/photo.png"]["file"]
    copy.write_bytes(b"tampered")
    (static / "img/new.png").write_bytes(PNG[::-1])
    r = run_flask(site, "assets", "check")
    assert r.returncode == 1
    assert "static file 'img/photo.png'" in r.stderr and "differs" in r.stderr, r.stderr
    assert "static file 'img/new.png': not in the manifest" in r.stderr, r.stderr
    (static / "docs/menu.pdf").write_bytes(b"%PDF-1.4\nedited\n")
    r = run_flask(site, "assets", "check")
    assert "static file 'docs/menu.pdf': changed since the build" in r.stderr, r.stderr


def test_manifest_files_are_validated_and_older_manifests_still_read(site: Path) -> None:
    doc = read_manifest(site)
    good = manifest_mod.parse(json.dumps(doc).encode(), "m")
    assert good.files["img/photo.png"].file == doc["files"]["img/photo.png"]["file"]
    older = {k: v for k, v in doc.items() if k != "files"}
    assert manifest_mod.parse(json.dumps(older).encode(), "m").files == {}
    for bad in (
        {"img/x.png": {**doc["files"]["img/photo.png"], "file": "../etc/passwd"}},
        {"img/x.png": {**doc["files"]["img/photo.png"], "url": "https://evil.example/x.png"}},
        {"../x.png": doc["files"]["img/photo.png"]},
        {"img/x.png": {**doc["files"]["img/photo.png"], "bytes": -1}},
        [],
    ):
        with pytest.raises(ManifestError, match="invalid manifest"):
            manifest_mod.parse(json.dumps({**doc, "files": bad}).encode(), "m")


BIG = 50 * 1024 * 1024
MEMORY_PROBE = """
import sys, tracemalloc
from pathlib import Path
from app.assets import builder
from app.assets.declare import load_spec
root = Path(sys.argv[1])
spec = load_spec(root / "assets.yml", root / "static")
tracemalloc.start()
builder.build(spec, jobs=1)
print(tracemalloc.get_traced_memory()[1])
"""


def test_a_50_mb_file_is_streamed_not_compressed(project: Path) -> None:
    static = project / "static"
    (static / "media").mkdir()
    block = os.urandom(1024 * 1024)
    h = hashlib.sha256()
    with open(static / "media/intro.mp4", "wb") as fh:
        for i in range(BIG // len(block)):
            chunk = bytes([i]) + block[1:]
            fh.write(chunk)
            h.update(chunk)
    r = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(project)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert r.returncode == 0, r.stderr
    peak = int(r.stdout.split()[-1])
    assert peak < 16 * 1024 * 1024, f"peak {peak:,} B: the file was read whole"
    entry = read_manifest(project)["files"]["media/intro.mp4"]
    assert entry["bytes"] == BIG
    assert entry["file"] == f"gen/media/intro.{h.hexdigest()[:8]}.mp4"
    copy = static / entry["file"]
    assert copy.stat().st_size == BIG
    assert not copy.with_name(copy.name + ".gz").exists()
    assert not copy.with_name(copy.name + ".br").exists()


def test_fingerprints_skip_reading_unchanged_files_and_a_damaged_copy_is_repaired(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.assets import static_files

    static = site / "static"
    old = 1_600_000_000
    for logical in ("img/leaf.svg", "img/photo.png", "docs/menu.pdf"):
        os.utime(static / logical, (old, old))  # not racy: the stat can be trusted
    spec = load_spec(site / "assets.yml", static)
    builder.build(spec, cache_dir=tmp_path / "cache", jobs=1)

    def no_reading(*args: object, **kw: object) -> None:
        raise AssertionError("an unchanged file was read")

    monkeypatch.setattr(static_files, "stream_hashes", no_reading)
    builder.build(spec, cache_dir=tmp_path / "cache", jobs=1)
    monkeypatch.undo()

    copy = static / read_manifest(site)["files"]["img/photo.png"]["file"]
    copy.write_bytes(b"damaged")
    builder.build(spec, cache_dir=tmp_path / "cache", jobs=1)
    assert copy.read_bytes() == PNG
