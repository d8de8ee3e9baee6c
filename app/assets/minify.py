"""Safe wrappers around the JS/CSS minifiers used by the asset pipeline.

The third-party minifiers are fast but not real parsers, and they damage modern syntax:

* jsmin 3.0.1 collapses whitespace inside template literals (and inside a regex literal
  that follows ``)``, e.g. ``if (x) /a  b/.test(s)``);
* cssmin 0.2.0 removes the spaces in ``calc(1rem + 2px)`` (which browsers then reject),
  collapses runs of spaces inside CSS strings and strips ``/* ... */`` found inside strings;
* rcssmin 1.3.0 drops the spaces inside a quoted string in ``url( "a b.png" )``.

So we hide the fragile pieces behind placeholder identifiers before calling the engine, put
them back afterwards, and then *verify* with our own small scanners that every literal of
the input is present, unchanged and in order in the output.  Anything else is an error
(:class:`MinifyError`) rather than a silently broken bundle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

__all__ = [
    "CSS_ENGINES",
    "JS_ENGINES",
    "MinifyError",
    "css_protected",
    "join_js",
    "js_literals",
    "minify_css",
    "minify_js",
]

JS_ENGINES = ("jsmin", "rjsmin")
CSS_ENGINES = ("cssmin", "rcssmin")


class MinifyError(Exception):
    """Minification failed or would have changed the meaning of the code.

    ``line`` is the 1-based line in the minifier's *input* where the damaged literal starts,
    or ``None`` when no single input position is to blame.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"{message} (input line {line})")
        self.message = message
        self.line = line


class _Span(NamedTuple):
    start: int
    end: int
    kind: str  # "string", "template", "regex" (JS); "string", "math" (CSS)


# --------------------------------------------------------------------------- helpers


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _preview(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _placeholder_prefix(source: str, stem: str) -> str:
    # The prefix must not occur anywhere in the source, otherwise restoring could replace
    # genuine text.  Only letters/digits keep it a plain identifier to every engine.
    nonce = 0
    while f"{stem}{nonce}Z" in source:
        nonce += 1
    return f"{stem}{nonce}Z"


def _protect(source: str, spans: Sequence[_Span], prefix: str) -> tuple[str, list[str]]:
    originals: list[str] = []
    pieces: list[str] = []
    pos = 0
    for span in spans:
        pieces.append(source[pos : span.start])
        # The trailing "_" ends the number, so "...Z1_" never matches inside "...Z12_".
        pieces.append(f"{prefix}{len(originals)}_")
        originals.append(source[span.start : span.end])
        pos = span.end
    pieces.append(source[pos:])
    return "".join(pieces), originals


def _restore(text: str, prefix: str, originals: list[str]) -> str:
    if not originals:
        return text

    def put_back(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return originals[index] if index < len(originals) else match.group(0)

    return re.sub(re.escape(prefix) + r"(\d+)_", put_back, text)


def _verify(
    before: str,
    after: str,
    scan: Callable[[str], list[_Span]],
    engine: str,
    old: list[_Span] | None = None,
) -> None:
    """Raise MinifyError unless ``after`` has exactly the literals of ``before``, in order.

    ``old`` is ``scan(before)`` when the caller already has it.
    """
    old = scan(before) if old is None else old
    try:
        new = scan(after)
    except MinifyError as exc:
        raise MinifyError(f"{engine} produced output that no longer scans: {exc.message}") from exc
    old_texts = [before[s.start : s.end] for s in old]
    new_texts = [after[s.start : s.end] for s in new]
    if old_texts == new_texts:
        return
    for index, span in enumerate(old):
        if index >= len(new_texts) or new_texts[index] != old_texts[index]:
            became = (
                f"became {_preview(new_texts[index])!r}"
                if index < len(new_texts)
                else "is missing from the output"
            )
            raise MinifyError(
                f"{engine} damaged {span.kind} {_preview(old_texts[index])!r}: {became}",
                _line_of(before, span.start),
            )
    # Every input literal survived but the output has extra ones: the engine invented code.
    extra = new[len(old)]
    raise MinifyError(
        f"{engine} output has an unexpected {extra.kind} "
        f"{_preview(after[extra.start : extra.end])!r}"
    )


# --------------------------------------------------------------------------- JS scanner

# One token per match at the current position; the group name says what it is.
_JS_TOKEN = re.compile(
    r"""
    (?P<ws>[\s\ufeff]+)
  | (?P<lcomment>//[^\n\r\u2028\u2029]*|<!--[^\n\r\u2028\u2029]*)
  | (?P<bcomment>/\*[\s\S]*?\*/)
  | (?P<word>(?:[\w$#\u200c\u200d]|\\u\{?[0-9a-fA-F]+\}?)+)
  | (?P<string>'(?:[^'\\\n\r]|\\[\s\S])*'|"(?:[^"\\\n\r]|\\[\s\S])*")
  | (?P<slash>/)
  | (?P<tick>`)
  | (?P<punct>\+\+|--|=>|\?\.(?!\d)|[^\s\w$`'"/\\])
    """,
    re.VERBOSE,
)
# Literal text of a template up to its end ("`") or the next substitution ("${").
_JS_TEMPLATE_TEXT = re.compile(r"(?:[^`\\$]|\\[\s\S]|\$(?!\{))*")
# A regex literal: "/" ends it only outside a [...] class; it can never span lines.
_JS_REGEX = re.compile(
    r"""/(?![*/])
    (?:[^/\\\[\n\r\u2028\u2029]
      |\\[^\n\r\u2028\u2029]
      |\[(?:[^\]\\\n\r\u2028\u2029]|\\[^\n\r\u2028\u2029])*\]
    )+/[\w$]*""",
    re.VERBOSE,
)

# After these words an expression starts, so "/" begins a regex, not a division.
_REGEX_AFTER_WORDS = frozenset(
    "return typeof case do else in of new delete void throw instanceof yield await".split()
)
# "(" after these starts a condition; the ")" closing it is followed by a statement.
_CONTROL_WORDS = frozenset(("if", "while", "for", "with"))
# A "{" after these tokens is a block, whose "}" is followed by a statement (regex ok).
_BLOCK_BRACE_AFTER = frozenset((";", "{", "}", ")", "]", "=>", "else", "do"))

# Previous significant token classes.
_EXPR_END = "expr_end"  # identifier, number, literal, ")" or "]": "/" divides
_EXPR_START = "expr_start"  # operator, "(", keyword, block "}": "/" starts a regex


def _scan_js(source: str) -> list[_Span]:
    """Return the outermost string/template/regex literals of ``source`` in order.

    Literals nested inside a template's ``${...}`` are part of that template's span.
    """
    spans: list[_Span] = []
    pos = 0
    n = len(source)
    prev_class = _EXPR_START
    prev_tok = ""  # text of the previous significant token (for keywords / "." / braces)
    # "(" entries: True if it opened an if/while/for/with condition.
    parens: list[bool] = []
    # "{" entries: "block", "object" or "template" (a ${ substitution).
    braces: list[str] = []
    template_depth = 0  # how many "template" entries are on `braces`
    template_start = -1  # start of the outermost template being scanned

    if source.startswith("#!"):  # hashbang line is a comment
        newline = source.find("\n")
        pos = n if newline < 0 else newline

    def scan_template_text(start: int) -> int:
        """Scan from just after "`" or "}"; return the position after "`" or "${"."""
        nonlocal template_depth, template_start, prev_class, prev_tok
        end = _JS_TEMPLATE_TEXT.match(source, start).end()
        if end >= n:
            line = _line_of(source, template_start if template_start >= 0 else start)
            raise MinifyError("unterminated template literal", line)
        if source[end] == "`":
            if template_depth == 0:
                spans.append(_Span(template_start, end + 1, "template"))
                template_start = -1
            prev_class, prev_tok = _EXPR_END, "`"
            return end + 1
        # "${": the substitution is ordinary code until its matching "}".
        braces.append("template")
        template_depth += 1
        prev_class, prev_tok = _EXPR_START, "${"
        return end + 2

    while pos < n:
        match = _JS_TOKEN.match(source, pos)
        if match is None:
            char = source[pos]
            if char in "'\"":
                raise MinifyError("unterminated string literal", _line_of(source, pos))
            raise MinifyError(f"unexpected character {char!r}", _line_of(source, pos))
        group = match.lastgroup
        token = match.group()
        if group in ("ws", "lcomment", "bcomment"):
            pos = match.end()
            continue
        if group == "slash":
            if source.startswith("/*", pos):
                raise MinifyError("unterminated block comment", _line_of(source, pos))
            regex = _JS_REGEX.match(source, pos) if prev_class == _EXPR_START else None
            if regex is not None:
                if template_depth == 0:
                    spans.append(_Span(pos, regex.end(), "regex"))
                prev_class, prev_tok = _EXPR_END, "/re/"
                pos = regex.end()
            else:
                # Division (a regex can't span lines, so an unclosed one is a division).
                prev_class, prev_tok = _EXPR_START, "/"
                pos += 1
            continue
        if group == "string":
            if template_depth == 0:
                spans.append(_Span(pos, match.end(), "string"))
            prev_class, prev_tok = _EXPR_END, "'"
            pos = match.end()
            continue
        if group == "tick":
            if template_depth == 0:
                template_start = pos
            pos = scan_template_text(pos + 1)
            continue
        if group == "word":
            after_dot = prev_tok in (".", "?.")
            if not after_dot and token in _REGEX_AFTER_WORDS:
                prev_class = _EXPR_START
            else:
                prev_class = _EXPR_END
            # Keep keyword text only when it is a keyword, so `a.if(` is a normal call.
            prev_tok = token if not after_dot else "name"
            pos = match.end()
            continue
        # Punctuation.
        if token == "(":
            parens.append(prev_tok in _CONTROL_WORDS)
            prev_class = _EXPR_START
        elif token == ")":
            control = parens.pop() if parens else False
            prev_class = _EXPR_START if control else _EXPR_END
        elif token == "{":
            if (
                prev_tok == ""
                or prev_tok in _BLOCK_BRACE_AFTER
                or prev_class == _EXPR_END  # `try {`, `finally {`, `class A {`
            ):
                braces.append("block")
            else:
                braces.append("object")
            prev_class = _EXPR_START
        elif token == "}":
            kind = braces.pop() if braces else "block"
            if kind == "template":
                template_depth -= 1
                pos = scan_template_text(pos + 1)
                continue
            prev_class = _EXPR_END if kind == "object" else _EXPR_START
        elif token in ("]", "++", "--"):
            prev_class = _EXPR_END  # "++"/"--" are taken as postfix: `i++ / 2`
        else:
            prev_class = _EXPR_START
        prev_tok = token
        pos = match.end()

    if template_depth:
        raise MinifyError("unterminated template literal", _line_of(source, template_start))
    return spans


def js_literals(source: str) -> list[str]:
    """Every string, template literal and regex literal in ``source``, in order, as raw text.

    Comments are skipped.  A template literal is listed once, as a whole; literals inside its
    ``${...}`` substitutions are part of it.  Raises MinifyError on unterminated literals.
    """
    return [source[s.start : s.end] for s in _scan_js(source)]


# --------------------------------------------------------------------------- JS API


def _run_js_engine(engine: str, source: str) -> str:
    # Imported lazily: callers that never minify need neither package.
    if engine == "jsmin":
        import jsmin

        return jsmin.jsmin(source)
    if engine == "rjsmin":
        import rjsmin

        return rjsmin.jsmin(source)
    raise ValueError(f"unknown JS engine {engine!r}; expected one of {JS_ENGINES}")


def minify_js(source: str, engine: str = "jsmin") -> str:
    """Minify JavaScript with ``engine``, guaranteeing every literal survives verbatim."""
    if engine not in JS_ENGINES:
        raise ValueError(f"unknown JS engine {engine!r}; expected one of {JS_ENGINES}")
    spans = _scan_js(source)
    # Templates are what jsmin mangles; regex literals are hidden too because jsmin can
    # misread one after ")" (`if (a) /x  y/`) as a division and squeeze its spaces.
    hidden = [s for s in spans if s.kind in ("template", "regex")]
    prefix = _placeholder_prefix(source, "MINPH")
    protected, originals = _protect(source, hidden, prefix)
    try:
        minified = _run_js_engine(engine, protected)
    except Exception as exc:  # the engines raise their own ad-hoc exception types
        raise MinifyError(f"{engine} failed: {exc}") from exc
    result = _restore(minified, prefix, originals)
    _verify(source, result, _scan_js, engine, spans)
    return result


_LINE_BREAK = re.compile(r"[\n\r\u2028\u2029]")


def _ends_with_semicolon(part: str) -> bool:
    """Whether the part's last line is a plain statement ending in ``;``.

    Cheap and conservative: looks at the last line only, never scans the whole file. A
    false "no" costs one empty statement; a false "yes" could fuse two files, so a line
    with any character that might start a comment or a literal counts as "no".
    """
    text = part.rstrip()
    breaks = list(_LINE_BREAK.finditer(text, max(0, len(text) - 65536)))
    last = text[breaks[-1].end() :] if breaks else text
    if not breaks and len(text) > 65536:
        return False  # a huge single line (minified code): don't guess
    return last.endswith(";") and not any(c in last for c in "/'\"`")


def join_js(parts: list[str]) -> str:
    """Concatenate whole JS files so that none can change the meaning of its neighbour.

    Each part gets a trailing newline (ending any trailing ``//`` comment) and, unless it
    already ends with ``;``, a ``;`` line: an empty statement is harmless between complete
    scripts but stops ``})()`` + ``(() => ...)()`` becoming one call.  Separators only ever go
    *after* a part, so a file's leading ``"use strict"`` directive stays a directive.
    """
    out: list[str] = []
    for index, part in enumerate(parts):
        if not part.strip():
            continue
        if index and part.startswith("#!"):
            # A hashbang is only legal at the very start of a script.
            part = "//" + part
        if not part.endswith(("\n", "\r", "\u2028", "\u2029")):
            part += "\n"
        out.append(part)
        if not _ends_with_semicolon(part):
            out.append(";\n")
    return "".join(out)


# --------------------------------------------------------------------------- CSS scanner

_CSS_TOKEN = re.compile(
    r"""
    (?P<comment>/\*[\s\S]*?(?:\*/|\Z))
  | (?P<string>"(?:[^"\\\n]|\\[\s\S])*"?|'(?:[^'\\\n]|\\[\s\S])*'?)
  | (?<![\w\-\\])(?P<math>(?:-[a-zA-Z]+-)?(?:calc|min|max|clamp)\()
  | (?<![\w\-\\])(?P<url>url\((?!\s*["'])[^)]*\)?)
  | (?<![\w\-\\])(?P<custom>--[\w-]+\s*:)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_CSS_INSIDE_PARENS = re.compile(
    r"""/\*[\s\S]*?(?:\*/|\Z)|"(?:[^"\\\n]|\\[\s\S])*"?|'(?:[^'\\\n]|\\[\s\S])*'?|[()]""",
)


def _scan_css(source: str) -> list[_Span]:
    """Outermost CSS strings and calc()/min()/max()/clamp() expressions, comments skipped."""
    spans: list[_Span] = []
    pos = 0
    while True:
        match = _CSS_TOKEN.search(source, pos)
        if match is None:
            return spans
        group = match.lastgroup
        if group == "string":
            spans.append(_Span(match.start(), match.end(), "string"))
        elif group == "math":
            # Balanced parens; strings/comments inside may contain parens of their own.
            depth = 1
            end = len(source)  # unbalanced: the expression runs to the end of the input
            for inner in _CSS_INSIDE_PARENS.finditer(source, match.end()):
                if inner.group() == "(":
                    depth += 1
                elif inner.group() == ")":
                    depth -= 1
                    if depth == 0:
                        end = inner.end()
                        break
            spans.append(_Span(match.start(), end, "expression"))
            pos = end
            continue
        elif group == "custom":
            # A custom property's value is kept verbatim: cssmin would turn `0px` into
            # `0`, which then breaks `calc(var(--x) + 1px)`.
            end = _custom_value_end(source, match.end())
            start = match.end()
            while start < end and source[start].isspace():
                start += 1
            stop = end
            while stop > start and source[stop - 1].isspace():
                stop -= 1
            if stop > start:
                spans.append(_Span(start, stop, "custom property"))
            pos = end
            continue
        # Comments and unquoted url(...) are skipped: their contents are not code.
        pos = match.end()


def _custom_value_end(source: str, pos: int) -> int:
    """Where a custom property's value ends: ``;`` or ``}`` outside brackets and strings."""
    depth = 0
    for m in _CSS_VALUE_TOKEN.finditer(source, pos):
        tok = m.group()
        if tok in "([{":
            depth += 1
        elif tok in ")]":
            depth = max(depth - 1, 0)
        elif tok == "}":
            if depth == 0:
                return m.start()
            depth -= 1
        elif tok == ";" and depth == 0:
            return m.start()
    return len(source)


_CSS_VALUE_TOKEN = re.compile(
    r"""/\*[\s\S]*?(?:\*/|\Z)|"(?:[^"\\\n]|\\[\s\S])*"?|'(?:[^'\\\n]|\\[\s\S])*'?|[()\[\]{};]""",
)


def css_protected(source: str) -> list[str]:
    """Every CSS string and calc()/min()/max()/clamp() expression, in order, as raw text.

    Comments are ignored.  Function names match case-insensitively (``CALC(``) and with a
    vendor prefix (``-webkit-calc(``); an expression nested in another is part of it.
    """
    return [source[s.start : s.end] for s in _scan_css(source)]


# --------------------------------------------------------------------------- CSS API


# cssmin's regexes take superlinear time: on Bootstrap's 270 KB it needs 1.7 s whole
# and 0.4 s in ~20 KB pieces, with the same output. Split only between top-level rules.
CSS_CHUNK = 20_000


def css_chunks(source: str, size: int = CSS_CHUNK) -> list[str]:
    """Cut CSS after top-level ``}`` (outside comments) into pieces of about ``size``."""
    chunks = []
    depth = 0
    start = 0
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch == "/" and source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
            if depth == 0 and i + 1 - start >= size:
                chunks.append(source[start : i + 1])
                start = i + 1
        i += 1
    if start < n:
        chunks.append(source[start:])
    return chunks


def _run_css_engine(engine: str, source: str) -> str:
    if engine == "cssmin":
        import cssmin

        return "".join(cssmin.cssmin(chunk) for chunk in css_chunks(source))
    if engine == "rcssmin":
        import rcssmin

        return rcssmin.cssmin(source)
    raise ValueError(f"unknown CSS engine {engine!r}; expected one of {CSS_ENGINES}")


def minify_css(source: str, engine: str = "cssmin") -> str:
    """Minify CSS with ``engine``, keeping strings and math expressions verbatim."""
    if engine not in CSS_ENGINES:
        raise ValueError(f"unknown CSS engine {engine!r}; expected one of {CSS_ENGINES}")
    spans = _scan_css(source)
    # Letters and digits only: cssmin/rcssmin neither lowercase nor split such identifiers.
    prefix = _placeholder_prefix(source, "MINPH")
    protected, originals = _protect(source, spans, prefix)
    try:
        minified = _run_css_engine(engine, protected)
    except Exception as exc:  # the engines raise their own ad-hoc exception types
        raise MinifyError(f"{engine} failed: {exc}") from exc
    result = _restore(minified, prefix, originals)
    _verify(source, result, _scan_css, engine, spans)
    return result
