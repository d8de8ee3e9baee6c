"""A JavaScript scanner: the string, template and regex literals of a script, in order.

Not a parser: just enough of the lexical grammar to tell a regex literal from a
division and to find the end of a template literal, which is what the minifier guard
needs. Syntax errors are the parser's job (``jsparse``); sources reach this scanner
only after they parsed.
"""

from __future__ import annotations

import re

from .guard import MinifyError, Span, line_of

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


def scan_js(source: str) -> list[Span]:
    """Return the outermost string/template/regex literals of ``source`` in order.

    Literals nested inside a template's ``${...}`` are part of that template's span.
    """
    spans: list[Span] = []
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
        text = _JS_TEMPLATE_TEXT.match(source, start)
        end = text.end() if text else start  # the pattern matches the empty string too
        if end >= n:
            line = line_of(source, template_start if template_start >= 0 else start)
            raise MinifyError("unterminated template literal", line)
        if source[end] == "`":
            if template_depth == 0:
                spans.append(Span(template_start, end + 1, "template"))
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
                raise MinifyError("unterminated string literal", line_of(source, pos))
            raise MinifyError(f"unexpected character {char!r}", line_of(source, pos))
        group = match.lastgroup
        token = match.group()
        if group in ("ws", "lcomment", "bcomment"):
            pos = match.end()
            continue
        if group == "slash":
            if source.startswith("/*", pos):
                raise MinifyError("unterminated block comment", line_of(source, pos))
            regex = _JS_REGEX.match(source, pos) if prev_class == _EXPR_START else None
            if regex is not None:
                if template_depth == 0:
                    spans.append(Span(pos, regex.end(), "regex"))
                prev_class, prev_tok = _EXPR_END, "/re/"
                pos = regex.end()
            else:
                # Division (a regex can't span lines, so an unclosed one is a division).
                prev_class, prev_tok = _EXPR_START, "/"
                pos += 1
            continue
        if group == "string":
            if template_depth == 0:
                spans.append(Span(pos, match.end(), "string"))
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
        raise MinifyError("unterminated template literal", line_of(source, template_start))
    return spans
