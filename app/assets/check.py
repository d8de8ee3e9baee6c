"""`flask assets check`: is the build current, and do templates use it properly?"""

from __future__ import annotations

import re
from pathlib import Path

from . import manifest as manifest_mod
from .builder import integrity
from .bundles import compile_bundle
from .cache import Cache
from .deps import newer_than
from .errors import AssetError
from .spec import Spec, display_path

# bundle_url("x"), bundle_tags('x'), {% assets "x" %} / {% assets "a", "b" %}
_HELPER = re.compile(r"""\bbundle_(?:url|tags)\(\s*(["'])([^"']+)\1""")
_ASSETS_TAG = re.compile(r"""\{%-?\s*assets\s+(.*?)-?%\}""", re.DOTALL)
_TAG_NAME = re.compile(r"""^\s*(["'])([^"']+)\1\s*(?:,|$)""")
_URL_FOR = re.compile(r"""url_for\(\s*(["'])static\1\s*,\s*filename\s*=\s*(["'])([^"']+)\2""")
TEMPLATE_SUFFIXES = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".txt", ".xml")


def stale_bundles(spec: Spec, manifest_path: Path, cache_dir: Path | None = None) -> list[str]:
    """Problems with the built outputs; compares content, not only timestamps."""
    try:
        manifest = manifest_mod.load(manifest_path)
    except AssetError as exc:
        return [str(exc)]
    problems = []
    static = spec.static_folder
    for name in spec.outputs:
        entry = manifest.bundles.get(name)
        if entry is None:
            problems.append(f"bundle '{name}': not built; run `flask --app app assets build`")
            continue
        out = static / entry.file
        try:
            data = out.read_bytes()
        except OSError:
            problems.append(f"bundle '{name}': output {entry.file} is missing; rebuild")
            continue
        if integrity(data) != entry.integrity:
            problems.append(f"bundle '{name}': {entry.file} does not match the manifest; rebuild")
            continue
        try:
            fresh = compile_bundle(spec, name, cache=Cache(cache_dir) if cache_dir else None)
        except AssetError as exc:
            problems.append(str(exc))
            continue
        if fresh.data != data:
            hint = newer_than([static / s for s in fresh.sources], out)
            changed = ", ".join(p.relative_to(static).as_posix() for p in hint) or "sources"
            problems.append(
                f"bundle '{name}': stale ({changed} changed since {entry.file}); "
                "run `flask --app app assets build`"
            )
    for name in manifest.bundles:
        if name not in spec.outputs:
            problems.append(f"bundle '{name}': in the manifest but no longer declared; rebuild")
    return problems


def template_problems(spec: Spec, template_dirs: list[Path]) -> list[str]:
    """Templates naming unknown bundles, or linking bundled sources with raw url_for."""
    known = set(spec.outputs)
    bundled = {f: n for n in spec.outputs for f in spec.files(n)}
    problems = []
    for folder in template_dirs:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix not in TEMPLATE_SUFFIXES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            shown = display_path(path)
            for lineno, name in _names(text):
                if name not in known:
                    problems.append(f"{shown}:{lineno}: unknown bundle '{name}'")
            for m in _URL_FOR.finditer(text):
                src = m.group(3).lstrip("/")
                if src in bundled:
                    lineno = text.count("\n", 0, m.start()) + 1
                    problems.append(
                        f"{shown}:{lineno}: links bundled source '{src}' with url_for; "
                        f"use bundle_tags('{bundled[src]}')"
                    )
    return problems


def _names(text: str) -> list[tuple[int, str]]:
    found = []
    for m in _HELPER.finditer(text):
        found.append((text.count("\n", 0, m.start()) + 1, m.group(2)))
    for m in _ASSETS_TAG.finditer(text):
        args = m.group(1)
        lineno = text.count("\n", 0, m.start()) + 1
        # Positional string arguments before any keyword are bundle names.
        while True:
            n = _TAG_NAME.match(args)
            if not n:
                break
            found.append((lineno, n.group(2)))
            args = args[n.end() :]
    return found
