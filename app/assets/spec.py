"""Read and validate ``assets.yml`` into frozen dataclasses.

The file uses webassets' YAML format: each top-level key names a bundle with
``contents``, ``filters``, ``output`` and optional ``depends``. Everything is
checked before anything is built, and every error carries the file and line.
No Flask, no webassets here.
"""

from __future__ import annotations

import functools
import glob
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError

ALLOWED_KEYS = ("contents", "depends", "filters", "output")
CSS_FILTERS = ("libsass", "cssmin", "rcssmin")
JS_FILTERS = ("jsmin", "rjsmin")
KNOWN_FILTERS = CSS_FILTERS + JS_FILTERS
KIND_BY_SUFFIX = {".css": "css", ".scss": "css", ".sass": "css", ".js": "js"}
OUTPUT_DIR = "gen"
VERSION_PLACEHOLDER = "%(version)s"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Ref:
    """A content item naming another bundle."""

    name: str
    line: int


@dataclass(frozen=True)
class BundleSpec:
    name: str
    # Source paths relative to static/ (globs expanded, sorted), Refs, or inline bundles.
    contents: tuple[str | Ref | BundleSpec, ...]
    filters: tuple[str, ...]
    output: str | None  # relative to static/, e.g. "gen/app.css" (placeholder removed)
    depends: tuple[str, ...]
    kind: str  # "css" or "js"
    line: int


@dataclass(frozen=True)
class Spec:
    path: Path
    static_folder: Path
    bundles: dict[str, BundleSpec]
    # The glob patterns as written: a file added or removed may change what they match.
    globs: tuple[str, ...] = ()

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
        for pattern in self.globs:
            parent = os.path.dirname(pattern)
            if "**" in pattern:
                root = self.static_folder / parent.split("**", 1)[0]
                gen = self.static_folder / OUTPUT_DIR
                for d, subdirs, _ in os.walk(root):
                    if Path(d) == self.static_folder:
                        subdirs[:] = [x for x in subdirs if x != OUTPUT_DIR]
                    if Path(d) != gen:
                        found.add(d)
            else:
                found.update(
                    str(self.static_folder / d)
                    for d in glob.glob(parent or ".", root_dir=self.static_folder)
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


class _Loader:
    def __init__(self, path: Path, static_folder: Path) -> None:
        self.path = path
        self.file = display_path(path)
        self.static = static_folder
        self.static_real = Path(os.path.realpath(static_folder))
        self.globs: set[str] = set()

    def error(self, message: str, line: int | None, bundle: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, line=line, bundle=bundle)

    def load(self) -> Spec:
        try:
            text = self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise self.error("file not found; create it to declare bundles", None) from None
        except UnicodeDecodeError as exc:
            raise self.error(f"not valid UTF-8 ({exc.reason})", None) from None
        except OSError as exc:
            raise self.error(f"cannot read: {exc.strerror}", None) from None
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except RecursionError:
            raise self.error("invalid YAML: nested too deeply", None) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            line = mark.line + 1 if mark is not None else None
            raise self.error(f"invalid YAML: {problem}", line) from None
        if root is None or (isinstance(root, yaml.MappingNode) and not root.value):
            raise self.error("declares no bundles", _line(root) if root is not None else None)
        if not isinstance(root, yaml.MappingNode):
            raise self.error("top level must be a mapping of bundle names", _line(root))
        raw: dict[str, yaml.Node] = {}
        lines: dict[str, int] = {}
        for key, value in root.value:
            name = self.scalar(key, None, "bundle name")
            if not _NAME.match(name):
                raise self.error(f"invalid bundle name {name!r}", _line(key))
            if name in raw:
                raise self.error(f"declared twice (first on line {lines[name]})", _line(key), name)
            raw[name] = value
            lines[name] = _line(key)
        try:
            bundles = {
                name: self.bundle(name, node, lines[name], set(raw)) for name, node in raw.items()
            }
        except RecursionError:
            raise self.error("bundles nested too deeply", None) from None
        spec = Spec(self.path, self.static, bundles, tuple(sorted(self.globs)))
        self.check_refs(spec)
        self.check_outputs(spec)
        return spec

    def scalar(self, node: yaml.Node, bundle: str | None, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise self.error(f"{what} must be a string", _line(node), bundle)
        return str(node.value)

    def strings(self, node: yaml.Node, bundle: str, what: str) -> list[tuple[str, int]]:
        """A comma-separated string or a list of strings."""
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
            return [(p.strip(), _line(node)) for p in node.value.split(",") if p.strip()]
        if isinstance(node, yaml.SequenceNode):
            return [(self.scalar(n, bundle, f"each of {what}"), _line(n)) for n in node.value]
        raise self.error(f"{what} must be a string or a list of strings", _line(node), bundle)

    def bundle(
        self,
        name: str,
        node: yaml.Node,
        line: int,
        names: set[str],
        inside: frozenset[int] = frozenset(),
    ) -> BundleSpec:
        # A YAML alias can make a mapping contain itself: refuse instead of recursing.
        if id(node) in inside:
            raise self.error("an inline bundle contains itself (YAML alias)", line, name)
        inside = inside | {id(node)}
        if isinstance(node, yaml.SequenceNode | yaml.ScalarNode):
            fields = {"contents": node}  # webassets' shorthand: just the contents
        elif isinstance(node, yaml.MappingNode):
            fields = {}
            for key, value in node.value:
                k = self.scalar(key, name, "key")
                if k not in ALLOWED_KEYS:
                    allowed = ", ".join(ALLOWED_KEYS)
                    raise self.error(f"unknown key '{k}' (allowed: {allowed})", _line(key), name)
                if k in fields:
                    raise self.error(f"key '{k}' given twice", _line(key), name)
                fields[k] = value
        else:
            raise self.error("must be a mapping with 'contents'", _line(node), name)
        if "contents" not in fields:
            raise self.error("has no 'contents'", line, name)

        contents: list[str | Ref | BundleSpec] = []
        cnode = fields["contents"]
        items = cnode.value if isinstance(cnode, yaml.SequenceNode) else [cnode]
        for item in items:
            if isinstance(item, yaml.MappingNode):
                contents.append(self.bundle(name, item, _line(item), names, inside))
                continue
            value = self.scalar(item, name, "each item of 'contents'")
            if not value.strip():
                raise self.error("'contents' has an empty entry", _line(item), name)
            if "\n" in value.strip() or "\r" in value:
                raise self.error(
                    "a source path spans several lines; write 'contents' as a list",
                    _line(item),
                    name,
                )
            if value in names:
                if value == name:
                    raise self.error("contains itself", _line(item), name)
                contents.append(Ref(value, _line(item)))
            else:
                contents.extend(self.sources(value, _line(item), name))
        if not contents:
            raise self.error("'contents' is empty", _line(cnode), name)

        filters: list[str] = []
        for f, fline in (
            self.strings(fields["filters"], name, "'filters'") if ("filters" in fields) else []
        ):
            if f not in KNOWN_FILTERS:
                known = ", ".join(KNOWN_FILTERS)
                raise self.error(f"unknown filter '{f}' (known: {known})", fline, name)
            filters.append(f)

        depends: list[str] = []
        if "depends" in fields:
            for dep, dline in self.strings(fields["depends"], name, "'depends'"):
                depends.extend(self.sources(dep, dline, name))

        output = None
        if "output" in fields:
            onode = fields["output"]
            output = self.output(self.scalar(onode, name, "'output'"), _line(onode), name)

        kind = self.kind(name, contents, filters, output, line)
        wrong = [f for f in filters if f not in (CSS_FILTERS if kind == "css" else JS_FILTERS)]
        if wrong:
            raise self.error(f"filter '{wrong[0]}' does not apply to a {kind} bundle", line, name)
        return BundleSpec(name, tuple(contents), tuple(filters), output, tuple(depends), kind, line)

    def sources(self, pattern: str, line: int, bundle: str) -> list[str]:
        if os.path.isabs(pattern) or pattern.startswith("~"):
            raise self.error(f"source '{pattern}' must be relative to static/", line, bundle)
        if _GLOB_CHARS.search(pattern):
            self.globs.add(pattern)
            matches = sorted(
                p
                for p in glob.glob(pattern, root_dir=self.static, recursive=True)
                if (self.static / p).is_file() and not _is_output(p)
            )
            if not matches:
                raise self.error(f"glob '{pattern}' matches no file in static/", line, bundle)
        else:
            matches = [pattern]
        out = []
        for rel in matches:
            if _is_output(rel):
                raise self.error(f"source '{rel}' is a build output (under gen/)", line, bundle)
            full = self.static / rel
            real = os.path.realpath(full)
            if not _inside(real, self.static_real):
                raise self.error(f"source '{rel}' is outside static/", line, bundle)
            if full.is_dir():
                raise self.error(f"source '{rel}' is a directory, not a file", line, bundle)
            if not full.is_file():
                raise self.error(
                    f"source '{rel}' not found (looked in static/; not a bundle name either)",
                    line,
                    bundle,
                )
            out.append(Path(os.path.normpath(rel)).as_posix())
        return out

    def output(self, value: str, line: int, bundle: str) -> str:
        plain = value.replace("." + VERSION_PLACEHOLDER, "").replace(VERSION_PLACEHOLDER, "")
        norm = os.path.normpath(plain) if plain else ""
        if (
            os.path.isabs(plain)
            or not norm.startswith(OUTPUT_DIR + os.sep)
            or ".." in Path(plain).parts
            or "%" in norm
        ):
            raise self.error(
                f"output '{value}' must be a file under static/{OUTPUT_DIR}/ (e.g. gen/app.css)",
                line,
                bundle,
            )
        if Path(norm).suffix not in (".css", ".js"):
            raise self.error(f"output '{value}' must end in .css or .js", line, bundle)
        gen = self.static / OUTPUT_DIR
        parent = (self.static / norm).parent
        # A symlinked gen/ (or subfolder) must not lead writes outside static/gen/.
        for existing in (gen, parent):
            if existing.exists() and not _inside(
                os.path.realpath(existing), self.static_real / OUTPUT_DIR
            ):
                raise self.error(f"output '{value}' resolves outside static/gen/", line, bundle)
        return Path(norm).as_posix()

    def kind(
        self,
        name: str,
        contents: list[str | Ref | BundleSpec],
        filters: list[str],
        output: str | None,
        line: int,
    ) -> str:
        kinds = {KIND_BY_SUFFIX.get(Path(c).suffix) for c in contents if isinstance(c, str)}
        kinds |= {c.kind for c in contents if isinstance(c, BundleSpec) and c.kind != "pending"}
        if output:
            kinds.add(KIND_BY_SUFFIX[Path(output).suffix])
        if any(f in CSS_FILTERS for f in filters):
            kinds.add("css")
        if any(f in JS_FILTERS for f in filters):
            kinds.add("js")
        if None in kinds:
            odd = next(
                c for c in contents if isinstance(c, str) and Path(c).suffix not in KIND_BY_SUFFIX
            )
            raise self.error(f"source '{odd}' is not .scss, .sass, .css or .js", line, name)
        if len(kinds) > 1:
            raise self.error("mixes CSS and JS sources or filters", line, name)
        # A bundle of only Refs takes its kind from them once all are loaded.
        return kinds.pop() if kinds else "pending"

    def check_refs(self, spec: Spec) -> None:
        state: dict[str, int] = {}  # 1 = visiting, 2 = done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*path[path.index(name) :], name])
                raise self.error(f"nesting cycle: {cycle}", spec.bundles[name].line, name)
            state[name] = 1
            for ref in _refs(spec.bundles[name]):
                visit(ref.name, [*path, name])
            state[name] = 2

        for name in spec.bundles:
            visit(name, [])
        # Resolve kinds of bundles made only of references, then check kinds agree.
        for name in list(spec.bundles):
            self.resolve_kind(spec, name)

    def resolve_kind(self, spec: Spec, name: str) -> str:
        b = spec.bundles[name]
        kinds = {self.resolve_kind(spec, r.name) for r in _refs(b)}
        if b.kind != "pending":
            kinds.add(b.kind)
        if len(kinds) > 1:
            raise self.error("mixes CSS and JS bundles", b.line, name)
        kind = kinds.pop()
        if kind != b.kind:
            spec.bundles[name] = BundleSpec(
                b.name, b.contents, b.filters, b.output, b.depends, kind, b.line
            )
        return kind

    def check_outputs(self, spec: Spec) -> None:
        seen: dict[str, str] = {}
        for name, b in spec.bundles.items():
            if not b.output:
                continue
            key = b.output.lower()
            if key in seen:
                raise self.error(
                    f"output '{b.output}' is also written by bundle '{seen[key]}'", b.line, name
                )
            seen[key] = name


def _is_output(rel: str) -> bool:
    parts = Path(os.path.normpath(rel)).parts
    return bool(parts) and parts[0] == OUTPUT_DIR


def _refs(bundle: BundleSpec) -> Iterator[Ref]:
    for item in bundle.contents:
        if isinstance(item, Ref):
            yield item
        elif isinstance(item, BundleSpec):
            yield from _refs(item)


def _inside(path: str | Path, root: str | Path) -> bool:
    path, root = str(path), str(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def load_spec(path: str | os.PathLike[str], static_folder: str | os.PathLike[str]) -> Spec:
    """Load ``assets.yml``; raises :class:`ConfigError` naming file, line and bundle."""
    return _Loader(Path(path), Path(static_folder)).load()
