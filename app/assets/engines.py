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
    """The engine a filter name (or one of its aliases, or webassets' name) runs, or None."""
    info = _ENGINES.get(_ALIASES.get(name, name))
    if info is None and name in WEBASSETS_ALIASES:
        info = _ENGINES.get(WEBASSETS_ALIASES[name][0])
    return info


def canonical(name: str) -> str | None:
    """The registered engine a filter name runs (webassets' names included), or None."""
    info = lookup(name)
    return info.name if info is not None else None


def note(name: str) -> str | None:
    """The one-line note a webassets filter name gets (an alias or a no-op), else None."""
    if name in WEBASSETS_ALIASES:
        engine, why = WEBASSETS_ALIASES[name]
        return f"filter '{name}' runs as {engine}: {why}"
    if name in NOTHING_TO_DO:
        return f"filter '{name}' has nothing to do here: {NOTHING_TO_DO[name]}"
    return None


def refusal(name: str) -> str | None:
    """Why a known webassets filter is refused, and the way out; None if it is not one."""
    if name not in REFUSED:
        return None
    needs, way_out = REFUSED[name]
    return f"filter '{name}' needs {needs}, which this pipeline does not run: {way_out}"


def suggest(name: str) -> str | None:
    """The closest known filter name, for "did you mean"."""
    import difflib

    known = [*_ENGINES, *_ALIASES, *WEBASSETS_ALIASES, *NOTHING_TO_DO]
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.7)
    return close[0] if close else None


def names(kind: str | None = None) -> tuple[str, ...]:
    """Registered filter names (not aliases), in registration order."""
    return tuple(n for n, e in _ENGINES.items() if kind is None or e.kind == kind)


register("libsass", "compiler", "css", ".compilers.libsass")
register("cssmin", "minifier", "css", ".minifiers.cssmin")
register("rcssmin", "minifier", "css", ".minifiers.rcssmin")
register("jsmin", "minifier", "js", ".minifiers.jsmin")
register("rjsmin", "minifier", "js", ".minifiers.rjsmin")

# webassets' filter names that run as one of ours: (engine, why no external tool is needed).
WEBASSETS_ALIASES: dict[str, tuple[str, str]] = {
    "scss": ("libsass", "no Ruby needed"),
    "sass": ("libsass", "no Ruby needed (.sass indented syntax included)"),
    "pyscss": ("libsass", "the same SCSS, compiled in C"),
    "node-scss": ("libsass", "no Node needed"),
    "node-sass": ("libsass", "no Node needed"),
    "yui_css": ("cssmin", "no Java needed"),
    "cssutils": ("cssmin", "a verified CSS minifier"),
    "cleancss": ("cssmin", "no Node needed"),
    "uglifyjs": ("jsmin", "no Node needed"),
    "yui_js": ("jsmin", "no Java needed"),
    "jspacker": ("jsmin", "a verified JS minifier"),
    "slimit": ("jsmin", "a verified JS minifier"),
    "closure_js": ("jsmin", "no Java needed"),
}
# Accepted and skipped: the pipeline already does what they do.
NOTHING_TO_DO: dict[str, str] = {
    "cssrewrite": "url()s are rewritten to hashed copies beside the output",
}
# webassets filters that run an external tool with no Python equivalent: (needs, way out).
_COMPILE_FIRST = "compile it with its own tool first and bundle the output"
REFUSED: dict[str, tuple[str, str]] = {
    "less": ("Node (lessc)", "compile it to CSS first and bundle the .css, or switch to SCSS"),
    "less_ruby": ("Ruby", "compile it to CSS first and bundle the .css, or switch to SCSS"),
    "stylus": ("Node", "compile it to CSS first and bundle the .css, or switch to SCSS"),
    "compass": ("Ruby", "use the scss filter (libsass) with your own mixins"),
    "coffeescript": ("Node", "compile it to JavaScript first and bundle the .js"),
    "typescript": ("Node (tsc)", "compile it to JavaScript first and bundle the .js"),
    "babel": ("Node", _COMPILE_FIRST),
    "jsx": ("Node", _COMPILE_FIRST),
    "jst": ("a JS template compiler", _COMPILE_FIRST),
    "handlebars": ("Node", _COMPILE_FIRST),
    "dust": ("Node", _COMPILE_FIRST),
    "ember_handlebars": ("Node", _COMPILE_FIRST),
    "requirejs": ("Node (r.js)", _COMPILE_FIRST),
    "browserify": ("Node", _COMPILE_FIRST),
    "clevercss": ("clevercss", "compile it to CSS first and bundle the .css"),
    "closure_tmpl": ("Java", _COMPILE_FIRST),
    "closure_stylesheets": ("Java", _COMPILE_FIRST),
    "closure_stylesheets_compiler": ("Java", _COMPILE_FIRST),
    "closure_stylesheets_minifier": ("Java", "use cssmin"),
    "autoprefixer": ("Node", "write the prefixes in the source (or use a mixin)"),
    "autoprefixer6": ("Node", "write the prefixes in the source (or use a mixin)"),
    "cssprefixer": ("cssprefixer", "write the prefixes in the source (or use a mixin)"),
    "datauri": ("inlining", "reference the file with url(); it is copied and hashed"),
    "spritemapper": ("spritemapper", "build the sprite first and bundle it"),
    "sass_ruby": ("Ruby", "use the scss filter (libsass)"),
    "scss_ruby": ("Ruby", "use the scss filter (libsass)"),
    "postcss": ("Node", _COMPILE_FIRST),
    "rollup": ("Node", _COMPILE_FIRST),
    "template": ("template rendering at build time", _COMPILE_FIRST),
}
