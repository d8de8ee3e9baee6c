"""A content-addressed build cache: safe to delete, never trusted blindly.

Each entry is ``<sha256 of payload>\\n<payload>`` written atomically; an entry whose
checksum does not match (a torn or edited file) is removed and treated as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .atomic import atomic_write

CACHE_VERSION = "1"


def key(*parts: str | bytes) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return h.hexdigest()


class Cache:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def _path(self, k: str) -> Path:
        return self.root / k[:2] / k

    def get(self, k: str) -> bytes | None:
        path = self._path(k)
        try:
            blob = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        digest, _, payload = blob.partition(b"\n")
        if digest.decode("ascii", "replace") != hashlib.sha256(payload).hexdigest():
            with contextlib.suppress(OSError):
                path.unlink()
            self.misses += 1
            return None
        self.hits += 1
        return payload

    def put(self, k: str, payload: bytes) -> None:
        blob = hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
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


def file_digest(path: str | os.PathLike[str]) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None
