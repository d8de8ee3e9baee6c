"""JavaScript syntax checks with a real parser (tree-sitter), at C speed.

The minifiers are not parsers: ``var status = = Shop`` goes through them unchanged and
the page breaks in the browser. :func:`check_syntax` parses a script with tree-sitter's
JavaScript grammar and raises :class:`JSSyntaxError` at the first error, with a 1-based
line and column (in characters) of the text given.

No Flask, no webassets: the pipeline calls this from its filters (``bundles.py``).
"""

from __future__ import annotations

import functools
import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tree_sitter

__all__ = ["JSSyntaxError", "check_syntax", "grammar_version", "literal_spans"]


class JSSyntaxError(Exception):
    """The first syntax error of a script: ``message`` at ``line``:``column`` (1-based)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        # All three in args: the error pickles (process pools) and compares by value.
        super().__init__(message, line, column)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"


MODULE_SCRIPT = 'a module script (type="module")'
_TEXT_LIMIT = 20
# Tokens that open a string or template literal: an ERROR starting with one is unclosed.
_QUOTES = frozenset(("'", '"'))
_IMPORT_META = re.compile(rb"\bimport\s*\.\s*meta\b")


@functools.cache
def _language() -> tree_sitter.Language:
    import tree_sitter
    import tree_sitter_javascript

    return tree_sitter.Language(tree_sitter_javascript.language())


def grammar_version() -> str:
    """Names the grammar, for cache keys: a new grammar must re-check cached verdicts."""
    lang = _language()
    version = getattr(lang, "semantic_version", None) or ()
    return f"javascript-{'.'.join(map(str, version))}-abi{lang.abi_version}"


_local = threading.local()


def _parser() -> tree_sitter.Parser:
    """One parser per thread: a tree-sitter Parser must not be shared between threads."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        import tree_sitter

        parser = _local.parser = tree_sitter.Parser(_language())
    return parser


@functools.cache
def _meta_query() -> tree_sitter.Query:
    import tree_sitter

    return tree_sitter.Query(_language(), "(meta_property) @meta")


def check_syntax(text: str, *, module: bool = False) -> None:
    """Raise :class:`JSSyntaxError` at the first syntax error of ``text``, else return.

    ``module=False`` checks a classic ``<script>``: top-level ``import``/``export``
    declarations and ``import.meta`` are errors there (dynamic ``import()`` is fine).
    """
    root, source = _parse(text)
    if not module:
        _check_classic(root, source)


def _parse(text: str) -> tuple[tree_sitter.Node, bytes]:
    """The syntax tree of ``text`` (raising :class:`JSSyntaxError` at its first error).

    The thread's last tree is kept: the minifier guard asks for the literals of the very
    source the syntax check has just parsed, and gets them without a second parse.
    """
    last = getattr(_local, "last", None)
    if last is not None and last[0] == text:
        return last[1], last[2]
    source = text.encode("utf-8", "surrogatepass")
    root = _parser().parse(source).root_node
    if root.has_error:
        node = _first_error(root)
        message, at = _describe(node, source)
        line, column = _position(source, at)
        raise JSSyntaxError(f"SyntaxError: {message}", line, column)
    _local.last = (text, root, source)
    return root, source


def _first_error(root: tree_sitter.Node) -> tree_sitter.Node:
    """The first ERROR or MISSING node in document order (only erroneous paths walked)."""
    node = root
    while True:
        for child in node.children:
            if child.is_error or child.is_missing:
                return child
            if child.has_error:
                node = child
                break
        else:
            # An error flag but no erroneous child: the node itself is the error.
            return node


def _describe(node: tree_sitter.Node, source: bytes) -> tuple[str, int]:
    """(message, byte offset) for an ERROR or MISSING node."""
    if node.is_missing:
        return f"missing '{node.type}'", node.start_byte
    parent = node.parent
    if parent is not None and parent.type == "string":
        # A line break inside a quoted string: the grammar marks the text after it.
        return "unterminated string", parent.start_byte
    children = node.children
    for i, child in enumerate(children):
        kind = child.type
        rest = children[i + 1 :]
        if kind in _QUOTES and not any(c.type == kind for c in rest):
            return "unterminated string", child.start_byte
        if kind == "`" and not any(c.type == "`" for c in rest):
            return "unterminated template literal", child.start_byte
        if kind == "/" and rest and rest[0].type == "regex_pattern" and len(rest) == 1:
            return "unterminated regular expression", child.start_byte
    shown = _token_text(node)
    if not shown:
        at_end = not source[node.end_byte :].strip()
        return ("unexpected end of input" if at_end else "unexpected token"), node.start_byte
    if len(children) > 1 and not source[node.end_byte :].strip():
        # Code the grammar could not finish before the input ran out: `f(`, `if (a) {`.
        return f"unexpected end of input after '{shown}'", node.start_byte
    return f"unexpected '{shown}'", node.start_byte


def _token_text(node: tree_sitter.Node) -> str:
    raw = (node.text or b"").decode("utf-8", "replace").strip()
    first = raw.splitlines()[0].rstrip() if raw else ""
    if len(first) > _TEXT_LIMIT or first != raw:
        first = first[:_TEXT_LIMIT].rstrip() + "..."
    return first


def _position(source: bytes, offset: int) -> tuple[int, int]:
    """1-based line and character column of a byte offset (columns count characters)."""
    line_start = source.rfind(b"\n", 0, offset) + 1
    line = source.count(b"\n", 0, line_start) + 1
    column = len(source[line_start:offset].decode("utf-8", "replace")) + 1
    return line, column


def _check_classic(root: tree_sitter.Node, source: bytes) -> None:
    """Module syntax in a classic script: top-level import/export and ``import.meta``."""
    if b"import" in source or b"export" in source:
        for child in root.children:
            if child.type in ("import_statement", "export_statement"):
                word = "import" if child.type == "import_statement" else "export"
                line, column = _position(source, child.start_byte)
                raise JSSyntaxError(
                    f"SyntaxError: '{word}' declarations only work in {MODULE_SCRIPT}", line, column
                )
    if _IMPORT_META.search(source):
        import tree_sitter

        captures = tree_sitter.QueryCursor(_meta_query()).captures(root).get("meta", [])
        found = sorted(
            (n for n in captures if (n.text or b"").startswith(b"import")),
            key=lambda n: n.start_byte,
        )
        if found:
            line, column = _position(source, found[0].start_byte)
            raise JSSyntaxError(
                f"SyntaxError: 'import.meta' only works in {MODULE_SCRIPT}", line, column
            )


_KINDS = {"string": "string", "template_string": "template", "regex": "regex"}


@functools.cache
def _literal_query() -> tree_sitter.Query:
    import tree_sitter

    return tree_sitter.Query(_language(), "[(string) (template_string) (regex)] @literal")


def literal_spans(text: str) -> list[tuple[int, int, str]]:
    """The outermost string, template and regex literals as (start, end, kind), in
    character offsets and document order; literals inside a template's ``${...}`` are
    part of it. Raises :class:`JSSyntaxError` when ``text`` does not parse.

    The parser's own tokens: what a minifier guard protects and verifies, with no
    hand-written lexer to disagree with the syntax check about where a regex starts.
    """
    import tree_sitter

    root, source = _parse(text)
    nodes = tree_sitter.QueryCursor(_literal_query()).captures(root).get("literal", [])
    spans: list[tuple[int, int, str]] = []
    end = -1
    for node in sorted(nodes, key=lambda n: n.start_byte):
        if node.start_byte < end:
            continue  # inside the previous literal (a template's substitution)
        spans.append((node.start_byte, node.end_byte, _KINDS[node.type]))
        end = node.end_byte
    if text.isascii():
        return spans
    return _to_characters(source, spans)


def _to_characters(source: bytes, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Byte offsets to character offsets, decoding each stretch once."""
    out = []
    chars = 0
    pos = 0
    for start, end, kind in spans:
        chars += len(source[pos:start].decode("utf-8", "surrogatepass"))
        length = len(source[start:end].decode("utf-8", "surrogatepass"))
        out.append((chars, chars + length, kind))
        chars += length
        pos = end
    return out
