"""webassets' environment format: ``bundles:`` beside ``directory``, ``url``, ``load_path``...

``directory`` and ``load_path`` say where sources are found (extra roots of the load
path, resolved against the YAML file's folder); every other setting is accepted and
reported once as ignored, with the reason (the pipeline decides it another way).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

# Settings webassets' YAMLLoader.load_environment reads, and why each is not needed here.
IGNORED = {
    "url": "URLs come from the app's static URL (or ASSETS_URL)",
    "debug": "ASSETS_DEBUG decides",
    "config": "filters run in Python and need no settings",
    "cache": "the build cache is ASSETS_CACHE_DIR",
    "cache_file_mode": "the build cache is ASSETS_CACHE_DIR",
    "manifest": "static/gen/manifest.json is always written",
    "versions": "outputs are always content-hashed",
    "url_expire": "hashed URLs never change, so none needs a query string",
    "expire": "hashed URLs never change, so none needs a query string",
    "auto_build": "ASSETS_AUTO_BUILD decides",
    "updater": "the files each build read decide staleness",
}
ENV_KEYS = ("bundles", "directory", "load_path", *IGNORED)


@dataclass(frozen=True)
class Environment:
    bundles: yaml.MappingNode | None  # None: an environment without bundles
    roots: tuple[Path, ...]  # extra source folders, in lookup order
    notes: tuple[str, ...]


def is_environment(root: yaml.MappingNode) -> bool:
    """Whether a top-level mapping is webassets' environment format (not bundle names).

    ``bundles:`` holding a mapping of bundles, or ``directory``/``url``/``load_path``
    given as plain values (a bundle of that name would be a mapping or a list).
    """
    for key, value in root.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if (
            name == "bundles"
            and isinstance(value, yaml.MappingNode)
            and not any(getattr(k, "value", None) == "contents" for k, _ in value.value)
        ):
            return True
        if name in ("directory", "url", "load_path") and isinstance(value, yaml.ScalarNode):
            return True
    return False


def read_environment(
    root: yaml.MappingNode, folder: Path, static: Path, error: Callable[[str, int], Exception]
) -> Environment:
    """The bundles node, extra roots and notes; ``error(message, line)`` for a bad setting."""
    bundles: yaml.MappingNode | None = None
    found: dict[str, list[Path]] = {"load_path": [], "directory": []}
    notes: list[str] = []
    for key, value in root.value:
        name = str(key.value) if isinstance(key, yaml.ScalarNode) else repr(key)
        line = key.start_mark.line + 1
        if name == "bundles":
            if isinstance(value, yaml.MappingNode):
                bundles = value
            elif not (isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null")):
                raise error("'bundles' must be a mapping of bundle names", line)
        elif name in ("directory", "load_path"):
            for text in _paths(value, name, error):
                path = Path(os.path.normpath(folder / os.path.expanduser(text)))
                if not path.is_dir():
                    raise error(f"{name} '{text}' is not a folder (relative to assets.yml)", line)
                found[name].append(path)
        elif name in IGNORED:
            notes.append(f"setting '{name}' is ignored: {IGNORED[name]}")
        else:
            import difflib

            close = difflib.get_close_matches(name, ENV_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise error(f"unknown environment setting '{name}'{hint}", line)
    # webassets searches load_path first, then directory; the app's static/ comes last.
    roots = []
    for path in [*found["load_path"], *found["directory"]]:
        if path != static and path not in roots:
            roots.append(path)
    if found["directory"] and roots:
        notes.append("outputs are built under static/gen/, whatever 'directory' says")
    return Environment(bundles, tuple(roots), tuple(notes))


def _paths(node: yaml.Node, what: str, error: Callable[[str, int], Exception]) -> list[str]:
    line = node.start_mark.line + 1
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    out = []
    for item in items:
        if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
            raise error(f"'{what}' must be a folder or a list of folders", line)
        out.append(str(item.value))
    return out
