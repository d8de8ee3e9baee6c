"""Check a declaration and build the frozen :class:`Spec`, whichever reader produced it.

In order: each bundle (its sources found through the load path, filters, output, its
own kind), then references and nesting cycles, then the kinds of bundles made of
references, then outputs written twice; only then are the ``BundleSpec``s built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import engines
from ..errors import ConfigError
from ..load_path import LoadPath
from .draft import Declaration, Draft, Problem, Value
from .model import (
    KIND_BY_SUFFIX,
    BundleSpec,
    Ref,
    Spec,
    display_path,
)
from .sources import Sources

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def name_problem(name: str, first_line: int | None) -> str | None:
    """What is wrong with a bundle name (``first_line``: where it was already declared)."""
    if not _NAME.match(name):
        return f"invalid bundle name {name!r}"
    if first_line is not None:
        return f"declared twice (first on line {first_line})"
    return None


@dataclass(frozen=True)
class _Checked:
    """A bundle whose values are checked; ``kind`` is None when only references decide it."""

    name: str
    line: int
    contents: tuple[str | Ref | _Checked, ...]
    filters: tuple[str, ...]
    output: str | None
    depends: tuple[str, ...]
    kind: str | None


def build_spec(declaration: Declaration, load_path: LoadPath) -> Spec:
    """The checked, frozen spec; raises :class:`ConfigError` at the first mistake."""
    v = _Validator(declaration, load_path)
    try:
        checked = v.bundles(declaration.bundles)
        v.check_cycles(checked)
        kinds = v.kinds(checked)
        v.check_outputs(checked)
        bundles = {name: _freeze(c, kinds[name]) for name, c in checked.items()}
    except RecursionError:
        raise v.error("bundles nested too deeply", None) from None
    return Spec(declaration.path, load_path, bundles, v.sources.globs())


class _Validator:
    def __init__(self, declaration: Declaration, load_path: LoadPath) -> None:
        self.file = display_path(declaration.path)
        self.sources = Sources(load_path, self.error)

    def error(self, message: str, line: int | None, bundle: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, line=line, bundle=bundle)

    def problem(self, problem: Problem, bundle: str) -> ConfigError:
        return self.error(problem.message, problem.line, bundle if problem.named else None)

    def bundles(self, drafts: tuple[Draft, ...]) -> dict[str, _Checked]:
        if not drafts:
            raise self.error("declares no bundles", None)
        checked: dict[str, _Checked] = {}
        for draft in drafts:
            first = checked[draft.name].line if draft.name in checked else None
            message = name_problem(draft.name, first)
            if message:
                named = draft.name if first is not None else None
                raise self.error(message, draft.line, named)
            checked[draft.name] = self.bundle(draft)
        return checked

    def bundle(self, draft: Draft) -> _Checked:
        name = draft.name
        if draft.problem:
            raise self.problem(draft.problem, name)
        contents: list[str | Ref | _Checked] = []
        for item in draft.contents:
            contents.extend(self.item(name, item))
        if not contents:
            raise self.error("'contents' is empty", draft.contents_line, name)
        filters = self.filters(draft)
        if isinstance(draft.depends, Problem):
            raise self.problem(draft.depends, name)
        depends = [path for dep in draft.depends for path in self.sources.expand(dep, name)]
        output = None
        if isinstance(draft.output, Problem):
            raise self.problem(draft.output, name)
        if draft.output is not None:
            output = self.sources.output(draft.output, name)
        kind = self.own_kind(draft, contents, filters, output)
        wrong = [f for f in filters if kind is not None and kind not in engines.kinds(f)]
        if wrong:
            message = f"filter '{wrong[0]}' does not apply to a {kind} bundle"
            raise self.error(message, draft.line, name)
        return _Checked(name, draft.line, tuple(contents), filters, output, tuple(depends), kind)

    def item(self, name: str, item: Value | Ref | Draft | Problem) -> list[str | Ref | _Checked]:
        if isinstance(item, Problem):
            raise self.problem(item, name)
        if isinstance(item, Draft):
            return [self.bundle(item)]
        if isinstance(item, Ref):
            if item.name == name:
                raise self.error("contains itself", item.line, name)
            return [item]
        return list(self.sources.expand(item, name))

    def filters(self, draft: Draft) -> tuple[str, ...]:
        if isinstance(draft.filters, Problem):
            raise self.problem(draft.filters, draft.name)
        for f in draft.filters:
            if not engines.kinds(f.text):
                known = ", ".join(engines.names())
                raise self.error(f"unknown filter '{f.text}' (known: {known})", f.line, draft.name)
        return tuple(f.text for f in draft.filters)

    def own_kind(
        self,
        draft: Draft,
        contents: list[str | Ref | _Checked],
        filters: tuple[str, ...],
        output: str | None,
    ) -> str | None:
        """The kind the bundle's own sources, inline bundles, output and filters give."""
        kinds = {KIND_BY_SUFFIX.get(Path(c).suffix) for c in contents if isinstance(c, str)}
        kinds |= {c.kind for c in contents if isinstance(c, _Checked) and c.kind}
        if output:
            kinds.add(KIND_BY_SUFFIX[Path(output).suffix])
        # A filter of one kind decides it; one of both kinds (``minify``) follows the rest.
        kinds |= {engines.kinds(f)[0] for f in filters if len(engines.kinds(f)) == 1}
        if None in kinds:
            odd = next(
                c for c in contents if isinstance(c, str) and Path(c).suffix not in KIND_BY_SUFFIX
            )
            message = f"source '{odd}' is not .scss, .sass, .css or .js"
            raise self.error(message, draft.line, draft.name)
        if len(kinds) > 1:
            raise self.error("mixes CSS and JS sources or filters", draft.line, draft.name)
        return kinds.pop() if kinds else None

    def check_cycles(self, checked: dict[str, _Checked]) -> None:
        state: dict[str, int] = {}  # 1 = visiting, 2 = done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*path[path.index(name) :], name])
                raise self.error(f"nesting cycle: {cycle}", checked[name].line, name)
            state[name] = 1
            for ref in _refs(checked[name]):
                if ref.name not in checked:  # only readers other than YAML's can do this
                    raise self.error(f"contains unknown bundle '{ref.name}'", ref.line, name)
                visit(ref.name, [*path, name])
            state[name] = 2

        for name in checked:
            visit(name, [])

    def kinds(self, checked: dict[str, _Checked]) -> dict[str, str]:
        """Each bundle's kind; a bundle of references takes theirs, which must agree."""
        done: dict[str, str] = {}

        def resolve(name: str) -> str:
            if name not in done:
                c = checked[name]
                kinds = {resolve(r.name) for r in _refs(c)}
                if c.kind:
                    kinds.add(c.kind)
                if len(kinds) > 1:
                    raise self.error("mixes CSS and JS bundles", c.line, name)
                done[name] = kinds.pop()
            return done[name]

        for name in checked:
            resolve(name)
        return done

    def check_outputs(self, checked: dict[str, _Checked]) -> None:
        seen: dict[str, str] = {}
        for name, c in checked.items():
            if not c.output:
                continue
            key = c.output.lower()
            if key in seen:
                message = f"output '{c.output}' is also written by bundle '{seen[key]}'"
                raise self.error(message, c.line, name)
            seen[key] = name


def _refs(bundle: _Checked) -> Iterator[Ref]:
    """The references of a bundle and of the bundles inline in it."""
    for item in bundle.contents:
        if isinstance(item, Ref):
            yield item
        elif isinstance(item, _Checked):
            yield from _refs(item)


def _freeze(c: _Checked, kind: str) -> BundleSpec:
    """The final bundle; ``kind`` is its top-level bundle's (inline ones agree with it)."""
    contents = tuple(_freeze(x, kind) if isinstance(x, _Checked) else x for x in c.contents)
    return BundleSpec(c.name, contents, c.filters, c.output, c.depends, c.kind or kind, c.line)
