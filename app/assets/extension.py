"""``AssetPipeline``: wires settings, resolver, template helpers and serving into an app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask
from flask.cli import NoAppException

from .errors import ManifestError
from .helpers import bundle_preload, bundle_tags, bundle_url
from .pipeline import Pipeline, manifest_optional
from .settings import Settings, load_path_of, template_folders

if TYPE_CHECKING:
    from .bridge.app_spec import AppDeclarations


class StartupError(ManifestError, NoAppException):  # type: ignore[misc]
    """Production start-up without a usable manifest.

    Also Flask's ``NoAppException``, so ``flask run`` and other commands print the one
    line and exit instead of a traceback.
    """

    def __init__(self, message: str, **kw: Any) -> None:
        # Both bases keep ``message``; ours (the raw text) must win, so it goes last.
        NoAppException.__init__(self, message)
        ManifestError.__init__(self, message, **kw)

    def format_message(self) -> str:
        return self.format()

    def show(self, file: Any = None) -> None:
        # A UsageError would print the command's usage banner first: this is no misuse.
        import click

        click.echo(f"Error: {self.format_message()}", file=file, err=True)


class AssetPipeline:
    """Flask extension: ``AssetPipeline(app)`` or ``AssetPipeline().init_app(app)``."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        settings = Settings.from_app(app)
        pipeline = Pipeline(
            settings,
            lambda: load_path_of(app),
            lambda: _declarations(app),
            lambda: template_folders(app),
        )
        app.extensions["assets"] = pipeline
        if settings.auto_build:
            from .dev import init_dev  # watchdog and the compilers: development only

            init_dev(app, pipeline)
        elif not manifest_optional.get():
            # Production: fail at start-up, not with a 500 on every request.
            try:
                resolver = pipeline.resolver  # reads the manifest now
            except ManifestError as exc:
                raise StartupError(exc.message, file=exc.file, line=exc.line) from None
            from . import static_urls
            from .resolvers.static import StaticResolver

            if isinstance(resolver, StaticResolver):
                static_urls.install(app, resolver.manifest.files, settings.base_url)
            # Not for `flask assets` commands, which serve nothing (and so need no index).
            if settings.static.is_dir():  # a manifest-only server (ASSETS_MANIFEST_URL) has none
                from .serving import wrap_static

                wrap_static(app, settings.static, settings.static_url)
        app.jinja_env.globals.update(
            bundle_url=bundle_url, bundle_tags=bundle_tags, bundle_preload=bundle_preload
        )
        from .bridge.tag import install_assets_tag

        install_assets_tag(app, pipeline)


def _declarations(app: Flask) -> AppDeclarations:
    from .bridge.app_spec import app_declarations

    return app_declarations(app)


__all__ = ["AssetPipeline", "Pipeline", "StartupError", "manifest_optional"]
