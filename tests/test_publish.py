"""Publishing builds to S3-compatible storage, against a real S3 protocol server.

A moto server (``python -m moto.server``) runs on a free 127.0.0.1 port for the session;
each test gets its own bucket. Objects are checked by reading them back over the S3 API
(and, for what browsers see, over plain HTTP with a public-read bucket policy).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from conftest import (
    REPO,
    build_project,
    bundle_refs,
    free_port,
    read_manifest,
    run_flask,
    sri,
    stop_process,
)
from flask import Flask
from werkzeug.http import parse_options_header

from app import create_app
from app.assets import ManifestError
from app.assets import publish as publish_mod
from app.assets.clean import clean
from app.assets.cli import assets
from app.assets.publish import PublishError, Summary, Target, make_client, publish

FOREVER = "public, max-age=31536000, immutable"
MANIFEST_KEY = "static/gen/manifest.json"
BOOT_TIMEOUT = 30.0
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Never read the developer's real AWS profile.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


# --- the S3 server and buckets ------------------------------------------------------------


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of a moto S3 server; AWS_* test credentials set in this process."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in AWS_ENV.items():
            mp.setenv(k, v)
        mp.delenv("AWS_PROFILE", raising=False)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **AWS_ENV},
            )
        try:
            deadline = time.monotonic() + BOOT_TIMEOUT
            while True:
                assert proc.poll() is None, log.read_text()
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(proc)


@pytest.fixture
def bucket(s3: str) -> str:
    """A fresh bucket whose objects anyone may GET over HTTP, as a CDN origin's would be."""
    name = f"t-{uuid.uuid4().hex[:16]}"
    client = make_client(s3)
    client.create_bucket(Bucket=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def stored(s3: str, bucket: str) -> set[str]:
    client = make_client(s3)
    keys = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys |= {o["Key"] for o in page.get("Contents", [])}
    return keys


def recording_puts(client: Any) -> list[str]:
    """The keys of every PutObject the client sends, in order."""
    puts: list[str] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        puts.append(params["Key"])

    client.meta.events.register("provide-client-params.s3.PutObject", record)
    return puts


class FailingClient:
    """A real client whose PutObject fails, as a dropped connection would, after ``ok`` puts."""

    def __init__(self, client: Any, ok: int) -> None:
        self._client = client
        self.ok = ok
        self.attempted: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_object(self, **kwargs: Any) -> Any:
        self.attempted.append(kwargs["Key"])
        if len(self.attempted) > self.ok:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")
        return self._client.put_object(**kwargs)


def gen_files(root: Path) -> set[str]:
    """static/-relative paths of the build's files on disk (not the manifest or lock)."""
    static = root / "static"
    return {
        p.relative_to(static).as_posix()
        for p in (static / "gen").rglob("*")
        if p.is_file() and p.name not in ("manifest.json", ".build.lock")
    }


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


# --- publish ------------------------------------------------------------------------------


def test_publish_stores_every_file_with_its_headers_and_the_manifest_last(
    built: Path, s3: str, bucket: str, make_app: Callable[..., Flask]
) -> None:
    static = built / "static"
    files = gen_files(built)
    assert {f.rsplit(".", 1)[1] for f in files} >= {"css", "js", "svg", "br", "gz"}
    client = make_client(s3)
    puts = recording_puts(client)
    lines: list[str] = []

    summary = publish(static, Target(bucket, endpoint_url=s3), client=client, report=lines.append)

    assert stored(s3, bucket) == {f"static/{f}" for f in files} | {MANIFEST_KEY}
    assert puts[-1] == MANIFEST_KEY, "the manifest goes last"
    assert sorted(puts) == sorted(stored(s3, bucket)), "each object put exactly once"
    manifest_body = (static / "gen/manifest.json").read_bytes()
    sent = sum((static / f).stat().st_size for f in files) + len(manifest_body)
    assert summary == Summary(uploaded=len(files) + 1, skipped=0, bytes=sent)
    assert lines[-1] == f"uploaded gen/manifest.json ({len(manifest_body):,} B)"
    for f in files:
        assert f"uploaded {f} ({(static / f).stat().st_size:,} B)" in lines
    # A CSS's url() image is uploaded before the CSS that names it.
    image = next(f for f in files if f.endswith(".svg"))
    css = next(e["file"] for e in read_manifest(built)["bundles"].values() if e["type"] == "css")
    assert puts.index(f"static/{image}") < puts.index(f"static/{css}")

    # Same bytes, and the same Content-Type the app server's WhiteNoise sends for the file.
    served = make_app(built, ASSETS_AUTO_BUILD=False).test_client()
    expected_type = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}
    for f in sorted(files):
        obj = client.get_object(Bucket=bucket, Key=f"static/{f}")
        assert obj["Body"].read() == (static / f).read_bytes(), f
        assert obj["CacheControl"] == FOREVER, f
        identity, _, last = f.rpartition(".")
        encoding = {"br": "br", "gz": "gzip"}.get(last)
        assert obj.get("ContentEncoding") == encoding, f
        plain = identity if encoding else f
        assert obj["ContentType"].split(";")[0] == expected_type[plain.rsplit(".", 1)[1]], f
        response = served.get(f"/static/{plain}")
        assert response.status_code == 200
        assert parse_options_header(obj["ContentType"]) == parse_options_header(
            response.headers["Content-Type"]
        ), f

    obj = client.get_object(Bucket=bucket, Key=MANIFEST_KEY)
    assert obj["CacheControl"] == "no-cache"
    assert obj["ContentType"] == "application/json"
    assert json.loads(obj["Body"].read()) == read_manifest(built)


def test_republishing_uploads_nothing(built: Path, s3: str, bucket: str) -> None:
    static = built / "static"
    target = Target(bucket, endpoint_url=s3)
    first = publish(static, target)
    before = {
        k: make_client(s3).get_object(Bucket=bucket, Key=k)["ETag"] for k in stored(s3, bucket)
    }

    client = make_client(s3)
    puts = recording_puts(client)
    lines: list[str] = []
    again = publish(static, target, client=client, report=lines.append)

    assert puts == []
    assert again == Summary(uploaded=0, skipped=first.uploaded, bytes=0)
    assert lines and all(line.startswith("skipped gen/") for line in lines)
    assert {k: client.get_object(Bucket=bucket, Key=k)["ETag"] for k in before} == before


def test_interrupted_publish_names_the_file_keeps_the_old_manifest_and_rerun_finishes(
    built: Path,
    s3: str,
    bucket: str,
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(built, ASSETS_S3_BUCKET=bucket, ASSETS_S3_ENDPOINT_URL=s3)
    runner = app.test_cli_runner()
    failing = FailingClient(make_client(s3), ok=4)
    monkeypatch.setattr(publish_mod, "make_client", lambda endpoint_url=None: failing)

    result = runner.invoke(assets, ["publish"])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    error = result.output.strip().splitlines()[-1]
    failed_key = failing.attempted[-1]
    assert len(failing.attempted) == 5 and failed_key != MANIFEST_KEY
    assert error.startswith(f"s3://{bucket}/{failed_key}: upload failed"), error
    assert "Traceback" not in result.output
    assert stored(s3, bucket) == set(failing.attempted[:4]), "no manifest: servers stay put"

    monkeypatch.undo()
    client = make_client(s3)
    puts = recording_puts(client)
    monkeypatch.setattr(publish_mod, "make_client", lambda endpoint_url=None: client)
    result = runner.invoke(assets, ["publish"])

    assert result.exit_code == 0, result.output
    files = gen_files(built)
    assert stored(s3, bucket) == {f"static/{f}" for f in files} | {MANIFEST_KEY}
    assert puts[-1] == MANIFEST_KEY
    assert set(puts) == stored(s3, bucket) - set(failing.attempted[:4])
    for key in failing.attempted[:4]:
        assert f"skipped {key.removeprefix('static/')}" in result.output
    summary = result.output.strip().splitlines()[-1]
    assert f"uploaded {len(files) + 1 - 4}, skipped 4," in summary


def test_publish_prefix_is_normalised_and_mirrors_url_paths(
    built: Path, s3: str, bucket: str
) -> None:
    assert Target.from_config({"ASSETS_S3_BUCKET": "b"}).prefix == "static/"
    assert Target.from_config({"ASSETS_S3_BUCKET": "b", "ASSETS_S3_PREFIX": ""}).prefix == ""
    target = Target.from_config(
        {
            "ASSETS_S3_BUCKET": bucket,
            "ASSETS_S3_PREFIX": "/site/static",
            "ASSETS_S3_ENDPOINT_URL": s3,
        }
    )
    assert target.prefix == "site/static/"
    publish(built / "static", target)
    assert stored(s3, bucket) == {f"site/static/{f}" for f in gen_files(built)} | {
        "site/static/gen/manifest.json"
    }


def test_cli_settings_and_boto3_errors_are_one_line(
    built: Path, s3: str, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = make_app(built).test_cli_runner()
    result = runner.invoke(assets, ["publish"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "ASSETS_S3_BUCKET is not set: set it, e.g. FLASK_ASSETS_S3_BUCKET=my-bucket"
    )

    monkeypatch.setitem(sys.modules, "boto3", None)  # as if the [s3] extra is not installed
    runner = make_app(built, ASSETS_S3_BUCKET="any", ASSETS_S3_ENDPOINT_URL=s3).test_cli_runner()
    for args in (["publish"], ["clean", "--remote"]):
        result = runner.invoke(assets, args)
        assert result.exit_code == 1
        assert result.output.strip() == 'boto3 is not installed: run pip install -e ".[s3]"'


def test_real_flask_assets_publish(built: Path, s3: str, bucket: str) -> None:
    env = {"FLASK_ASSETS_S3_BUCKET": bucket, "FLASK_ASSETS_S3_ENDPOINT_URL": s3, **AWS_ENV}
    files = gen_files(built)

    first = run_flask(built, "assets", "publish", timeout=60, **env)

    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    body = (built / "static/gen/manifest.json").read_bytes()
    assert lines[-2] == f"uploaded gen/manifest.json ({len(body):,} B)"
    sent = sum((built / "static" / f).stat().st_size for f in files) + len(body)
    assert lines[-1] == (
        f"s3://{bucket}/static/: uploaded {len(files) + 1}, skipped 0, {sent:,} B sent"
    )
    assert stored(s3, bucket) == {f"static/{f}" for f in files} | {MANIFEST_KEY}

    again = run_flask(built, "assets", "publish", timeout=60, **env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == (
        f"s3://{bucket}/static/: uploaded 0, skipped {len(files) + 1}, 0 B sent"
    )

    missing = run_flask(
        built, "assets", "publish", timeout=60, **{**env, "FLASK_ASSETS_S3_BUCKET": "no-such-bkt"}
    )
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("s3://no-such-bkt/static/: cannot list the bucket:")
    assert "NoSuchBucket" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


# --- app servers that have only the manifest ------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "s3"])
def test_manifest_only_server_links_bundles_in_the_bucket(
    built: Path, tmp_path: Path, s3: str, bucket: str, scheme: str
) -> None:
    publish(built / "static", Target(bucket, endpoint_url=s3))
    server = tmp_path / "server"  # templates only: no static/, no sources, no build
    shutil.copytree(REPO / "templates", server / "templates")
    base = f"{s3}/{bucket}/static"
    url = f"{base}/gen/manifest.json" if scheme == "http" else f"s3://{bucket}/{MANIFEST_KEY}"

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. WhiteNoise's "No directory at: .../static/"
        app = create_app(
            {
                "TESTING": True,
                "PROJECT_ROOT": str(server),
                "ASSETS_AUTO_BUILD": False,
                "ASSETS_MANIFEST_URL": url,
                "ASSETS_S3_ENDPOINT_URL": s3,
                "ASSETS_URL": base,
            }
        )

    client = app.test_client()
    linked = set()
    for page in ("/", "/about", "/gallery"):
        response = client.get(page)
        assert response.status_code == 200, page
        refs = [r for r in bundle_refs(response.get_data(as_text=True)) if r[1]]
        assert refs, page
        for href, integrity in refs:
            assert href.startswith(f"{base}/gen/"), href
            status, data = http_get(href)
            assert status == 200, href
            assert integrity == sri(data), href
            linked.add(href.removeprefix(f"{base}/"))
    bundles = read_manifest(built)["bundles"]
    assert linked == {e["file"] for e in bundles.values() if e["file"] in linked}
    assert {bundles["css_all"]["file"], bundles["js_all"]["file"]} <= linked
    assert not (server / "static").exists()


@pytest.mark.parametrize(
    "url",
    [
        "{s3}/{bucket}/static/gen/nothing-here.json",
        "http://127.0.0.1:{closed}/manifest.json",
        "s3://{bucket}/static/gen/nothing-here.json",
        "ftp://example.com/manifest.json",
    ],
)
def test_manifest_url_failure_stops_start_up_naming_the_url(
    built: Path, tmp_path: Path, s3: str, bucket: str, url: str
) -> None:
    publish(built / "static", Target(bucket, endpoint_url=s3))
    url = url.format(s3=s3, bucket=bucket, closed=free_port())
    server = tmp_path / "server"
    shutil.copytree(REPO / "templates", server / "templates")
    config = {
        "TESTING": True,
        "PROJECT_ROOT": str(server),
        "ASSETS_MANIFEST_URL": url,
        "ASSETS_S3_ENDPOINT_URL": s3,
    }
    with pytest.raises(ManifestError) as info:
        create_app({**config, "ASSETS_AUTO_BUILD": False})
    message = str(info.value)
    assert message.startswith(f"{url}: ")
    assert "\n" not in message

    # Development builds locally: the setting is for production servers only.
    dev = create_app({**config, "PROJECT_ROOT": str(built), "ASSETS_AUTO_BUILD": True})
    assert dev.test_client().get("/").status_code == 200


# --- clean --remote -----------------------------------------------------------------------


def test_clean_remote_removes_only_what_no_kept_build_references(
    project: Path, s3: str, bucket: str, make_app: Callable[..., Flask]
) -> None:
    static = project / "static"
    target = Target(bucket, endpoint_url=s3)
    builds: list[set[str]] = []
    manifests: list[dict[str, Any]] = []
    for step in range(3):
        if step:
            with (static / "scss/main.scss").open("a") as fh:
                fh.write(f"\n.step-{step} {{ margin: {step}px; }}\n")
        if step == 2:  # a new image: build 2's CSS names an image build 3's does not
            (static / "img/leaf.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>\n")
        build_project(project)
        # As a fresh CI checkout: only this build on disk, no local history.
        clean(static, keep=0)
        builds.append(gen_files(project))
        manifests.append(read_manifest(project)["bundles"])
        publish(static, target)

    remote = json.loads(make_client(s3).get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())
    assert remote["bundles"] == manifests[2]
    assert remote["previous"] == [manifests[1], manifests[0]], "the bucket keeps the history"
    only_second_image = {f for f in builds[1] - builds[2] if ".svg" in f}
    assert only_second_image, "build 2's image is referenced only by build 2's CSS"
    first_only = builds[0] - builds[1] - builds[2]
    assert any(f.endswith(".css") for f in first_only)

    client = make_client(s3)
    strays = ["static/gen/stray.deadbeef.css", "static/gen/stray.deadbeef.css.br"]
    outside = ["static/robots.txt", "other/gen/app.css"]
    for key in strays + outside:
        client.put_object(Bucket=bucket, Key=key, Body=b"x")

    runner = make_app(project, ASSETS_S3_BUCKET=bucket, ASSETS_S3_ENDPOINT_URL=s3).test_cli_runner()
    result = runner.invoke(assets, ["clean", "--remote", "--keep", "1"])

    assert result.exit_code == 0, result.output
    kept = {f"static/{f}" for f in builds[1] | builds[2]} | {MANIFEST_KEY, *outside}
    assert stored(s3, bucket) == kept
    removed = {f"static/{f}" for f in first_only} | set(strays)
    reported = {
        "static/" + line.removeprefix("removed ")
        for line in result.output.splitlines()
        if line.startswith("removed ")
    }
    assert reported == removed
    assert f"{len(removed)} file(s) removed" in result.output

    again = runner.invoke(assets, ["clean", "--remote"])
    assert again.exit_code == 0 and stored(s3, bucket) == kept
    assert "removed gen/" not in again.output


def test_clean_remote_without_a_manifest_removes_nothing(
    built: Path, s3: str, bucket: str, make_app: Callable[..., Flask]
) -> None:
    make_client(s3).put_object(Bucket=bucket, Key="static/gen/app.12345678.css", Body=b"x")
    runner = make_app(built, ASSETS_S3_BUCKET=bucket, ASSETS_S3_ENDPOINT_URL=s3).test_cli_runner()

    result = runner.invoke(assets, ["clean", "--remote"])

    assert result.exit_code == 1
    assert result.output.strip() == (
        f"s3://{bucket}/{MANIFEST_KEY}: no manifest in the bucket, nothing removed: "
        "run `flask --app app assets publish`"
    )
    assert stored(s3, bucket) == {"static/gen/app.12345678.css"}


def test_publish_refuses_a_build_with_a_missing_file(built: Path, s3: str, bucket: str) -> None:
    css = read_manifest(built)["bundles"]["css_all"]["file"]
    (built / "static" / css).unlink()
    with pytest.raises(PublishError, match="missing from the build") as info:
        publish(built / "static", Target(bucket, endpoint_url=s3))
    assert css in str(info.value)
    assert stored(s3, bucket) == set()


def test_publish_uploads_digested_static_files_with_their_types(
    project: Path, s3: str, bucket: str, make_app: Callable[..., Flask]
) -> None:
    static = project / "static"
    (static / "img/photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    build_project(project)
    files = read_manifest(project)["files"]
    client = make_client(s3)
    publish(static, Target(bucket, endpoint_url=s3), client=client)
    keys = stored(s3, bucket)
    expected = {"img/leaf.svg": "image/svg+xml", "img/photo.png": "image/png"}
    for logical, ctype in expected.items():
        rel = files[logical]["file"]
        obj = client.get_object(Bucket=bucket, Key=f"static/{rel}")
        assert obj["Body"].read() == (static / logical).read_bytes()
        assert obj["ContentType"] == ctype
        assert obj["CacheControl"] == FOREVER
    svg, png = files["img/leaf.svg"]["file"], files["img/photo.png"]["file"]
    assert {f"static/{svg}.br", f"static/{svg}.gz"} <= keys
    assert not {f"static/{png}.br", f"static/{png}.gz"} & keys, "PNG is not compressed"
    # What an app server under ASSETS_URL links is exactly what was uploaded.
    cdn = f"{s3}/{bucket}/static"
    page = make_app(project, ASSETS_AUTO_BUILD=False, ASSETS_URL=cdn).test_client().get("/gallery")
    assert f'src="{cdn}/{svg}"' in page.text
    status, body = http_get(f"{cdn}/{svg}")
    assert status == 200 and body == (static / "img/leaf.svg").read_bytes()
