"""Read ``assets.yml`` (webassets' YAML format) into the intermediate form.

Each top-level key names a bundle with ``contents``, ``filters``, ``output`` and
optional ``depends``; a bare list or string is just the contents. PyYAML's node API
keeps the line of everything. Mistakes of the file as a whole (unreadable, invalid
YAML, bad or repeated bundle names) are raised here; mistakes inside a bundle become
:class:`Problem` items that validation raises in order.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from ..errors import ConfigError
from .draft import Declaration, Draft, Problem, Value
from .environment import is_environment, read_environment
from .model import Ref, display_path
from .validate import name_problem

ALLOWED_KEYS = (
    "contents",
    "depends",
    "filters",
    "output",
    # webassets' other bundle keys: accepted (extra reaches the tag as EXTRA)
    "debug",
    "extra",
    "config",
    "merge",
    "remove_duplicates",
    "version",
)
# YAML aliases can make a small file expand to billions of entries: stop well before.
MAX_ENTRIES = 20_000
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"

_Fields = dict[str, yaml.Node]
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, static: Path | None = None) -> Declaration:
    """The bundles a YAML file declares; :class:`ConfigError` for faults of the file itself.

    ``static`` is the app's static folder (webassets' ``directory`` naming it adds no root).
    """
    file = display_path(path)
    root = _compose(path, file)
    roots: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()
    if isinstance(root, yaml.MappingNode) and is_environment(root):
        env = read_environment(
            root,
            path.parent,
            static or path.parent / "static",
            lambda message, line: ConfigError(message, file=file, line=line),
        )
        roots, notes = env.roots, env.notes
        root = env.bundles or yaml.MappingNode("tag:yaml.org,2002:map", [], root.start_mark)
    if root is None or (isinstance(root, yaml.MappingNode) and not root.value):
        line = _line(root) if root is not None else None
        raise ConfigError("declares no bundles", file=file, line=line)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(
            "top level must be a mapping of bundle names", file=file, line=_line(root)
        )
    tops: list[tuple[str, yaml.Node, int]] = []
    lines: dict[str, int] = {}
    for key, value in root.value:
        name = _scalar(key, "bundle name")
        if isinstance(name, Problem):
            raise ConfigError(name.message, file=file, line=name.line)
        message = name_problem(name, lines.get(name))
        if message:
            bundle = name if name in lines else None
            raise ConfigError(message, file=file, line=_line(key), bundle=bundle)
        lines[name] = _line(key)
        tops.append((name, value, _line(key)))
    reader = _Reader(set(lines), file)
    drafts = tuple(reader.top(name, node, line) for name, node, line in tops)
    return Declaration(path, drafts, roots, notes)


def _compose(path: Path, file: str) -> yaml.Node | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found; create it to declare bundles", file=file) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8 ({exc.reason})", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=file) from None
    try:
        # libyaml's parser (ten times faster on a large file); errors are worded and
        # placed by the pure-Python one, which reads the file again only then.
        return yaml.compose(text, Loader=_FAST_LOADER)
    except (yaml.YAMLError, RecursionError):
        pass
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", file=file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {problem}", file=file, line=line) from None


class _Reader:
    def __init__(self, names: set[str], file: str) -> None:
        self.names = names  # every top-level bundle: a content item naming one is a Ref
        self.file = file
        self.entries = 0  # bundles and items read, aliases expanded: bounded

    def count(self, node: yaml.Node) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            message = (
                f"expands to more than {MAX_ENTRIES:,} bundles and sources "
                "(YAML aliases repeated inside each other?)"
            )
            raise ConfigError(message, file=self.file, line=_line(node))

    def top(self, name: str, node: yaml.Node, line: int) -> Draft:
        try:
            return self.bundle(name, node, line, frozenset())
        except RecursionError:
            return Draft(name, line, problem=Problem("bundles nested too deeply", None, False))

    def bundle(self, name: str, node: yaml.Node, line: int, inside: frozenset[int]) -> Draft:
        # A YAML alias can make a mapping contain itself: refuse instead of recursing.
        if id(node) in inside:
            message = "an inline bundle contains itself (YAML alias)"
            return Draft(name, line, problem=Problem(message, line))
        self.count(node)
        if _null(node):
            return Draft(name, line, contents_line=line)  # `auth_css:` alone: an empty bundle
        fields = _fields(node)
        if isinstance(fields, Problem):
            return Draft(name, line, problem=fields)
        if "contents" not in fields:
            return Draft(name, line, problem=Problem("has no 'contents'", line))
        cnode = fields["contents"]
        if _null(cnode) and "output" not in fields:
            items: list[yaml.Node] = []  # an empty container
        else:
            items = cnode.value if isinstance(cnode, yaml.SequenceNode) else [cnode]
        inside = inside | {id(node)}
        for key in ("filters", "depends", "extra"):  # lists an alias may repeat too
            value = fields.get(key)
            if isinstance(value, yaml.SequenceNode | yaml.MappingNode):
                for _ in value.value:
                    self.count(value)
        return Draft(
            name,
            line,
            contents=tuple(self.item(name, item, inside) for item in items),
            contents_line=_line(cnode),
            filters=_strings(fields["filters"], "'filters'") if "filters" in fields else (),
            depends=_strings(fields["depends"], "'depends'") if "depends" in fields else (),
            output=_output(fields["output"]) if "output" in fields else None,
            extra=_extra(fields["extra"]) if "extra" in fields else (),
            debug=_debug(fields["debug"]) if "debug" in fields else None,
            browsers=_browsers(fields["config"]) if "config" in fields else None,
        )

    def item(
        self, name: str, node: yaml.Node, inside: frozenset[int]
    ) -> Value | Ref | Draft | Problem:
        if isinstance(node, yaml.MappingNode):
            return self.bundle(name, node, _line(node), inside)
        self.count(node)
        value = _scalar(node, "each item of 'contents'")
        if isinstance(value, Problem):
            return value
        line = _line(node)
        if not value.strip():
            return Problem("'contents' has an empty entry", line)
        if "\n" in value.strip() or "\r" in value:
            return Problem("a source path spans several lines; write 'contents' as a list", line)
        return Ref(value, line) if value in self.names else Value(value, line)


def _fields(node: yaml.Node) -> _Fields | Problem:
    if isinstance(node, yaml.SequenceNode | yaml.ScalarNode):
        return {"contents": node}  # webassets' shorthand: just the contents
    if not isinstance(node, yaml.MappingNode):
        return Problem("must be a mapping with 'contents'", _line(node))
    fields: _Fields = {}
    for key, value in node.value:
        k = _scalar(key, "key")
        if isinstance(k, Problem):
            return k
        if k not in ALLOWED_KEYS:
            allowed = ", ".join(ALLOWED_KEYS)
            close = difflib.get_close_matches(k, ALLOWED_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            return Problem(f"unknown key '{k}' (allowed: {allowed}){hint}", _line(key))
        if k in fields:
            return Problem(f"key '{k}' given twice", _line(key))
        fields[k] = value
    return fields


def _scalar(node: yaml.Node, what: str) -> str | Problem:
    if not isinstance(node, yaml.ScalarNode) or node.tag == _NULL:
        return Problem(f"{what} must be a string", _line(node))
    return str(node.value)


def _null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


def _extra(node: yaml.Node) -> tuple[tuple[str, str], ...]:
    """webassets' ``extra`` (e.g. ``{rel: stylesheet/less}``): strings reach the tag as EXTRA."""
    if not isinstance(node, yaml.MappingNode):
        return ()
    return tuple(
        (str(k.value), str(v.value))
        for k, v in node.value
        if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)
    )


# Bundle config keys that set browser targets: ours, and webassets' autoprefixer filter's.
BROWSER_KEYS = ("ASSETS_BROWSERS", "AUTOPREFIXER_BROWSERS")


def _browsers(node: yaml.Node) -> tuple[str, ...] | None:
    """A bundle's browser targets from its ``config`` (None: the ``ASSETS_BROWSERS``
    setting applies). Other config keys configure tools that do not run here."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if not (isinstance(k, yaml.ScalarNode) and k.value in BROWSER_KEYS):
            continue
        if isinstance(v, yaml.ScalarNode):
            return tuple(q.strip() for q in str(v.value).split(",") if q.strip())
        if isinstance(v, yaml.SequenceNode):
            return tuple(str(q.value).strip() for q in v.value if isinstance(q, yaml.ScalarNode))
    return None


def _debug(node: yaml.Node) -> bool | str | None:
    value = node.value if isinstance(node, yaml.ScalarNode) else None
    if value in ("false", "False", "no", "off"):
        return False
    if value in ("true", "True", "yes", "on"):
        return True
    return value if value == "merge" else None


def _strings(node: yaml.Node, what: str) -> tuple[Value, ...] | Problem:
    """A comma-separated string or a list of strings (empty or null: none)."""
    if _null(node):
        return ()
    if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
        return tuple(Value(p.strip(), _line(node)) for p in node.value.split(",") if p.strip())
    if not isinstance(node, yaml.SequenceNode):
        return Problem(f"{what} must be a string or a list of strings", _line(node))
    values = []
    for n in node.value:
        text = _scalar(n, f"each of {what}")
        if isinstance(text, Problem):
            return text
        values.append(Value(text, _line(n)))
    return tuple(values)


def _output(node: yaml.Node) -> Value | Problem:
    text = _scalar(node, "'output'")
    return text if isinstance(text, Problem) else Value(text, _line(node))


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1
