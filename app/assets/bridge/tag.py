"""Flask-Assets' ``{% assets "name" %}...{{ ASSET_URL }}...{% endassets %}``, answered
by the pipeline's resolver: the tag never builds or links a raw source itself.

Every form Flask-Assets accepts works: a bundle name, a source file's path (its hashed
copy), several at once, and inline bundles (``filters=..., output=...``), which
``flask assets build`` finds in the templates and builds ahead. The pipeline's tag is a
Jinja extension of its own, with a higher priority than Flask-Assets': an app that also
makes a Flask-Assets ``Environment(app)`` (before or after) keeps this tag, and the
bundles it registers there join the pipeline's.
"""

from __future__ import annotations

from typing import Any

import flask_assets
from flask import Flask
from webassets import Bundle
from webassets.ext.jinja2 import AssetsExtension

from ..helpers import bundle_entry, entry_url, members, source_urls
from ..pipeline import Pipeline

PIPELINE_ATTR = "assets_pipeline_environment"


class _PipelineBundle(Bundle):
    """A bundle whose URLs (one per part, for a container) come from the resolver."""

    def __init__(self, name: str, pipeline: Pipeline) -> None:
        super().__init__(output=name, extra=pipeline.resolver.extra(name))
        self.pipeline_name = name
        self.pipeline = pipeline

    def _urls(self, ctx: Any, extra_filters: Any, *args: Any, **kwargs: Any) -> list[Any]:
        sri = bool(kwargs.get("calculate_sri"))
        urls: list[Any] = []
        for part in members(self.pipeline_name, self.pipeline):
            urls += self._part(part, sri)
        return urls

    def _part(self, name: str, sri: bool) -> list[Any]:
        sources = source_urls(name, self.pipeline)  # rendering: an app context is active
        if sources is not None:
            return [{"uri": u, "sri": None} for u in sources] if sri else sources
        entry = bundle_entry(name, self.pipeline)
        if entry is None:
            return []  # development: the overlay shows the build error
        settings = self.pipeline.settings
        url = entry_url(entry, settings.base_url)
        if sri:
            return [{"uri": url, "sri": entry.integrity if settings.sri else None}]
        return [url]


class _AssetsEnvironment(flask_assets.Environment):
    """Flask-Assets' environment, answering bundle names from the pipeline."""

    def __init__(self, app: Flask, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        super().__init__(app)

    def init_app(self, app: Flask) -> None:
        users = getattr(app.jinja_env, PIPELINE_ATTR + "_users", [])
        theirs = getattr(app.jinja_env, "assets_environment", None)
        if theirs is not None and theirs not in users:
            users.append(theirs)  # the app's own Environment(app): its bundles are ours
        setattr(app.jinja_env, PIPELINE_ATTR + "_users", users)
        setattr(app.jinja_env, PIPELINE_ATTR, self)
        app.jinja_env.add_extension(PipelineAssetsExtension)
        if theirs is None:
            app.jinja_env.assets_environment = self  # type: ignore[attr-defined]

    def __getitem__(self, name: str) -> Bundle:
        # Raise (not KeyError) so the tag never falls back to linking a raw source.
        members(name, self._pipeline)  # raises MissingBundleError naming an unknown bundle
        return _PipelineBundle(name, self._pipeline)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)


class PipelineAssetsExtension(AssetsExtension):
    """``{% assets %}`` answered by the pipeline; wins the tag over Flask-Assets' own."""

    priority = 1000  # Jinja gives a tag to the extension with the highest priority

    def _render_assets(
        self, filter: Any, output: Any, dbg: Any, depends: Any, files: Any, caller: Any = None
    ) -> str:
        env = getattr(self.environment, PIPELINE_ATTR)
        # An inline bundle with an output was found in the template and built under it.
        contents = [env[output]] if output else [env[f] for f in files]
        bundle = Bundle(*contents)
        with bundle.bind(env):
            urls = bundle.urls(calculate_sri=True)
        result = ""
        for entry in urls:
            result += caller(entry["uri"], entry.get("sri"), bundle.extra)
        return result


def install_assets_tag(app: Flask, pipeline: Pipeline) -> None:
    """Register the ``{% assets %}`` extension, resolving names through ``pipeline``."""
    _AssetsEnvironment(app, pipeline)


def is_assets_call(identifier: str) -> bool:
    """Whether a Jinja ``ExtensionAttribute`` is an ``{% assets %}`` tag (ours or theirs)."""
    return identifier in (PipelineAssetsExtension.identifier, AssetsExtension.identifier)


__all__ = ["PipelineAssetsExtension", "install_assets_tag", "is_assets_call"]
