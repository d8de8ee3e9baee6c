"""Check a declaration and build the frozen :class:`Spec`, whichever reader produced it.

In order: each bundle (its sources found through the load path, filters, output, its
own kind), then references and nesting cycles, then the kinds of bundles made of
references, then outputs written twice; only then are the ``BundleSpec``s built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import engines
from ..errors import ConfigError
from ..load_path import LoadPath
from . import containers
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
    extra: tuple[tuple[str, str], ...] = ()
    debug: bool | str | None = None
    browsers: tuple[str, ...] | None = None


def build_spec(declaration: Declaration, load_path: LoadPath, wanted: Iterable[str] = ()) -> Spec:
    """The checked, frozen spec; raises :class:`ConfigError` at the first mistake.

    ``wanted``: names templates use (bundles or source paths), so that a bundle without
    an output, or a single file, named by a template is built too.
    """
    load_path = load_path.with_sources(declaration.roots)
    v = _Validator(declaration, load_path)
    try:
        checked = v.bundles(declaration.bundles)
        v.check_cycles(checked)
        referenced = {r.name for c in checked.values() for r in _refs(c)}
        kinds = v.kinds(checked, referenced)
        v.check_outputs(checked)
        bundles = {name: _freeze(c, kinds[name]) for name, c in checked.items()}
        groups = containers.expand(bundles, referenced, wanted, v.sources.check, v.sources.output)
        v.check_outputs({n: b for n, b in bundles.items() if b.output})  # type: ignore[misc]
    except RecursionError:
        raise v.error("bundles nested too deeply", None) from None
    notes = tuple(dict.fromkeys((*declaration.notes, *v.notes)))
    return Spec(declaration.path, load_path, bundles, v.sources.globs(), groups, notes)


class _Validator:
    def __init__(self, declaration: Declaration, load_path: LoadPath) -> None:
        self.file = display_path(declaration.path)
        self.origins = declaration.origins
        self.sources = Sources(load_path, self.error)
        self.notes: list[str] = []

    def error(self, message: str, line: int | None, bundle: str | None = None) -> ConfigError:
        file = self.origins.get(bundle or "", self.file)
        return ConfigError(message, file=file, line=line, bundle=bundle)

    def problem(self, problem: Problem, bundle: str) -> ConfigError:
        return self.error(problem.message, problem.line, bundle if problem.named else None)

    def bundles(self, drafts: tuple[Draft, ...]) -> dict[str, _Checked]:
        if not drafts:
            raise self.error("declares no bundles", None)
        checked: dict[str, _Checked] = {}
        for draft in drafts:
            first = checked[draft.name].line if draft.name in checked else None
            message = name_problem(draft.name, first)
            if draft.name in self.origins and first is None:
                message = None  # Python and template bundles may be named as their users like
            if message:
                named = draft.name if first is not None else None
                raise self.error(message, draft.line, named)
            checked[draft.name] = self.bundle(draft)
        return checked

    def bundle(self, draft: Draft, top: bool = True) -> _Checked:
        name = draft.name
        if draft.problem:
            raise self.problem(draft.problem, name)
        contents: list[str | Ref | _Checked] = []
        for item in draft.contents:
            contents.extend(self.item(name, item))
        if not contents and draft.output is not None:
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
        kind = self.own_kind(draft, contents, filters, output, top)
        wrong = [f for f in filters if kind and kind not in engines.kinds(f)]
        if wrong:
            message = f"filter '{wrong[0]}' does not apply to a {kind} bundle"
            raise self.error(message, draft.line, name)
        return _Checked(
            name,
            draft.line,
            tuple(contents),
            filters,
            output,
            tuple(depends),
            kind,
            draft.extra,
            draft.debug,
            draft.browsers,
        )

    def item(self, name: str, item: Value | Ref | Draft | Problem) -> list[str | Ref | _Checked]:
        if isinstance(item, Problem):
            raise self.problem(item, name)
        if isinstance(item, Draft):
            return [self.bundle(item, top=False)]
        if isinstance(item, Ref):
            if item.name == name:
                raise self.error("contains itself", item.line, name)
            return [item]
        return list(self.sources.expand(item, name))

    def filters(self, draft: Draft) -> tuple[str, ...]:
        if isinstance(draft.filters, Problem):
            raise self.problem(draft.filters, draft.name)
        names = []
        for f in draft.filters:
            engine = engines.canonical(f.text)
            note = engines.note(f.text)
            if note and note not in self.notes:
                self.notes.append(note)
            if engine is not None:
                names.append(engine)
                continue
            if f.text in engines.NOTHING_TO_DO:
                continue
            refused = engines.refusal(f.text)
            if refused:
                raise self.error(refused, f.line, draft.name)
            known = ", ".join(engines.names())
            close = engines.suggest(f.text)
            hint = (
                f"; did you mean '{close}'?"
                if close
                else "; a project's own webassets filter does not run here: apply it first"
            )
            message = f"unknown filter '{f.text}' (known: {known}){hint}"
            raise self.error(message, f.line, draft.name)
        return tuple(names)

    def own_kind(
        self,
        draft: Draft,
        contents: list[str | Ref | _Checked],
        filters: tuple[str, ...],
        output: str | None,
        top: bool,
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
        if len(kinds) > 1 and (output or filters or not top):
            raise self.error("mixes CSS and JS sources or filters", draft.line, draft.name)
        if len(kinds) > 1:
            return ""  # a container of both; kinds() refuses it where it is nested
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

    def kinds(self, checked: dict[str, _Checked], referenced: set[str]) -> dict[str, str]:
        """Each bundle's kind; a bundle of references takes theirs, which must agree.

        A container (no output, nested in no other bundle) may hold both: its parts are
        built and linked one by one. Its kind is then "" (so is an empty bundle's).
        """
        done: dict[str, str] = {}

        def resolve(name: str) -> str:
            if name not in done:
                c = checked[name]
                kinds = {resolve(r.name) for r in _refs(c)} - {""}
                if c.kind:
                    kinds.add(c.kind)
                if len(kinds) > 1 and (c.output or name in referenced):
                    raise self.error("mixes CSS and JS bundles", c.line, name)
                done[name] = kinds.pop() if len(kinds) == 1 else ""
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
    return BundleSpec(
        c.name,
        contents,
        c.filters,
        c.output,
        c.depends,
        c.kind or kind,
        c.line,
        c.extra,
        c.debug,
        c.browsers,
    )
