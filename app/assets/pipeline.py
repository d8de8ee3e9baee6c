"""The per-app pipeline object in ``app.extensions["assets"]``: settings and resolver.

Only what the current mode needs is imported: a production server reads the
manifest and never loads a compiler, a minifier, brotli, watchdog or boto3.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from . import manifest as manifest_mod
from .load_path import LoadPath
from .resolvers import Resolver
from .settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from .bridge.app_spec import AppDeclarations
    from .declare import Spec
    from .manifest import Entry

# Set by the `flask assets` group: those commands build the manifest, so they must
# not need one at start-up.
manifest_optional: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "manifest_optional", default=False
)


class Pipeline:
    """``settings``, the static roots (``load_path``) and the ``resolver`` of one app."""

    def __init__(
        self,
        settings: Settings,
        load_path: Callable[[], LoadPath],
        declarations: Callable[[], AppDeclarations] | None = None,
        template_folders: Callable[[], list[Path]] = list,
    ) -> None:
        self.settings = settings
        self._load_path_of = load_path
        self.template_folders = template_folders
        # Bundles declared beside assets.yml: registered in Python, inline in templates.
        self.declarations = declarations
        self._load_path: LoadPath | None = None
        self._resolver: Resolver | None = None
        # (bundle, tag maker, crossorigin) -> (entry, the tag before and after its other
        # attributes): bundle_tags renders a bundle's tag once per build of it.
        self.tags: dict[tuple[object, ...], tuple[Entry, str, str]] = {}

    @property
    def load_path(self) -> LoadPath:
        """Read when first needed, so blueprints registered after ``init_app`` count."""
        if self._load_path is None:
            self._load_path = self._load_path_of()
        return self._load_path

    def load_spec(self) -> Spec:
        """The declarations of ``assets.yml``, Python and templates, validated."""
        from .declare import load_spec

        found = self.declarations() if self.declarations else None
        return load_spec(
            self.settings.config_path,
            self.load_path,
            more=found.more if found else (),
            wanted=found.wanted if found else (),
        )

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = self.make_resolver()
        return self._resolver

    def make_resolver(self) -> Resolver:
        s = self.settings
        if s.auto_build:
            from .resolvers.dynamic import DynamicResolver

            return DynamicResolver(
                s.config_path,
                lambda: self.load_path,
                s.static_url,
                minify=not s.debug,
                dev=s.debug,
                cache_dir=s.cache_dir,
                file_events=s.inotify,
                browsers=s.browsers,
                declarations=self.declarations,
                also_watched=self.template_folders,
            )
        from .resolvers.static import StaticResolver

        if s.manifest_url:
            # Servers without the build on disk: the manifest CI published, once at start-up.
            from .fetch import fetch_manifest

            return StaticResolver(fetch_manifest(s.manifest_url, endpoint_url=s.s3_endpoint_url))
        return StaticResolver(manifest_mod.load(s.manifest_path))


def current() -> Pipeline:
    """The pipeline of the app handling the current request or command."""
    # The app itself, not the proxy: each attribute read through a proxy costs more
    # than a whole bundle lookup, and templates call this once per tag.
    return current_pipeline(current_app._get_current_object())  # type: ignore[attr-defined]


def current_pipeline(app: Flask) -> Pipeline:
    pipeline = app.extensions.get("assets")
    if not isinstance(pipeline, Pipeline):
        raise RuntimeError("the asset pipeline is not set up: call AssetPipeline(app) first")
    return pipeline
