"""The manifest's keys for webassets projects: ``groups`` (the parts a bundle without an
output links) and ``extra`` (each bundle's values for ``EXTRA``), validated."""

from __future__ import annotations

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
