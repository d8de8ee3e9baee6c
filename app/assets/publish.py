"""Publish a build to S3-compatible storage, clean old builds there, read the manifest back.

Keys mirror URL paths: with the default prefix ``static/``, ``gen/app.1a2b3c4d.css`` is
stored at ``static/gen/app.1a2b3c4d.css``, so ``ASSETS_URL`` = the bucket's (or CDN's)
URL + ``/static`` serves every bundle with no template change.

Each precompressed sibling is its own object: ``gen/app.1a2b3c4d.css.br`` with
``Content-Encoding: br`` and the CSS ``Content-Type`` (``.gz``: ``gzip``). A plain key
always returns identity bytes (S3 does not negotiate), and a CDN or edge rule that picks
a variant by ``Accept-Encoding`` serves the stored object as it is.

boto3 is an optional dependency (``pip install -e ".[s3]"``), imported only when used.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from whitenoise.media_types import MediaTypes

from . import manifest as manifest_mod
from .builder import SUFFIXES, disk_reader, referenced_assets
from .errors import AssetError, ManifestError
from .manifest import Entry, Manifest
from .serving import FOREVER
from .spec import OUTPUT_DIR, display_path

MANIFEST = f"{OUTPUT_DIR}/{manifest_mod.FILENAME}"
# Servers fetch the manifest once at start-up; a CDN must revalidate it, never serve an old one.
MANIFEST_CACHE_CONTROL = "no-cache"
ENCODINGS = {".br": "br", ".gz": "gzip"}
DEFAULT_PREFIX = "static/"
FETCH_TIMEOUT = 10.0
# The same table WhiteNoise serves from, so the bucket and the app server agree.
_MEDIA_TYPES = MediaTypes()


class PublishError(AssetError):
    """Publishing to, or cleaning, the bucket failed: the message names the file or key."""


@dataclass(frozen=True)
class Target:
    """Where builds go: ``s3://bucket/prefix``, on AWS or an S3-compatible store."""

    bucket: str
    prefix: str = DEFAULT_PREFIX
    endpoint_url: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Target:
        """From ``ASSETS_S3_*``; credentials come from boto3's usual chain, never from here."""
        bucket = config.get("ASSETS_S3_BUCKET")
        if not bucket:
            raise PublishError(
                "ASSETS_S3_BUCKET is not set: set it, e.g. FLASK_ASSETS_S3_BUCKET=my-bucket"
            )
        prefix = config.get("ASSETS_S3_PREFIX")
        return cls(
            bucket=str(bucket),
            prefix=normalize_prefix(DEFAULT_PREFIX if prefix is None else str(prefix)),
            endpoint_url=config.get("ASSETS_S3_ENDPOINT_URL") or None,
        )

    def key(self, rel: str) -> str:
        return self.prefix + rel

    def url(self, rel: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{rel}"


def normalize_prefix(prefix: str) -> str:
    """``"/static"`` -> ``"static/"``; empty stays empty (keys at the bucket's root)."""
    prefix = prefix.strip("/")
    return prefix + "/" if prefix else ""


@dataclass(frozen=True)
class Upload:
    rel: str  # relative to static/, as in the manifest: "gen/app.1a2b3c4d.css.br"
    content_type: str
    encoding: str | None  # Content-Encoding of a stored variant, None for identity


@dataclass(frozen=True)
class Summary:
    uploaded: int
    skipped: int
    bytes: int


def make_client(endpoint_url: str | None = None) -> Any:
    """A boto3 S3 client; a one-line error saying how to install boto3 when it is missing."""
    try:
        import boto3
    except ImportError:
        raise PublishError('boto3 is not installed: run pip install -e ".[s3]"') from None
    return boto3.client("s3", endpoint_url=endpoint_url)


def _s3_errors() -> tuple[type[BaseException], ...]:
    # Imported late: boto3 (and so botocore) is optional.
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, OSError)


def content_type(rel: str) -> str:
    """The ``Content-Type`` of a file (of its identity for a ``.br``/``.gz`` variant)."""
    for suffix in ENCODINGS:
        rel = rel.removesuffix(suffix)
    media = _MEDIA_TYPES.get_type(rel)
    return f"{media}; charset=utf-8" if media.startswith("text/") else media


def build_files(static: Path, manifest: Manifest) -> list[str]:
    """The current build's files, static-relative: url() assets first, then the outputs
    that name them (so no uploaded CSS points at an image not yet uploaded)."""
    outputs = sorted(e.file for e in manifest.bundles.values())
    assets = referenced_assets(Manifest(manifest.bundles), disk_reader(static)) - set(outputs)
    return sorted(assets) + outputs


def plan(static: Path, manifest: Manifest) -> list[Upload]:
    """Every object of the current build, variants after their identity; manifest excluded."""
    uploads = []
    for rel in build_files(static, manifest):
        if not (static / rel).is_file():
            raise PublishError(
                "missing from the build: run `flask --app app assets build`",
                file=display_path(static / rel),
            )
        ctype = content_type(rel)
        uploads.append(Upload(rel, ctype, None))
        # The builder writes a variant only when it is smaller: upload the ones it wrote.
        uploads += [
            Upload(rel + suffix, ctype, enc)
            for suffix, enc in ENCODINGS.items()
            if (static / (rel + suffix)).is_file()
        ]
    return uploads


def with_history(local: Manifest, remote: Manifest | None, keep: int) -> Manifest:
    """The manifest to publish: this build, and the bucket's history as ``previous``.

    CI usually builds in a fresh checkout, whose manifest has no history; the bucket's
    manifest knows which builds servers may still be linking, so it is the one to extend
    (the same rule ``flask assets build`` applies locally).
    """
    base = remote or local
    previous = base.previous
    if _files(base.bundles) != _files(local.bundles):
        previous = (base.bundles, *base.previous)
    return Manifest(local.bundles, previous[: max(keep, 0)])


def _files(bundles: dict[str, Entry]) -> dict[str, str]:
    return {n: e.file for n, e in bundles.items()}


def publish(
    static: Path,
    target: Target,
    *,
    keep: int = 3,
    client: Any = None,
    report: Callable[[str], None] | None = None,
) -> Summary:
    """Upload the current build under ``target``, skipping keys already there; the
    manifest last, so an interrupted publish leaves servers on the previous build."""
    local = manifest_mod.load(static / MANIFEST)
    uploads = plan(static, local)
    client = client if client is not None else make_client(target.endpoint_url)
    errors = _s3_errors()
    echo = report or (lambda line: None)
    existing = _list(client, target, errors)
    old_body = _get(client, target, MANIFEST, errors)
    remote = parse_manifest(old_body, target.url(MANIFEST)) if old_body is not None else None

    uploaded = skipped = sent = 0
    for u in uploads:
        data = (static / u.rel).read_bytes()
        # Names carry content hashes: same key and size means same bytes.
        if existing.get(target.key(u.rel)) == len(data):
            skipped += 1
            echo(f"skipped {u.rel}")
            continue
        extra = {"ContentEncoding": u.encoding} if u.encoding else {}
        _put(client, target, u.rel, data, u.content_type, FOREVER, extra, errors)
        uploaded += 1
        sent += len(data)
        echo(f"uploaded {u.rel} ({len(data):,} B)")

    body = with_history(local, remote, keep).to_json()
    if body == old_body:
        skipped += 1
        echo(f"skipped {MANIFEST}")
    else:
        _put(client, target, MANIFEST, body, "application/json", MANIFEST_CACHE_CONTROL, {}, errors)
        uploaded += 1
        sent += len(body)
        echo(f"uploaded {MANIFEST} ({len(body):,} B)")
    return Summary(uploaded, skipped, sent)


def clean_remote(
    target: Target,
    *,
    keep: int | None = None,
    client: Any = None,
) -> list[str]:
    """Delete objects under ``<prefix>gen/`` that no build kept by the bucket's manifest
    references (outputs, their url() assets, ``.br``/``.gz``); returns static-relative paths.
    """
    client = client if client is not None else make_client(target.endpoint_url)
    errors = _s3_errors()
    body = _get(client, target, MANIFEST, errors)
    if body is None:
        # Without a manifest everything would look unreferenced: delete nothing.
        raise PublishError(
            "no manifest in the bucket, nothing removed: run `flask --app app assets publish`",
            file=target.url(MANIFEST),
        )
    kept = parse_manifest(body, target.url(MANIFEST))
    if keep is not None:
        kept = Manifest(kept.bundles, kept.previous[: max(keep, 0)])
    existing = _list(client, target, errors)
    # Old builds' CSS is usually not on this machine any more: read it from the bucket.
    assets = referenced_assets(kept, lambda f: _get(client, target, f, errors))
    wanted = {MANIFEST} | {f + s for f in kept.files() | assets for s in ("", *SUFFIXES)}
    doomed = sorted(k for k in existing if k.removeprefix(target.prefix) not in wanted)
    for i in range(0, len(doomed), 1000):  # DeleteObjects takes at most 1000 keys
        batch = doomed[i : i + 1000]
        try:
            resp = client.delete_objects(
                Bucket=target.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
        except errors as exc:
            raise PublishError(f"delete failed: {_one_line(exc)}", file=target.url()) from None
        failed = resp.get("Errors") or []
        if failed:
            first = failed[0]
            raise PublishError(
                f"delete failed: {first.get('Code')}: {first.get('Message')}; rerun to finish",
                file=f"s3://{target.bucket}/{first.get('Key')}",
            )
    return [k.removeprefix(target.prefix) for k in doomed]


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Validate manifest bytes exactly as a local manifest; errors name ``where``."""
    return manifest_mod.parse(data, where)


def fetch_manifest(url: str, *, endpoint_url: str | None = None) -> Manifest:
    """The manifest at ``url`` (``http(s)://...`` or ``s3://bucket/key``), for app servers
    that have no build on disk; any failure is one :class:`ManifestError` naming the URL."""
    parts = urlsplit(url)
    fix = "check ASSETS_MANIFEST_URL, or run `flask --app app assets publish`"
    try:
        if parts.scheme in ("http", "https"):
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as resp:
                data = resp.read()
        elif parts.scheme == "s3" and parts.netloc and parts.path.strip("/"):
            client = make_client(endpoint_url)
            try:
                obj = client.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
                data = obj["Body"].read()
            except _s3_errors() as exc:
                raise ManifestError(
                    f"cannot fetch manifest ({_one_line(exc)}); {fix}", file=url
                ) from None
        else:
            raise ManifestError(
                "ASSETS_MANIFEST_URL must be an http(s):// URL or s3://bucket/key", file=url
            )
    except PublishError as exc:  # boto3 missing
        raise ManifestError(exc.message, file=url) from None
    except OSError as exc:  # urllib's URLError and HTTPError, timeouts
        raise ManifestError(f"cannot fetch manifest ({_one_line(exc)}); {fix}", file=url) from None
    return parse_manifest(data, url)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _list(client: Any, target: Target, errors: tuple[type[BaseException], ...]) -> dict[str, int]:
    """Key -> size of every object under ``<prefix>gen/``: one paginated listing."""
    out = {}
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=target.bucket, Prefix=target.key(f"{OUTPUT_DIR}/")
        )
        for page in pages:
            out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    except errors as exc:
        raise PublishError(f"cannot list the bucket: {_one_line(exc)}", file=target.url()) from None
    return out


def _get(
    client: Any, target: Target, rel: str, errors: tuple[type[BaseException], ...]
) -> bytes | None:
    """An object's bytes, or None when the key does not exist."""
    try:
        return client.get_object(Bucket=target.bucket, Key=target.key(rel))["Body"].read()
    except errors as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404"):
            return None
        raise PublishError(f"cannot read: {_one_line(exc)}", file=target.url(rel)) from None


def _put(
    client: Any,
    target: Target,
    rel: str,
    data: bytes,
    ctype: str,
    cache_control: str,
    extra: dict[str, str],
    errors: tuple[type[BaseException], ...],
) -> None:
    try:
        client.put_object(
            Bucket=target.bucket,
            Key=target.key(rel),
            Body=data,
            ContentType=ctype,
            CacheControl=cache_control,
            **extra,
        )
    except errors as exc:
        raise PublishError(
            f"upload failed ({_one_line(exc)}); rerun `flask --app app assets publish` to "
            "finish: the bucket's manifest still names the previous build",
            file=target.url(rel),
        ) from None
