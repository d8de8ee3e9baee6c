"""The pipeline's errors: each one names the file (and line), the bundle and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AssetError(Exception):
    """Base class: ``str(err)`` is the one-line message shown to users."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        bundle: str | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.bundle = bundle
        self.column = column  # 1-based; shown only with a line
        # Exception's own init (not super()): a subclass mixing in a click exception must
        # not have its ``message`` replaced by the formatted line.
        Exception.__init__(self, self.format())

    def __str__(self) -> str:
        return self.format()

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only fields: rebuild through a helper so errors cross process pools.
        return (
            _rebuild,
            (type(self), self.message, self.file, self.line, self.bundle, self.column),
        )

    def format(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}: "
            if self.line:
                col = f":{self.column}" if self.column else ""
                where = f"{self.file}:{self.line}{col}: "
        who = f"bundle '{self.bundle}': " if self.bundle else ""
        # One line always: a value quoted from the input may hold line breaks.
        text = f"{where}{who}{self.message}"
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ConfigError(AssetError):
    """``assets.yml`` is invalid: nothing is built."""


class BuildError(AssetError):
    """A bundle failed to compile or minify: the previous build keeps serving."""


class MissingBundleError(AssetError):
    """A template asked for a bundle that is not declared or not built."""


LISTED = 8  # names an unknown-bundle error lists in full; beyond, the closest and a count


def known_names(name: str, known: Iterable[str], what: str = "declared") -> str:
    """``(declared: a, b)``, or on a large site ``(did you mean css_page1? 200 declared)``:
    an error that names every one of 1,000 bundles is one nobody reads."""
    names = list(known)
    if len(names) <= LISTED:
        return f"({what}: {', '.join(names) or 'none'})"
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if close:
        return f"(did you mean {', '.join(close)}? {len(names)} {what})"
    return f"({len(names)} {what}, none named like it)"


class ManifestError(AssetError):
    """The manifest is missing or unreadable."""


def _rebuild(
    cls: type[AssetError],
    message: str,
    file: str | None,
    line: int | None,
    bundle: str | None,
    column: int | None = None,
) -> AssetError:
    return cls(message, file=file, line=line, bundle=bundle, column=column)
