"""The declared bundles: read (``assets.yml`` today), validated, frozen into a :class:`Spec`.

- :mod:`.model`: the frozen result (``Spec``, ``BundleSpec``, ``Ref``) and constants;
- :mod:`.draft`: the intermediate form a reader produces;
- :mod:`.yaml_reader`: webassets' YAML format into that form;
- :mod:`.validate` (with :mod:`.sources`): the checks shared by every reader.

No Flask, no webassets here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..load_path import LoadPath
from .draft import Declaration, Draft, Problem, Value
from .model import (
    KIND_BY_SUFFIX,
    OUTPUT_DIR,
    VERSION_PLACEHOLDER,
    BundleSpec,
    Ref,
    Spec,
    display_path,
)
from .validate import build_spec
from .yaml_reader import ALLOWED_KEYS, read_yaml

__all__ = [
    "ALLOWED_KEYS",
    "KIND_BY_SUFFIX",
    "OUTPUT_DIR",
    "VERSION_PLACEHOLDER",
    "BundleSpec",
    "Declaration",
    "Draft",
    "Problem",
    "Ref",
    "Spec",
    "Value",
    "display_path",
    "load_spec",
]


def load_spec(
    path: str | os.PathLike[str],
    static: LoadPath | str | os.PathLike[str],
    *,
    more: Iterable[Declaration] = (),
    wanted: Iterable[str] = (),
) -> Spec:
    """Load ``assets.yml``; raises :class:`ConfigError` naming file, line and bundle.

    ``static`` is the load path, or the app's static folder alone. ``more``: bundles
    declared elsewhere (registered in Python, inline in templates), joining the file's
    (a name the file declares keeps the file's bundle). Without the file, they alone.
    ``wanted``: names templates use (see :func:`build_spec`).
    """
    load_path = static if isinstance(static, LoadPath) else LoadPath.single(static)
    more = [m for m in more if m.bundles]
    path = Path(path)
    if more and not path.exists():
        declaration = Declaration(path, ())
    else:
        declaration = read_yaml(path, load_path.static)
    for other in more:
        declaration = merge(declaration, other)
    return build_spec(declaration, load_path, wanted)


def merge(first: Declaration, other: Declaration) -> Declaration:
    """``first`` with ``other``'s bundles whose names it does not declare."""
    names = {d.name for d in first.bundles}
    added = tuple(d for d in other.bundles if d.name not in names)
    origins = {
        **first.origins,
        **{d.name: other.origins.get(d.name, display_path(other.path)) for d in added},
    }
    return Declaration(
        first.path,
        first.bundles + added,
        tuple(dict.fromkeys(first.roots + other.roots)),
        tuple(dict.fromkeys(first.notes + other.notes)),
        origins,
    )
