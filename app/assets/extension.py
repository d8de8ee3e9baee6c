"""``AssetPipeline``: wires settings, resolver, template helpers and CLI into an app."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask_assets
from flask import Flask
from webassets import Bundle

from . import manifest as manifest_mod
from .dev import init_dev
from .errors import ManifestError, MissingBundleError, StartupError
from .helpers import (
    bundle_entry,
    bundle_preload,
    bundle_tags,
    bundle_url,
    entry_url,
    source_urls,
)
from .publish import fetch_manifest
from .resolver import BuildingResolver, ManifestResolver, Resolver
from .serving import wrap_static
from .spec import OUTPUT_DIR

# Set by the `flask assets` group: those commands build the manifest, so they must
# not need one at start-up.
manifest_optional: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "manifest_optional", default=False
)


@dataclass
class PipelineState:
    config_path: Path
    static: Path
    static_url: str
    auto_build: bool
    debug: bool
    assets_debug: bool
    base_url: str | None
    sri: bool
    keep: int
    cache_dir: Path | None
    inotify: bool = True  # development: skip stat calls while no file event arrived (Linux)
    manifest_url: str | None = None  # production: read the manifest from here, not disk
    s3_endpoint_url: str | None = None  # for an s3:// manifest_url on a non-AWS store
    _resolver: Resolver | None = field(default=None, repr=False)

    @property
    def manifest_path(self) -> Path:
        return self.static / OUTPUT_DIR / manifest_mod.FILENAME

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = self.make_resolver()
        return self._resolver

    def make_resolver(self) -> Resolver:
        if self.auto_build:
            return BuildingResolver(
                self.config_path,
                self.static,
                self.static_url,
                minify=not self.debug,
                dev=self.debug,
                cache_dir=self.cache_dir,
                file_events=self.inotify,
            )
        if self.manifest_url:
            # Servers without the build on disk: the manifest CI published, once at start-up.
            return ManifestResolver(
                fetch_manifest(self.manifest_url, endpoint_url=self.s3_endpoint_url)
            )
        return ManifestResolver(manifest_mod.load(self.manifest_path))


class AssetPipeline:
    """Flask extension: ``AssetPipeline(app)`` or ``AssetPipeline().init_app(app)``."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        root = Path(app.root_path).parent
        app.config.setdefault("ASSETS_CONFIG", str(root / "assets.yml"))
        app.config.setdefault("ASSETS_AUTO_BUILD", app.debug)
        app.config.setdefault("ASSETS_DEBUG", False)
        app.config.setdefault("ASSETS_URL", None)
        app.config.setdefault("ASSETS_LIVE_RELOAD", app.debug)
        app.config.setdefault("ASSETS_SRI", True)
        app.config.setdefault("ASSETS_KEEP", 3)
        app.config.setdefault("ASSETS_S3_BUCKET", None)
        app.config.setdefault("ASSETS_S3_PREFIX", "static/")
        app.config.setdefault("ASSETS_S3_ENDPOINT_URL", None)
        app.config.setdefault("ASSETS_MANIFEST_URL", None)
        app.config.setdefault("ASSETS_INOTIFY", True)
        app.config.setdefault(
            "ASSETS_CACHE_DIR", str(Path(app.static_folder).parent / ".cache/assets")
        )
        assert app.static_folder is not None, "the pipeline needs a static folder"
        state = PipelineState(
            config_path=Path(app.config["ASSETS_CONFIG"]),
            static=Path(app.static_folder),
            static_url=app.static_url_path or "/static",
            auto_build=_bool(app.config["ASSETS_AUTO_BUILD"]),
            debug=app.debug,
            assets_debug=_bool(app.config["ASSETS_DEBUG"]),
            base_url=app.config["ASSETS_URL"] or None,
            sri=_bool(app.config["ASSETS_SRI"]),
            keep=int(app.config["ASSETS_KEEP"]),
            cache_dir=Path(app.config["ASSETS_CACHE_DIR"])
            if app.config["ASSETS_CACHE_DIR"]
            else None,
            inotify=_bool(app.config["ASSETS_INOTIFY"]),
            manifest_url=app.config["ASSETS_MANIFEST_URL"] or None,
            s3_endpoint_url=app.config["ASSETS_S3_ENDPOINT_URL"] or None,
        )
        app.extensions["assets"] = state
        if not state.auto_build:
            if not manifest_optional.get():
                # Production: fail at start-up, not with a 500 on every request.
                try:
                    state._resolver = state.make_resolver()
                except ManifestError as exc:
                    raise StartupError(exc.message, file=exc.file, line=exc.line) from None
            if state.static.is_dir():  # a manifest-only server (ASSETS_MANIFEST_URL) has none
                wrap_static(app, state.static, state.static_url)
        else:
            init_dev(app, state)
        app.jinja_env.globals.update(
            bundle_url=bundle_url, bundle_tags=bundle_tags, bundle_preload=bundle_preload
        )
        _FlaskAssetsEnvironment(app, state)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


class _PipelineBundle(Bundle):
    """A bundle whose URL comes from our resolver, for Flask-Assets' ``{% assets %}`` tag."""

    def __init__(self, name: str, state: PipelineState) -> None:
        super().__init__(output=name)
        self.pipeline_name = name
        self.state = state

    def _urls(self, ctx: Any, extra_filters: Any, *args: Any, **kwargs: Any) -> list[Any]:
        sources = source_urls(self.pipeline_name)  # rendering: an app context is active
        if sources is not None:
            if kwargs.get("calculate_sri"):
                return [{"uri": u, "sri": None} for u in sources]
            return sources
        entry = bundle_entry(self.pipeline_name)
        if entry is None:
            return []  # development: the overlay shows the build error
        url = entry_url(entry, self.state.base_url)
        if kwargs.get("calculate_sri"):
            return [{"uri": url, "sri": entry.integrity if self.state.sri else None}]
        return [url]


class _FlaskAssetsEnvironment(flask_assets.Environment):
    """Flask-Assets' environment, answering bundle names from the pipeline."""

    def __init__(self, app: Flask, state: PipelineState) -> None:
        self._pipeline = state
        super().__init__(app)

    def __getitem__(self, name: str) -> Bundle:
        # Raise (not KeyError) so the tag never falls back to linking a raw source.
        return _PipelineBundle(self._lookup(name), self._pipeline)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def _lookup(self, name: str) -> str:
        bundle_entry(name)  # raises MissingBundleError naming an unknown bundle
        return name


__all__ = ["AssetPipeline", "MissingBundleError", "PipelineState", "manifest_optional"]
