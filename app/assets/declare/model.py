"""The declared bundles, as frozen dataclasses: what every reader's input becomes.

Nothing here knows where the declaration came from (YAML today); paths are *logical*
(``js/main.js``, ``admin/js/x.js``), resolved through the spec's :class:`LoadPath`.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..load_path import LoadPath

KIND_BY_SUFFIX = {".css": "css", ".scss": "css", ".sass": "css", ".js": "js"}
OUTPUT_DIR = "gen"
VERSION_PLACEHOLDER = "%(version)s"


@dataclass(frozen=True)
class Ref:
    """A content item naming another bundle."""

    name: str
    line: int


@dataclass(frozen=True)
class BundleSpec:
    name: str
    # Logical source paths (globs expanded, sorted), Refs, or inline bundles.
    contents: tuple[str | Ref | BundleSpec, ...]
    filters: tuple[str, ...]
    output: str | None  # relative to the primary static folder, e.g. "gen/app.css"
    depends: tuple[str, ...]
    kind: str  # "css" or "js"; "" for a container of both (or of nothing), never built
    line: int
    extra: tuple[tuple[str, str], ...] = ()  # webassets' extra: EXTRA in the tag
    debug: bool | str | None = None  # False: built even with ASSETS_DEBUG
    # config: ASSETS_BROWSERS (or AUTOPREFIXER_BROWSERS) for this bundle and those it
    # nests; None: the setting applies.
    browsers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Spec:
    path: Path
    load_path: LoadPath
    bundles: dict[str, BundleSpec]
    # The glob patterns as written: a file added or removed may change what they match.
    globs: tuple[str, ...] = ()
    # Containers (bundles without an output that templates name): the built bundles
    # each renders, in order.
    groups: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()  # said once: settings ignored, filters that run as another

    def members(self, name: str) -> tuple[str, ...]:
        """The built bundles a template naming ``name`` links (KeyError when none)."""
        if name in self.outputs:
            return (name,)
        return self.groups[name]

    def extra(self, name: str) -> dict[str, str]:
        bundle = self.bundles.get(name)
        return dict(bundle.extra) if bundle is not None else {}

    @property
    def static_folder(self) -> Path:
        """The app's static folder (the primary root): outputs go to its ``gen/``."""
        return self.load_path.static

    @functools.cached_property
    def outputs(self) -> dict[str, BundleSpec]:
        """The bundles that are built on their own (those with an ``output``)."""
        return {n: b for n, b in self.bundles.items() if b.output}

    def files(self, name: str, *, depends: bool = True) -> list[str]:
        """Every declared source file of a bundle, nested bundles included, in order."""
        seen: list[str] = []
        for item in _walk(self, self.bundles[name], depends):
            if item not in seen:
                seen.append(item)
        return seen

    def glob_folders(self) -> list[str]:
        """Folders whose listing decides what the glob patterns match (for staleness)."""
        found: set[str] = set()
        static = self.load_path.static
        gen = static / OUTPUT_DIR
        for pattern in self.globs:
            root, rest = self.load_path.root_of(pattern)
            parent = os.path.dirname(rest)
            if "**" in rest:
                for d, subdirs, _ in os.walk(root.folder / parent.split("**", 1)[0]):
                    if Path(d) == static:
                        subdirs[:] = [x for x in subdirs if x != OUTPUT_DIR]
                    if Path(d) != gen:
                        found.add(d)
            else:
                found.update(
                    str(root.folder / d) for d in glob.glob(parent or ".", root_dir=root.folder)
                )
        return sorted(found)

    def compiles(self, name: str) -> bool:
        """Whether the bundle (or one nested in it) must be compiled to be served."""
        return any(
            "libsass" in b.filters
            or any(Path(f).suffix in (".scss", ".sass") for f in b.contents if isinstance(f, str))
            for b in _bundles(self, self.bundles[name])
        )


def _bundles(spec: Spec, bundle: BundleSpec) -> Iterator[BundleSpec]:
    yield bundle
    for item in bundle.contents:
        if isinstance(item, Ref):
            yield from _bundles(spec, spec.bundles[item.name])
        elif isinstance(item, BundleSpec):
            yield from _bundles(spec, item)


def _walk(spec: Spec, bundle: BundleSpec, depends: bool = True) -> Iterator[str]:
    for item in bundle.contents:
        if isinstance(item, Ref):
            yield from _walk(spec, spec.bundles[item.name], depends)
        elif isinstance(item, BundleSpec):
            yield from _walk(spec, item, depends)
        else:
            yield item
    if depends:
        yield from bundle.depends


def display_path(path: Path) -> str:
    """A path as users want to read it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
