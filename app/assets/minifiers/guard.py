"""Protect what a minifier may damage, put it back, then verify nothing changed.

The chosen minifiers are fast but not parsers, and they damage modern syntax:

* jsmin 3.0.1 collapses whitespace inside template literals (and inside a regex literal
  that follows ``)``, e.g. ``if (x) /a  b/.test(s)``);
* cssmin 0.2.0 removes the spaces in ``calc(1rem + 2px)`` (which browsers then reject),
  collapses runs of spaces inside CSS strings and strips ``/* ... */`` found inside strings;
* rcssmin 1.3.0 drops the spaces inside a quoted string in ``url( "a b.png" )``.

So the fragile pieces hide behind placeholder identifiers while the engine runs, come
back afterwards, and a scanner then checks that every literal of the input is present,
unchanged and in order in the output. Anything else is a :class:`MinifyError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from .options import MinifyOptions


class MinifyError(Exception):
    """Minification failed or would have changed the meaning of the code.

    ``line`` is the 1-based line in the minifier's *input* where the damaged literal starts,
    or ``None`` when no single input position is to blame.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"{message} (input line {line})")
        self.message = message
        self.line = line


class Span(NamedTuple):
    start: int
    end: int
    kind: str  # "string", "template", "regex" (JS); "string", "expression", ... (CSS)


Scanner = Callable[[str], list[Span]]


def line_of(text: str, offset: int) -> int:
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


def _protect(source: str, spans: Sequence[Span], prefix: str) -> tuple[str, list[str]]:
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
    scan: Callable[[str], list[Span]],
    engine: str,
    old: list[Span] | None = None,
) -> None:
    """Raise MinifyError unless ``after`` has exactly the literals of ``before``, in order.

    ``old`` is ``scan(before)`` when the caller already has it.
    """
    old = scan(before) if old is None else old
    try:
        new = scan(after)
    except MinifyError as exc:
        raise MinifyError(f"{engine} produced output that does not parse: {exc.message}") from exc
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
                line_of(before, span.start),
            )
    # Every input literal survived but the output has extra ones: the engine invented code.
    extra = new[len(old)]
    raise MinifyError(
        f"{engine} output has an unexpected {extra.kind} "
        f"{_preview(after[extra.start : extra.end])!r}"
    )


def guarded(
    engine: str,
    run: Callable[[str], str],
    scan: Scanner,
    hide: Callable[[list[Span]], list[Span]] = lambda spans: spans,
) -> Callable[..., str]:
    """``run`` wrapped: ``hide(scan(text))`` spans replaced by placeholders while it
    runs, restored after, and every literal verified in order. The options (browser
    targets) mean nothing to these engines and are ignored."""

    def minify(source: str, options: MinifyOptions | None = None) -> str:
        spans = scan(source)
        prefix = _placeholder_prefix(source, "MINPH")
        protected, originals = _protect(source, hide(spans), prefix)
        try:
            minified = run(protected)
        except Exception as exc:  # the engines raise their own ad-hoc exception types
            raise MinifyError(f"{engine} failed: {exc}") from exc
        result = _restore(minified, prefix, originals)
        _verify(source, result, scan, engine, spans)
        return result

    return minify
