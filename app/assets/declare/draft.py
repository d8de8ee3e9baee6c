"""The intermediate form every reader produces and :mod:`.validate` checks.

A reader (the YAML file today; webassets' environment format, Python-registered or
inline template bundles later) only records what was written, where: values as
strings with their line, names of other bundles as :class:`Ref`. Checks that need the
file system or the other bundles are left to validation.

A mistake the reader finds inside a bundle is kept in place as a :class:`Problem`
rather than raised, so that validation, walking a bundle in order, reports the first
mistake of the file whatever its sort (a missing source before a malformed entry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .model import Ref


@dataclass(frozen=True)
class Problem:
    """A mistake found by a reader; raised as a ``ConfigError`` when validation reaches it."""

    message: str
    line: int | None
    named: bool = True  # whether the error names the bundle


@dataclass(frozen=True)
class Value:
    """A string as written (source path or glob, filter, output) and its line."""

    text: str
    line: int


@dataclass(frozen=True)
class Draft:
    """One bundle as declared: top-level, or inline in another's ``contents``.

    ``name`` is the top-level bundle's (an inline bundle reports errors under it).
    When ``problem`` is set the bundle could not be read and the other fields are empty.
    """

    name: str
    line: int
    contents: tuple[Value | Ref | Draft | Problem, ...] = ()
    contents_line: int = 0  # where 'contents' is, for "'contents' is empty"
    filters: tuple[Value, ...] | Problem = ()
    depends: tuple[Value, ...] | Problem = ()
    output: Value | Problem | None = None
    problem: Problem | None = None
    # webassets' other bundle keys: EXTRA for the tag, and debug=False (never unbundled).
    extra: tuple[tuple[str, str], ...] = ()
    debug: bool | str | None = None
    browsers: tuple[str, ...] | None = None  # config: ASSETS_BROWSERS for this bundle


@dataclass(frozen=True)
class Declaration:
    """Every bundle of one declaration file, in the order written."""

    path: Path  # the file (shown in errors, kept as ``Spec.path``)
    bundles: tuple[Draft, ...]
    roots: tuple[Path, ...] = ()  # extra source folders (webassets' directory, load_path)
    notes: tuple[str, ...] = ()  # said once: settings ignored, filters renamed
    # Bundles declared elsewhere than ``path`` (Python, templates): name -> where, for errors.
    origins: dict[str, str] = field(default_factory=dict)
