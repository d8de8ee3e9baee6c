"""What templates ask of the pipeline, found by parsing them (Jinja's AST: no rendering).

``{% assets filters="jsmin", output="gen/x.js", "a.js", "b.js" %}`` is an inline bundle:
it is built by ``flask assets build`` like a declared one (named by its output), so
production needs no compile step at request time. The names a tag or helper uses
(bundle names, source paths) are *wanted*: a bundle without an output, or a single
file, that a template names is built too.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError, nodes

from ..declare import Declaration, Draft, Ref, Value
from ..static_files import BUNDLE_CALL, template_files
from .tag import is_assets_call


@dataclass
class TemplateUse:
    """Inline bundles (as a declaration), names used, and the files read (to watch)."""

    inline: list[Draft] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    wanted: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def declaration(self, path: Path) -> Declaration:
        return Declaration(path, tuple(self.inline), origins=dict(self.origins))


def scan(jinja_env: Environment, folders: list[Path]) -> TemplateUse:
    use = TemplateUse()
    for path in template_files(folders):
        use.files.append(str(path))
        try:
            text = path.read_text(encoding="utf-8")
            tree = jinja_env.parse(text)
        except (OSError, UnicodeDecodeError, TemplateSyntaxError):
            continue  # rendering reports it; `check` reads templates as text too
        use.wanted += [m.group(2) for m in BUNDLE_CALL.finditer(text)]
        shown = os.path.relpath(path)
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.ExtensionAttribute) and is_assets_call(
                call.node.identifier
            ):
                _tag(use, call, shown)
    use.wanted = list(dict.fromkeys(use.wanted))
    return use


def _const(node: nodes.Node) -> object:
    try:
        return node.as_const()  # type: ignore[attr-defined]
    except (nodes.Impossible, AttributeError):
        return None


def _tag(use: TemplateUse, call: nodes.Call, shown: str) -> None:
    filters, output, _debug, depends, files = (_const(a) for a in call.args)
    names = [f for f in files if isinstance(f, str)] if isinstance(files, list) else []
    if not isinstance(output, str) or not output:
        use.wanted += names
        return
    line = call.lineno
    if output in use.origins:
        return  # the same inline bundle in another template (or twice): one build
    use.origins[output] = shown
    use.inline.append(
        Draft(
            output,
            line,
            contents=tuple(Value(n, line) for n in names),
            contents_line=line,
            filters=tuple(Value(f, line) for f in _split(filters)),
            depends=tuple(Value(d, line) for d in _split(depends)),
            output=Value(output, line),
        )
    )


def _split(value: object) -> list[str]:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    return []


def link(declaration: Declaration, names: set[str]) -> Declaration:
    """Contents naming a declared bundle become references, as in the YAML reader."""

    def fix(draft: Draft) -> Draft:
        contents = tuple(
            Ref(c.text, c.line) if isinstance(c, Value) and c.text in names else c
            for c in draft.contents
        )
        return dataclasses.replace(draft, contents=contents)

    return Declaration(
        declaration.path,
        tuple(fix(d) for d in declaration.bundles),
        declaration.roots,
        declaration.notes,
        declaration.origins,
    )
