"""The only hashing in the pipeline: content names, SRI, cache keys, file digests."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import BinaryIO

CHUNK = 1024 * 1024  # streamed files are read this much at a time: memory stays bounded

# Bump to invalidate every cache entry (a change in what a cached result means).
CACHE_VERSION = "4"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_name(output: str, data: bytes) -> str:
    """``gen/app.css`` -> ``gen/app.1a2b3c4d.css`` (first 8 hex of the content's sha256)."""
    return hashed_name(output, sha256_hex(data))


def hashed_name(output: str, sha256: str) -> str:
    """:func:`digest_name` for content whose sha256 (hex) is already known (streamed)."""
    digest = sha256[:8]
    stem, dot, ext = output.rpartition(".")
    if not dot or "/" in ext:
        return f"{output}.{digest}"
    return f"{stem}.{digest}.{ext}"


def integrity(data: bytes) -> str:
    """The ``integrity`` attribute value (SRI) of ``data``."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def stream_hashes(src: BinaryIO, sink: BinaryIO | None = None) -> tuple[str, str, int]:
    """(sha256 hex, SRI, size) of a stream read in chunks, each also written to ``sink``:
    one pass over a file of any size, in bounded memory."""
    h256, h384 = hashlib.sha256(), hashlib.sha384()
    size = 0
    while chunk := src.read(CHUNK):
        h256.update(chunk)
        h384.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    return h256.hexdigest(), "sha384-" + base64.b64encode(h384.digest()).decode(), size


def cache_key(*parts: str | bytes) -> str:
    """A key for the build cache: length-prefixed parts, so ("ab", "c") != ("a", "bc")."""
    h = hashlib.sha256(CACHE_VERSION.encode())
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return h.hexdigest()


def file_digest(path: str | os.PathLike[str]) -> str | None:
    """sha256 of a file's bytes, or None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def listing_digest(folder: str | os.PathLike[str], skip: str | None = None) -> str | None:
    """sha256 of a folder's sorted entry names (``skip`` left out), or None when it
    cannot be listed: what an import lookup there finds changes only when this does."""
    try:
        names = sorted(n for n in os.listdir(folder) if n != skip)
    except OSError:
        return None
    return sha256_hex("\n".join(names).encode("utf-8", "surrogateescape"))


def object_digests(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(md5, sha256) hex of a file, read once in chunks: what a bucket's ETag and our
    stored metadata are compared with (a large file is not read whole)."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()
