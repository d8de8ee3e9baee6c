"""A content-addressed build cache: safe to delete, never trusted blindly.

Each entry is ``<sha256 of payload> <seal>\\n<payload>`` written atomically; an entry
whose checksum does not match (a torn or edited file) is removed and treated as a miss.
The seal (``trust.py``: this machine's key over the entry's key and checksum) tells
entries this machine computed from entries from anywhere else (a cache restored in CI):
both are used, but a bundle compiled with any of the latter is not sealed for `check`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import trust
from .digests import cache_key, sha256_hex
from .output import atomic_write

# Texts under this size parse in about the time a cache entry takes to write and read
# back: their syntax verdicts are recomputed on every build, not cached.
PARSE_CACHE_MIN = 64 * 1024


class Cache:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0
        self.foreign = 0  # hits on entries this machine did not seal

    def _path(self, k: str) -> Path:
        return self.root / k[:2] / k

    def get(self, k: str) -> bytes | None:
        path = self._path(k)
        try:
            blob = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        head, _, payload = blob.partition(b"\n")
        digest, _, mac = head.decode("ascii", "replace").partition(" ")
        if digest != sha256_hex(payload):
            with contextlib.suppress(OSError):
                path.unlink()
            self.misses += 1
            return None
        self.hits += 1
        if not trust.sealed(f"{k} {digest}".encode(), mac):
            self.foreign += 1
        return payload

    def put(self, k: str, payload: bytes) -> None:
        digest = sha256_hex(payload)
        mac = trust.seal(f"{k} {digest}".encode()) or ""
        blob = f"{digest} {mac}".encode() + b"\n" + payload
        # A cache that cannot be written only costs speed. No fsync: after a crash an
        # entry is either complete or fails its checksum, and is then rebuilt.
        with contextlib.suppress(OSError):
            atomic_write(self._path(k), blob, durable=False)

    def get_json(self, k: str) -> Any:
        raw = self.get(k)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def put_json(self, k: str, value: Any) -> None:
        self.put(k, json.dumps(value, sort_keys=True).encode())


def memo(cache: Cache | None, kind: str) -> Callable[[str, bytes, Callable[[bytes], bytes]], bytes]:
    """``memo(cache, "compress")(variant, data, compute)``: compute once per content."""

    def cached(variant: str, data: bytes, compute: Callable[[bytes], bytes]) -> bytes:
        if cache is None:
            return compute(data)
        k = cache_key(kind, variant, data)
        hit = cache.get(k)
        if hit is None:
            hit = compute(data)
            cache.put(k, hit)
        return hit

    return cached
