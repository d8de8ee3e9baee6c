"""Bundles an app registers through Flask-Assets' API, read into the declaration form.

``assets = Environment(app)``, ``assets.register("js_all", Bundle(...))``, nested
``Bundle`` objects, ``from_yaml`` and ``from_module`` all end in the Flask-Assets
``Environment`` the app made; its named bundles join ``assets.yml``'s, validated and
built like them. ``export_yaml`` prints them as ``assets.yml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import Flask
from webassets import Bundle

from ..declare import Declaration, Draft, Ref, Value

ORIGIN = "Python (Flask-Assets Environment.register)"


def user_environments(app: Flask) -> list[Any]:
    """The Flask-Assets environments the app made (not the pipeline's own)."""
    from .tag import PIPELINE_ATTR, _AssetsEnvironment

    found = []
    candidates = [getattr(app.jinja_env, "assets_environment", None)]
    candidates += [v for v in app.extensions.values() if v is not None]
    candidates += getattr(app.jinja_env, PIPELINE_ATTR + "_users", [])
    for env in candidates:
        if (
            env is not None
            and hasattr(env, "_named_bundles")
            and not isinstance(env, _AssetsEnvironment)
            and env not in found
        ):
            found.append(env)
    return found


def registered(app: Flask) -> Declaration | None:
    """The bundles registered in Python, as drafts; None when there are none."""
    named: dict[str, Bundle] = {}
    for env in user_environments(app):
        for name, bundle in env._named_bundles.items():
            named.setdefault(str(name), bundle)
    if not named:
        return None
    by_id = {id(b): n for n, b in named.items()}
    drafts = tuple(_draft(name, b, by_id) for name, b in named.items())
    return Declaration(Path(ORIGIN), drafts, origins=dict.fromkeys(named, ORIGIN))


def _names(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    out = []
    for item in value if isinstance(value, list | tuple) else [value]:
        out.append(item if isinstance(item, str) else str(getattr(item, "name", item)))
    return out


def _draft(name: str, bundle: Bundle, by_id: dict[int, str]) -> Draft:
    contents: list[Value | Ref | Draft] = []
    for item in bundle.contents:
        if isinstance(item, Bundle):
            if id(item) in by_id and by_id[id(item)] != name:
                contents.append(Ref(by_id[id(item)], 0))
            else:
                contents.append(_draft(name, item, by_id))
        else:
            contents.append(Value(str(item), 0))
    output = Value(str(bundle.output), 0) if bundle.output else None
    extra = tuple((str(k), str(v)) for k, v in (bundle._extra or {}).items())
    return Draft(
        name,
        0,
        contents=tuple(contents),
        filters=tuple(Value(f, 0) for f in _names(bundle._filters)),
        depends=tuple(Value(d, 0) for d in _names(bundle.depends)),
        output=output,
        extra=extra,
        debug=_debug(bundle),
    )


def _debug(bundle: Bundle) -> bool | str | None:
    value = bundle._config.get("debug", None)
    return value if value in (True, False, "merge") else None


def export_yaml(app: Flask) -> str:
    """The Python-registered bundles as ``assets.yml`` text (webassets' format)."""
    named: dict[str, Bundle] = {}
    for env in user_environments(app):
        for name, bundle in env._named_bundles.items():
            named.setdefault(str(name), bundle)
    by_id = {id(b): n for n, b in named.items()}
    doc = {name: _mapping(name, b, by_id) for name, b in named.items()}
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def _mapping(name: str, bundle: Bundle, by_id: dict[int, str]) -> dict[str, Any]:
    contents: list[Any] = []
    for item in bundle.contents:
        if isinstance(item, Bundle):
            ref = by_id.get(id(item))
            contents.append(ref if ref and ref != name else _mapping(name, item, by_id))
        else:
            contents.append(str(item))
    out: dict[str, Any] = {"contents": contents}
    if _names(bundle._filters):
        out["filters"] = ",".join(_names(bundle._filters))
    if bundle.output:
        out["output"] = str(bundle.output)
    if _names(bundle.depends):
        out["depends"] = _names(bundle.depends)
    if bundle._extra:
        out["extra"] = dict(bundle._extra)
    return out
