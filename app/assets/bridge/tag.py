"""Flask-Assets' ``{% assets "name" %}...{{ ASSET_URL }}...{% endassets %}``, answered
by the pipeline's resolver: the tag never builds or links a raw source itself."""

from __future__ import annotations

from typing import Any

import flask_assets
from flask import Flask
from webassets import Bundle

from ..helpers import bundle_entry, entry_url, source_urls
from ..pipeline import Pipeline


class _PipelineBundle(Bundle):
    """A bundle whose URL comes from the resolver."""

    def __init__(self, name: str, pipeline: Pipeline) -> None:
        super().__init__(output=name)
        self.pipeline_name = name
        self.pipeline = pipeline

    def _urls(self, ctx: Any, extra_filters: Any, *args: Any, **kwargs: Any) -> list[Any]:
        sources = source_urls(self.pipeline_name)  # rendering: an app context is active
        if sources is not None:
            if kwargs.get("calculate_sri"):
                return [{"uri": u, "sri": None} for u in sources]
            return sources
        entry = bundle_entry(self.pipeline_name)
        if entry is None:
            return []  # development: the overlay shows the build error
        settings = self.pipeline.settings
        url = entry_url(entry, settings.base_url)
        if kwargs.get("calculate_sri"):
            return [{"uri": url, "sri": entry.integrity if settings.sri else None}]
        return [url]


class _AssetsEnvironment(flask_assets.Environment):
    """Flask-Assets' environment, answering bundle names from the pipeline."""

    def __init__(self, app: Flask, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        super().__init__(app)

    def __getitem__(self, name: str) -> Bundle:
        # Raise (not KeyError) so the tag never falls back to linking a raw source.
        bundle_entry(name)  # raises MissingBundleError naming an unknown bundle
        return _PipelineBundle(name, self._pipeline)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)


def install_assets_tag(app: Flask, pipeline: Pipeline) -> None:
    """Register Flask-Assets' Jinja extension, resolving names through ``pipeline``."""
    _AssetsEnvironment(app, pipeline)
