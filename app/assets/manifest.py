"""The manifest: what the current build produced, as versioned, sorted JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write
from .errors import ManifestError
from .spec import display_path

VERSION = 1
FILENAME = "manifest.json"


@dataclass(frozen=True)
class Entry:
    file: str  # relative to static/, e.g. "gen/app.1a2b3c4d.css"
    url: str
    type: str
    integrity: str
    bytes: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    bundles: dict[str, Entry]
    # Older builds kept for rolling deploys, newest first.
    previous: tuple[dict[str, Entry], ...] = field(default=())

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"version": VERSION, "bundles": _dump(self.bundles)}
        if self.previous:
            doc["previous"] = [_dump(b) for b in self.previous]
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    def files(self) -> set[str]:
        """Every file this manifest references, kept builds included."""
        return {e.file for b in (self.bundles, *self.previous) for e in b.values()}


def _dump(bundles: dict[str, Entry]) -> dict[str, Any]:
    return {name: {**asdict(e), "sources": list(e.sources)} for name, e in bundles.items()}


def _entries(raw: Any, where: str) -> dict[str, Entry]:
    if not isinstance(raw, dict):
        raise ValueError(f"'{where}' must be an object")
    out = {}
    for name, e in raw.items():
        try:
            out[name] = Entry(
                file=str(e["file"]),
                url=str(e["url"]),
                type=str(e["type"]),
                integrity=str(e["integrity"]),
                bytes=int(e["bytes"]),
                sources=tuple(str(s) for s in e["sources"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bundle '{name}' in '{where}' is malformed ({exc})") from None
    return out


def load(path: str | os.PathLike[str]) -> Manifest:
    """Read a manifest; raises :class:`ManifestError` saying how to regenerate it."""
    path = Path(path)
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(
            "manifest not found: run `flask --app app assets build` first", file=shown
        ) from None
    except OSError as exc:
        raise ManifestError(
            f"unreadable manifest ({exc}): run `flask --app app assets build`", file=shown
        ) from None
    return parse(data, shown)


def parse(data: bytes, where: str) -> Manifest:
    """Validate manifest bytes (from disk or a bucket); errors name ``where``."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ManifestError(
            f"unreadable manifest ({exc}): run `flask --app app assets build`", file=where
        ) from None
    try:
        if not isinstance(doc, dict) or doc.get("version") != VERSION:
            raise ValueError(f"expected version {VERSION}")
        previous = tuple(_entries(p, "previous") for p in doc.get("previous", []))
        return Manifest(_entries(doc.get("bundles"), "bundles"), previous)
    except ValueError as exc:
        raise ManifestError(
            f"invalid manifest: {exc}; run `flask --app app assets build`", file=where
        ) from None


def save(path: str | os.PathLike[str], manifest: Manifest) -> None:
    atomic_write(path, manifest.to_json())
