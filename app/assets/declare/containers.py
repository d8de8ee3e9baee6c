"""Bundles without an output that templates name: each part is built and linked alone.

webassets renders such a *container* as its children: each nested bundle's output, and
each plain file. Here every part is a built bundle, so every linked file is hashed,
immutable and in the manifest: a nested bundle with an output is built under its own
name (an inline one under its output path), and a file becomes a bundle of that one
file, named by its path (``js/jquery.min.js`` -> ``gen/js/jquery.min.<hash>.js``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from .. import engines
from ..errors import ConfigError
from .draft import Value
from .model import KIND_BY_SUFFIX, BundleSpec, Ref

_COMPILED = (".scss", ".sass")


def expand(
    bundles: dict[str, BundleSpec],
    referenced: set[str],
    wanted: Iterable[str],
    check: Callable[[str, int, str], str],
    output: Callable[[Value, str], str],
) -> dict[str, tuple[str, ...]]:
    """Add the parts containers need to ``bundles``; return each container's parts."""
    _hoist(bundles)
    wanted = list(wanted)
    groups: dict[str, tuple[str, ...]] = {}
    for name, bundle in list(bundles.items()):
        if bundle.output or (name in referenced and name not in wanted):
            continue
        groups[name] = tuple(dict.fromkeys(_parts(bundles, bundle, output)))
    for name in wanted:
        if name in bundles or Path(name).suffix not in KIND_BY_SUFFIX:
            continue
        try:
            logical = check(name, 0, name)
        except ConfigError:
            continue  # not a file either: `check` reports the template's unknown name
        _file_bundle(bundles, logical, (), 0, output)
    return groups


def _hoist(bundles: dict[str, BundleSpec]) -> None:
    """Inline bundles with their own output are built too, named by that output."""

    def walk(bundle: BundleSpec) -> None:
        for item in bundle.contents:
            if isinstance(item, BundleSpec):
                if item.output and item.output not in bundles:
                    bundles[item.output] = replace(item, name=item.output)
                walk(item)

    for bundle in list(bundles.values()):
        walk(bundle)


def _parts(
    bundles: dict[str, BundleSpec], bundle: BundleSpec, output: Callable[[Value, str], str]
) -> list[str]:
    found: list[str] = []
    for item in bundle.contents:
        if isinstance(item, Ref):
            target = bundles[item.name]
            found += [item.name] if target.output else _parts(bundles, target, output)
        elif isinstance(item, BundleSpec):
            found += [item.output] if item.output else _parts(bundles, item, output)
        else:
            found.append(_file_bundle(bundles, item, bundle.filters, bundle.line, output))
    return found


def _file_bundle(
    bundles: dict[str, BundleSpec],
    logical: str,
    filters: tuple[str, ...],
    line: int,
    output: Callable[[Value, str], str],
) -> str:
    """The bundle of one file, named by its path; a copy (filters of its kind applied)."""
    if logical in bundles:
        return logical
    suffix = Path(logical).suffix
    kind = KIND_BY_SUFFIX[suffix]
    own = tuple(f for f in filters if (info := engines.lookup(f)) and info.kind == kind)
    if suffix in _COMPILED and "libsass" not in own:
        own = ("libsass", *own)
    target = str(Path(logical).with_suffix(".css")) if suffix in _COMPILED else logical
    out = output(Value(target, line), logical)
    bundles[logical] = BundleSpec(logical, (logical,), own, out, (), kind, line)
    return logical
