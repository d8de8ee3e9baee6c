"""An app's whole declaration: ``assets.yml``, bundles registered in Python, templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask

from ..declare import Declaration, Spec, load_spec
from ..load_path import LoadPath
from .registered import registered
from .templates import link, scan


@dataclass
class AppDeclarations:
    more: list[Declaration] = field(default_factory=list)
    wanted: list[str] = field(default_factory=list)
    watched: list[str] = field(default_factory=list)  # template files: a change rescans


def app_declarations(app: Flask) -> AppDeclarations:
    from ..settings import template_folders

    found = AppDeclarations()
    python = registered(app)
    if python is not None:
        found.more.append(python)
    use = scan(app.jinja_env, template_folders(app))
    if use.inline:
        names = {d.name for d in python.bundles} if python else set()
        names |= set(_yaml_names(app))
        found.more.append(link(use.declaration(Path("templates")), names))
    found.wanted = use.wanted
    found.watched = use.files
    return found


def _yaml_names(app: Flask) -> list[str]:
    """Top-level names of assets.yml (a template's inline bundle may nest them)."""
    from ..declare import read_yaml
    from ..errors import AssetError
    from ..pipeline import current_pipeline

    try:
        path = current_pipeline(app).settings.config_path
        return [d.name for d in read_yaml(path).bundles] if path.exists() else []
    except AssetError:
        return []  # the real load reports it


def load_app_spec(config_path: Path, load_path: LoadPath, found: AppDeclarations) -> Spec:
    return load_spec(config_path, load_path, more=found.more, wanted=found.wanted)
