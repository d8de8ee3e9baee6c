"""The manifest's keys for webassets projects: ``groups`` (the parts a bundle without an
output links) and ``extra`` (each bundle's values for ``EXTRA``), validated; and the
manifest's layout on disk."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def parse_groups(raw: Any, bundles: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise ValueError("'groups' must be an object")
    out = {}
    for name, members in raw.items():
        if not isinstance(members, list) or not all(m in bundles for m in members):
            raise ValueError(f"group '{name}' must list built bundles")
        out[str(name)] = tuple(members)
    return out


def parse_extra(raw: Any) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not all(
        isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in raw.values()
    ):
        raise ValueError("'extra' must map bundle names to objects of strings")
    return {str(n): {str(k): v for k, v in e.items()} for n, e in raw.items()}


def layout(doc: Mapping[str, Any]) -> str:
    """The manifest as text: a line per top-level key, per bundle or file, per build of
    the history; each entry compact on its line. Readable and diffable, and encoded by
    json's C encoder: ``indent=2`` runs the pure-Python one, 23 ms on a 200-bundle site."""

    def entries(value: Any, pad: str) -> str:
        if not isinstance(value, dict) or not value:
            return _compact(value)
        lines = (f"{pad}  {_compact(k)}: {_compact(v)}" for k, v in sorted(value.items()))
        return "{\n" + ",\n".join(lines) + f"\n{pad}}}"

    parts = []
    for key, value in sorted(doc.items()):
        if isinstance(value, list) and value and all(isinstance(b, dict) for b in value):
            builds = ",\n".join(f"    {entries(b, '    ')}" for b in value)
            text = "[\n" + builds + "\n  ]"
        else:
            text = entries(value, "  ")
        parts.append(f"  {_compact(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(", ", ": "))


def _compact(value: Any) -> str:
    return _ENCODER.encode(value)
