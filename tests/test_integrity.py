"""Issue 13: what is served is always what the sources build to, and nothing else leaks out.

One test (or a small group) per numbered case of the issue, through the public surface:
the `flask assets` commands, the test client, and real servers where the failure is at
the socket level. Cases 6 and 7 (output names, YAML aliases) live with the declarations.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_publish
from conftest import build_project, read_manifest, run_flask
from flask import Flask

from app.assets.cli import assets
from app.assets.publish import make_client

# The moto S3 server and a fresh bucket per test (case 10).
s3 = test_publish.s3
bucket = test_publish.bucket

OVERLAY = 'id="assets-error-overlay"'


def cli(app: Flask, *args: str) -> Any:
    """``flask assets <args>`` in-process; the result has ``exit_code`` and ``output``."""
    return app.test_cli_runner().invoke(assets, list(args))


def prod(make_app: Callable[..., Flask], root: Path, **config: Any) -> Flask:
    """A production app (it needs a build to start)."""
    return make_app(root, ASSETS_AUTO_BUILD=False, **config)


def tool(make_app: Callable[..., Flask], root: Path, **config: Any) -> Flask:
    """An app to run `flask assets` commands in-process, with or without a build."""
    return make_app(root, ASSETS_AUTO_BUILD=True, **config)


def css_text(app: Flask) -> str:
    """css_all as a development server serves it to the page."""
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    m = re.search(r'href="([^"]+)"[^>]*data-bundle="css_all"', html) or re.search(
        r'data-bundle="css_all"[^>]*href="([^"]+)"', html
    )
    assert m, html[:500]
    return client.get(m.group(1)).get_data(as_text=True)


def gen_file(root: Path, bundle: str) -> Path:
    return root / "static" / read_manifest(root)["bundles"][bundle]["file"]


# --- 1. negative lookups: creating a file that changes what an @import resolves to -------


def shadowed_import(project: Path) -> Path:
    """main.scss imports "shared", found in static/ (an include path) for now; returns the
    path of the file that, once created, libsass prefers (beside main.scss)."""
    static = project / "static"
    (static / "_shared.scss").write_text(".shared { color: red; }\n")
    main = static / "scss" / "main.scss"
    main.write_text('@import "shared";\n' + main.read_text())
    return static / "scss" / "_shared.scss"


def test_created_partial_is_picked_by_cached_build_and_by_check(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    nearer = shadowed_import(project)
    app = tool(make_app, project, ASSETS_CACHE_DIR=str(project / "cache"))
    assert cli(app, "build").exit_code == 0
    assert "color:red" in gen_file(project, "css_all").read_text()
    assert cli(app, "check").exit_code == 0

    nearer.write_text(".shared { color: blue; }\n")
    result = cli(app, "check")
    assert result.exit_code == 1 and "bundle 'css_all': stale" in result.stderr, result.stderr
    assert cli(app, "build").exit_code == 0  # with the cache filled by the first build
    css = gen_file(project, "css_all").read_text()
    assert "color:blue" in css and "color:red" not in css
    assert cli(app, "check").exit_code == 0


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "stat"])
def test_created_partial_is_picked_by_the_dev_server(
    project: Path, make_app: Callable[..., Flask], inotify: bool
) -> None:
    nearer = shadowed_import(project)
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True, ASSETS_INOTIFY=inotify)
    assert ".shared {\n  color: red;" in css_text(app)
    assert ".shared {\n  color: red;" in css_text(app)  # a quiet request: the gate's turn
    nearer.write_text(".shared { color: blue; }\n")
    assert ".shared {\n  color: blue;" in css_text(app)


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "stat"])
@pytest.mark.parametrize("where", ["scss", "."], ids=["beside", "include-path"])
def test_missing_import_error_clears_when_the_file_is_created(
    project: Path, make_app: Callable[..., Flask], inotify: bool, where: str
) -> None:
    main = project / "static" / "scss" / "main.scss"
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True, ASSETS_INOTIFY=inotify)
    client = app.test_client()
    assert OVERLAY not in client.get("/").get_data(as_text=True)
    main.write_text('@import "later";\n' + main.read_text())
    page = client.get("/").get_data(as_text=True)
    assert OVERLAY in page and "later" in page
    assert OVERLAY in client.get("/").get_data(as_text=True)  # quiet: still an error
    (project / "static" / where / "_later.scss").write_text(".later { color: teal; }\n")
    assert OVERLAY not in client.get("/").get_data(as_text=True)  # importer not saved
    assert ".later {\n  color: teal;" in css_text(app)


def test_watch_picks_a_created_partial_and_clears_a_missing_import(project: Path) -> None:
    from test_watch import Watcher

    nearer = shadowed_import(project)
    watcher = Watcher(project)
    try:
        watcher.wait_for("out", "watching ", timeout=60, only=False)
        assert "color:red" in gen_file(project, "css_all").read_text()
        nearer.write_text(".shared { color: blue; }\n")
        watcher.wait_for("out", "css_all ", timeout=10, only=False)
        assert "color:blue" in gen_file(project, "css_all").read_text()

        main = project / "static" / "scss" / "main.scss"
        main.write_text('@import "later";\n' + main.read_text())
        _, err = watcher.wait_for("err", "error:", timeout=10, only=False)
        assert "later" in err
        (project / "static" / "scss" / "_later.scss").write_text(".later { color: teal; }\n")
        watcher.wait_for("out", "css_all ", timeout=10, only=False)
        assert "teal" in gen_file(project, "css_all").read_text()
    finally:
        watcher.stop()


# --- 2. build repairs damaged outputs; check sees them -----------------------------------


@pytest.mark.parametrize("flags", [[], ["--no-cache"]], ids=["cache", "no-cache"])
def test_build_repairs_same_size_overwrite_and_truncated_br(
    built: Path, make_app: Callable[..., Flask], flags: list[str]
) -> None:
    app = prod(make_app, built)
    js, css = gen_file(built, "js_all"), gen_file(built, "css_all")
    good_js = js.read_bytes()
    br = Path(f"{css}.br")
    good_br = br.read_bytes()
    js.write_bytes(b"/" * len(good_js))  # same size, other bytes
    br.write_bytes(good_br[:20])

    result = cli(app, "check")
    assert result.exit_code == 1
    assert f"{js.name} does not match the manifest" in result.stderr, result.stderr
    assert f"{br.name} does not decompress" in result.stderr, result.stderr

    assert cli(app, "build", *flags).exit_code == 0
    assert js.read_bytes() == good_js and br.read_bytes() == good_br
    assert cli(app, "check").exit_code == 0


# --- 3. check does not trust the build cache ---------------------------------------------


def test_check_reports_a_poisoned_cache_that_build_used(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    cache = project / "cache"
    app = tool(make_app, project, ASSETS_CACHE_DIR=str(cache))
    assert cli(app, "build").exit_code == 0
    poisoned = 0
    for entry in (p for p in cache.rglob("*") if p.is_file()):
        payload = entry.read_bytes().partition(b"\n")[2]
        if not payload.startswith(b"{") and b"Shop" in payload:  # a minified JS file
            payload += b"\nwindow.injected=1;"  # a restored CI cache, checksum and all
            entry.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
            poisoned += 1
    assert poisoned
    shutil.rmtree(project / "static" / "gen")

    assert cli(app, "build").exit_code == 0
    assert b"window.injected" in gen_file(project, "js_all").read_bytes()  # build used it
    result = cli(app, "check")
    assert result.exit_code == 1 and "bundle 'js_all'" in result.stderr, result.stderr


# --- 4. the manifest is validated wherever it is read ------------------------------------

BAD_MANIFESTS = {
    "other-site": lambda m: m["bundles"]["js_all"].update(url="https://elsewhere/x.js"),
    "javascript": lambda m: m["bundles"]["js_all"].update(url="javascript:alert(1)//x.js"),
    "huge-bytes": None,  # "bytes": 1e400, written as text (json cannot dump inf)
    "deep": None,  # nesting far beyond Python's recursion limit
}


def damage(root: Path, kind: str) -> Path:
    path = root / "static" / "gen" / "manifest.json"
    doc = read_manifest(root)
    fix = BAD_MANIFESTS[kind]
    if fix is not None:
        fix(doc)
        path.write_text(json.dumps(doc))
    elif kind == "huge-bytes":
        text = json.dumps(doc)
        path.write_text(re.sub(r'"bytes": \d+', '"bytes": 1e400', text, count=1))
    else:
        path.write_text('{"version": 1, "bundles": ' + "[" * 200_000 + "]" * 200_000 + "}")
    return path


def assert_one_line(text: str, needle: str = "static/gen/manifest.json") -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Traceback" not in text and lines, text
    assert any(needle in line for line in lines), text
    assert len(lines) <= 2, text  # the error, and at most the command's summary


@pytest.mark.parametrize("kind", list(BAD_MANIFESTS))
def test_bad_manifest_is_one_line_at_start_up_in_check_publish_and_build(
    built: Path, kind: str
) -> None:
    damage(built, kind)
    start = run_flask(built, "routes", FLASK_ASSETS_AUTO_BUILD="false")
    assert start.returncode != 0
    assert_one_line(start.stderr)
    assert start.stderr.startswith("Error: static/gen/manifest.json: invalid manifest")

    check = run_flask(built, "assets", "check")
    assert check.returncode == 1
    assert_one_line(check.stderr)

    publish = run_flask(
        built,
        "assets",
        "publish",
        FLASK_ASSETS_S3_BUCKET="b",
        FLASK_ASSETS_S3_ENDPOINT_URL="http://127.0.0.1:9",
    )
    assert publish.returncode == 1
    assert_one_line(publish.stderr)

    build = run_flask(built, "assets", "build")
    assert build.returncode == 0, build.stderr
    assert "Traceback" not in build.stderr
    notes = [line for line in build.stderr.splitlines() if "manifest.json" in line]
    assert len(notes) == 1 and notes[0].startswith("warning: ") and "replaced" in notes[0], notes
    assert run_flask(built, "routes", FLASK_ASSETS_AUTO_BUILD="false").returncode == 0


# --- 5. nothing from outside static/ is published ----------------------------------------


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_scss_import_from_outside_static_is_a_one_line_error(
    project: Path, make_app: Callable[..., Flask], how: str
) -> None:
    secret = project.parent / "_secret.scss"
    secret.write_text(".secret { color: red; }\n")
    target = "../../../secret" if how == "relative" else str(project.parent / "secret")
    main = project / "static" / "scss" / "main.scss"
    main.write_text(f'@import "{target}";\n' + main.read_text())
    result = cli(tool(make_app, project), "build")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "outside the static folders" in lines[0], result.stderr
    assert "_secret.scss" in lines[0]
    gen = project / "static" / "gen"
    assert not any(b"secret" in p.read_bytes() for p in gen.rglob("*") if p.is_file())


def test_url_through_a_symlink_out_of_static_is_a_one_line_error(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    secret = project.parent / "secret.svg"
    secret.write_text("<svg><!-- secret --></svg>\n")
    (project / "static" / "img" / "link.svg").symlink_to(secret)
    main = project / "static" / "scss" / "main.scss"
    main.write_text(main.read_text() + '\n.x { background: url("../img/link.svg"); }\n')
    result = cli(tool(make_app, project), "build")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "outside the static folders" in lines[0], result.stderr
    gen = project / "static" / "gen"
    assert not any(b"secret" in p.read_bytes() for p in gen.rglob("*") if p.is_file())


def test_production_does_not_follow_symlinks_out_of_static(
    built: Path, make_app: Callable[..., Flask]
) -> None:
    outside = built.parent / "private"
    outside.mkdir()
    (outside / "key.txt").write_text("secret key\n")
    static = built / "static"
    (static / "key.txt").symlink_to(outside / "key.txt")
    (static / "private").symlink_to(outside)
    (static / "img" / "leaf-link.svg").symlink_to(static / "img" / "leaf.svg")  # inside: fine
    client = prod(make_app, built).test_client()
    for url in ("/static/key.txt", "/static/private/key.txt"):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert b"secret" not in resp.get_data()
    assert client.get("/static/img/leaf-link.svg").status_code == 200


# --- 11. per-bundle builds keep the history; overlay only in debug; no gen/dev ------------


def test_per_bundle_build_keeps_the_deploy_history(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    app = tool(make_app, project)
    main = project / "static" / "scss" / "main.scss"
    for step in (1, 2, 3):
        main.write_text(main.read_text() + f"\n.step{step} {{ margin: {step}px; }}\n")
        assert cli(app, "build").exit_code == 0
    history = read_manifest(project)["previous"]
    assert len(history) == 2
    for step in (4, 5):
        main.write_text(main.read_text() + f"\n.step{step} {{ margin: {step}px; }}\n")
        assert cli(app, "build", "css_all").exit_code == 0
    doc = read_manifest(project)
    assert doc["previous"] == history, "a per-bundle build pushed a history entry"
    assert "step5" in (project / "static" / doc["bundles"]["css_all"]["file"]).read_text()
    assert cli(app, "clean").exit_code == 0
    for build in doc["previous"]:
        for entry in build.values():
            assert (project / "static" / entry["file"]).is_file(), entry["file"]


def test_auto_build_without_debug_shows_no_overlay_and_no_source(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=False)
    client = app.test_client()
    client.get("/")
    buttons = project / "static" / "scss" / "_buttons.scss"
    buttons.write_text(buttons.read_text() + "\n.broken { width: 10px !; secret-source: 1 }\n")
    page = client.get("/").get_data(as_text=True)
    assert OVERLAY not in page and "secret-source" not in page and "_buttons" not in page


def test_production_never_serves_gen_dev(project: Path, make_app: Callable[..., Flask]) -> None:
    dev = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    dev.test_client().get("/")
    dev_files = [p for p in (project / "static/gen/dev").rglob("*") if p.is_file()]
    assert dev_files
    build_project(project)
    client = prod(make_app, project).test_client()
    for p in dev_files:
        url = "/static/" + p.relative_to(project / "static").as_posix()
        assert client.get(url).status_code == 404, url


# --- 9. production under change ------------------------------------------------------------


def http_get(base: str, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_manifest_rebuilt_under_a_running_server_is_sent_whole(
    built: Path, make_app: Callable[..., Flask], live_server: Callable[[Flask], str]
) -> None:
    base = live_server(prod(make_app, built))
    status, _, body = http_get(base, "/static/gen/manifest.json")
    assert status == 200 and json.loads(body)
    main = built / "static" / "scss" / "main.scss"
    main.write_text(main.read_text() + "\n.later { margin: 1px; }\n")
    build_project(built)  # the manifest grows: it now has a previous build
    status, headers, body = http_get(base, "/static/gen/manifest.json")
    assert status == 200
    assert body == (built / "static/gen/manifest.json").read_bytes()
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body)["previous"]


def test_hashed_file_deleted_after_start_up_is_a_404(
    built: Path, make_app: Callable[..., Flask], live_server: Callable[[Flask], str]
) -> None:
    base = live_server(prod(make_app, built))
    rel = read_manifest(built)["bundles"]["js_all"]["file"]
    assert http_get(base, f"/static/{rel}")[0] == 200
    (built / "static" / rel).unlink()
    assert http_get(base, f"/static/{rel}")[0] == 404
    assert http_get(base, "/")[0] == 200  # the server lives on


def test_fifo_and_dangling_symlink_do_not_stop_start_up_or_commands(
    built: Path, make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    static = built / "static"
    os.mkfifo(static / "js" / "pipe")
    (static / "img" / "gone.svg").symlink_to(built / "nowhere.svg")
    with caplog.at_level("WARNING", logger="app.assets"):
        client = prod(make_app, built).test_client()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert "js/pipe" in warnings[0] and "img/gone.svg" in warnings[0]
    assert client.get("/").status_code == 200
    assert client.get("/static/js/pipe").status_code == 404
    assert client.get("/static/img/gone.svg").status_code == 404
    for args in (["routes"], ["assets", "build"], ["assets", "check"], ["assets", "clean"]):
        started = time.monotonic()
        result = run_flask(built, *args, FLASK_ASSETS_AUTO_BUILD="false", timeout=60)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert result.stderr.count("js/pipe") <= 1, (args, result.stderr)
        assert time.monotonic() - started < 30


# --- 8. the change gate: second names and replaced folders ----------------------------------


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "stat"])
def test_edit_through_a_hard_link_made_after_the_build_is_served(
    project: Path, make_app: Callable[..., Flask], tmp_path: Path, inotify: bool
) -> None:
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True, ASSETS_INOTIFY=inotify)
    partial = project / "static" / "scss" / "_buttons.scss"
    assert "calc(1rem + 2px)" in css_text(app)
    assert "calc(1rem + 2px)" in css_text(app)  # quiet: the gate vouches for the file
    other = tmp_path / "elsewhere" / "_buttons.scss"
    other.parent.mkdir()
    os.link(partial, other)
    assert "calc(1rem + 2px)" in css_text(app)
    for px in (7, 8):
        text = re.sub(r"calc\(1rem \+ \d+px\)", f"calc(1rem + {px}px)", other.read_text())
        other.write_text(text)  # in place: the same inode, through the other name
        assert f"calc(1rem + {px}px)" in css_text(app)


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "stat"])
@pytest.mark.parametrize("where", ["moved", "copy", "copy-of-outside"])
def test_watched_folder_moved_away_and_replaced_by_a_symlink_is_served_fresh(
    project: Path, make_app: Callable[..., Flask], tmp_path: Path, inotify: bool, where: str
) -> None:
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True, ASSETS_INOTIFY=inotify)
    static = project / "static"
    scss = static / "scss"
    assert "calc(1rem + 2px)" in css_text(app)
    assert "calc(1rem + 2px)" in css_text(app)
    if where == "moved":  # the link points at the moved folder itself
        real = static / "vendor" / "scss"
        real.parent.mkdir()
        os.rename(scss, real)
    elif where == "copy":
        os.rename(scss, static / "scss-moved")
        real = static / "scss-copy"
        shutil.copytree(static / "scss-moved", real)
    else:
        os.rename(scss, tmp_path / "away")
        real = static / "scss-copy"
        shutil.copytree(tmp_path / "away", real)
    scss.symlink_to(real.relative_to(static))
    assert "calc(1rem + 2px)" in css_text(app)
    assert "calc(1rem + 2px)" in css_text(app)
    partial = real / "_buttons.scss"
    for px in (7, 8):
        text = re.sub(r"calc\(1rem \+ \d+px\)", f"calc(1rem + {px}px)", partial.read_text())
        partial.write_text(text)
        assert f"calc(1rem + {px}px)" in css_text(app)


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "stat"])
def test_watched_folder_replaced_by_a_symlink_out_of_static_is_never_stale(
    project: Path, make_app: Callable[..., Flask], tmp_path: Path, inotify: bool
) -> None:
    # Edits in the new folder raise no event in any watched folder: the gate must not
    # vouch for them. Outside static/, they are refused (case 5) rather than served.
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True, ASSETS_INOTIFY=inotify)
    client = app.test_client()
    scss = project / "static" / "scss"
    assert "calc(1rem + 2px)" in css_text(app)
    assert "calc(1rem + 2px)" in css_text(app)
    os.rename(scss, tmp_path / "away")
    shutil.copytree(tmp_path / "away", tmp_path / "copy")
    scss.symlink_to(tmp_path / "copy")
    partial = tmp_path / "copy" / "_buttons.scss"
    partial.write_text(partial.read_text().replace("calc(1rem + 2px)", "calc(1rem + 7px)"))
    page = client.get("/").get_data(as_text=True)
    assert OVERLAY in page and "outside the static folders" in page


# --- 10. object storage: compare content and headers; refuse what cannot be read ---------

MANIFEST_KEY = test_publish.MANIFEST_KEY
stored = test_publish.stored


def s3_app(make_app: Callable[..., Flask], root: Path, s3: str, bucket: str) -> Flask:
    return tool(make_app, root, ASSETS_S3_BUCKET=bucket, ASSETS_S3_ENDPOINT_URL=s3)


def test_publish_repairs_same_size_tampering_and_wrong_headers(
    built: Path, make_app: Callable[..., Flask], s3: str, bucket: str
) -> None:
    app = s3_app(make_app, built, s3, bucket)
    assert cli(app, "publish").exit_code == 0
    client = make_client(s3)
    doc = read_manifest(built)["bundles"]
    js, css = (f"static/{doc[b]['file']}" for b in ("js_all", "css_all"))
    good_js = client.get_object(Bucket=bucket, Key=js)["Body"].read()
    headers = client.head_object(Bucket=bucket, Key=js)
    client.put_object(  # same size, same headers, other bytes (metadata forged too)
        Bucket=bucket,
        Key=js,
        Body=b"/" * len(good_js),
        ContentType=headers["ContentType"],
        CacheControl=headers["CacheControl"],
        Metadata=headers["Metadata"],
    )
    client.copy_object(  # right bytes, wrong type
        Bucket=bucket,
        Key=css,
        CopySource={"Bucket": bucket, "Key": css},
        MetadataDirective="REPLACE",
        ContentType="text/plain",
        CacheControl="max-age=60",
    )
    br = client.get_object(Bucket=bucket, Key=css + ".br")["Body"].read()
    client.put_object(Bucket=bucket, Key=css + ".br", Body=br, ContentType="text/css")

    result = cli(app, "publish")
    assert result.exit_code == 0, result.output
    repaired = {
        line.split()[1] for line in result.output.splitlines() if line.startswith("repaired")
    }
    assert repaired == {js.removeprefix("static/"), css.removeprefix("static/"), css[7:] + ".br"}
    assert client.get_object(Bucket=bucket, Key=js)["Body"].read() == good_js
    css_head = client.head_object(Bucket=bucket, Key=css)
    assert css_head["ContentType"].startswith("text/css")
    assert css_head["CacheControl"] == "public, max-age=31536000, immutable"
    assert client.head_object(Bucket=bucket, Key=css + ".br")["ContentEncoding"] == "br"
    again = cli(app, "publish")
    assert "uploaded 0" in again.output and "repaired" not in again.output, again.output


@pytest.mark.parametrize("command", [["publish"], ["clean", "--remote"]])
def test_corrupt_bucket_manifest_is_refused_with_advice(
    built: Path, make_app: Callable[..., Flask], s3: str, bucket: str, command: list[str]
) -> None:
    client = make_client(s3)
    client.put_object(Bucket=bucket, Key=MANIFEST_KEY, Body=b'{"version": 1, "bundles": [')
    client.put_object(Bucket=bucket, Key="static/gen/app.12345678.css", Body=b"x")
    result = cli(s3_app(make_app, built, s3, bucket), *command)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"s3://{bucket}/{MANIFEST_KEY}: "), lines
    assert "assets build" not in lines[0] and "delete" in lines[0], lines
    assert stored(s3, bucket) == {MANIFEST_KEY, "static/gen/app.12345678.css"}


def test_clean_remote_refuses_a_manifest_that_names_no_build(
    built: Path, make_app: Callable[..., Flask], s3: str, bucket: str
) -> None:
    app = s3_app(make_app, built, s3, bucket)
    assert cli(app, "publish").exit_code == 0
    before = stored(s3, bucket)
    empty = json.dumps({"version": 1, "bundles": {}}).encode()
    make_client(s3).put_object(Bucket=bucket, Key=MANIFEST_KEY, Body=empty)
    result = cli(app, "clean", "--remote")
    assert result.exit_code == 1
    assert "names no build, nothing removed" in result.output, result.output
    assert stored(s3, bucket) == before
