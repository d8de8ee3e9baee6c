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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whitenoise.media_types import MediaTypes

from . import manifest as manifest_mod
from .clean import disk_reader, referenced
from .declare import OUTPUT_DIR, display_path
from .manifest import Manifest
from .output import SUFFIXES
from .s3 import (
    PublishError,
    Target,
    get,
    list_keys,
    make_client,
    one_line,
    put,
    s3_errors,
)
from .serving import FOREVER

MANIFEST = f"{OUTPUT_DIR}/{manifest_mod.FILENAME}"
# Servers fetch the manifest once at start-up; a CDN must revalidate it, never serve an old one.
MANIFEST_CACHE_CONTROL = "no-cache"
ENCODINGS = {".br": "br", ".gz": "gzip"}
# The same table WhiteNoise serves from, so the bucket and the app server agree.
_MEDIA_TYPES = MediaTypes()


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


def content_type(rel: str) -> str:
    """The ``Content-Type`` of a file (of its identity for a ``.br``/``.gz`` variant)."""
    for suffix in ENCODINGS:
        rel = rel.removesuffix(suffix)
    media = _MEDIA_TYPES.get_type(rel)
    return f"{media}; charset=utf-8" if media.startswith("text/") else media


def build_files(static: Path, manifest: Manifest) -> list[str]:
    """The current build's files, static-relative: digested static files and url() assets
    first, then the outputs that name them (so no uploaded CSS points at an image not yet
    uploaded)."""
    outputs = sorted(e.file for e in manifest.bundles.values())
    current = Manifest(manifest.bundles, files=manifest.files)
    assets = referenced(current, disk_reader(static)) - set(outputs)
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
    (the rule ``flask assets build`` applies locally: :meth:`Manifest.successor`).
    """
    return (remote or local).successor(local.bundles, keep, local.files)


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
    errors = s3_errors()
    echo = report or (lambda line: None)
    existing = list_keys(client, target, errors)
    old_body = get(client, target, MANIFEST, errors)
    remote = manifest_mod.parse(old_body, target.url(MANIFEST)) if old_body is not None else None

    uploaded = skipped = sent = 0
    for u in uploads:
        size = (static / u.rel).stat().st_size
        # Names carry content hashes: same key and size means same bytes.
        if existing.get(target.key(u.rel)) == size:
            skipped += 1
            echo(f"skipped {u.rel}")
            continue
        extra = {"ContentEncoding": u.encoding} if u.encoding else {}
        with open(static / u.rel, "rb") as fh:  # streamed: a large video is not read whole
            put(client, target, u.rel, fh, u.content_type, FOREVER, extra, errors)
        uploaded += 1
        sent += size
        echo(f"uploaded {u.rel} ({size:,} B)")

    body = with_history(local, remote, keep).to_json()
    if body == old_body:
        skipped += 1
        echo(f"skipped {MANIFEST}")
    else:
        put(client, target, MANIFEST, body, "application/json", MANIFEST_CACHE_CONTROL, {}, errors)
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
    errors = s3_errors()
    body = get(client, target, MANIFEST, errors)
    if body is None:
        # Without a manifest everything would look unreferenced: delete nothing.
        raise PublishError(
            "no manifest in the bucket, nothing removed: run `flask --app app assets publish`",
            file=target.url(MANIFEST),
        )
    kept = manifest_mod.parse(body, target.url(MANIFEST))
    if keep is not None:
        kept = kept.trimmed(keep)
    existing = list_keys(client, target, errors)
    # Old builds' CSS is usually not on this machine any more: read it from the bucket.
    files = referenced(kept, lambda f: get(client, target, f, errors))
    wanted = {MANIFEST} | {f + s for f in files for s in ("", *SUFFIXES)}
    doomed = sorted(k for k in existing if k.removeprefix(target.prefix) not in wanted)
    for i in range(0, len(doomed), 1000):  # DeleteObjects takes at most 1000 keys
        batch = doomed[i : i + 1000]
        try:
            resp = client.delete_objects(
                Bucket=target.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
        except errors as exc:
            raise PublishError(f"delete failed: {one_line(exc)}", file=target.url()) from None
        failed = resp.get("Errors") or []
        if failed:
            first = failed[0]
            raise PublishError(
                f"delete failed: {first.get('Code')}: {first.get('Message')}; rerun to finish",
                file=f"s3://{target.bucket}/{first.get('Key')}",
            )
    return [k.removeprefix(target.prefix) for k in doomed]
