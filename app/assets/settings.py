"""The one reader of the ``ASSETS_*`` settings: defaults, types, and the static roots."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from .browsers import browsers_of
from .declare import OUTPUT_DIR
from .errors import ConfigError
from .load_path import LoadPath, Root
from .manifest import FILENAME


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def _int(app: Flask, key: str) -> int:
    try:
        return int(app.config[key])
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a whole number, not {app.config[key]!r}") from None


@dataclass(frozen=True)
class Settings:
    config_path: Path  # ASSETS_CONFIG
    static: Path  # the app's static folder: gen/ and the manifest live here
    static_url: str
    auto_build: bool  # ASSETS_AUTO_BUILD: rebuild stale bundles on request
    debug: bool  # app.debug: unminified builds with source maps, the overlay
    assets_debug: bool  # ASSETS_DEBUG: link sources unbundled
    base_url: str | None  # ASSETS_URL: a CDN in front of the static files
    live_reload: bool  # ASSETS_LIVE_RELOAD
    sri: bool  # ASSETS_SRI
    keep: int  # ASSETS_KEEP: older builds clean keeps
    cache_dir: Path | None  # ASSETS_CACHE_DIR: the build cache ("" turns it off)
    inotify: bool = True  # ASSETS_INOTIFY: skip stat calls while no file event arrived
    manifest_url: str | None = None  # ASSETS_MANIFEST_URL: read the manifest from here
    s3_endpoint_url: str | None = None  # ASSETS_S3_ENDPOINT_URL
    browsers: tuple[str, ...] = ("defaults",)  # ASSETS_BROWSERS: lightningcss's targets

    @property
    def manifest_path(self) -> Path:
        return self.static / OUTPUT_DIR / FILENAME

    @classmethod
    def from_app(cls, app: Flask) -> Settings:
        """Fill in the defaults in ``app.config``, then read them."""
        if app.static_folder is None:
            raise ConfigError(
                "the asset pipeline needs a static folder: create the Flask app with "
                "static_folder set (Flask's default is 'static')"
            )
        static = Path(os.path.abspath(app.static_folder))
        defaults = {
            "ASSETS_CONFIG": str(static.parent / "assets.yml"),
            "ASSETS_AUTO_BUILD": app.debug,
            "ASSETS_DEBUG": False,
            "ASSETS_URL": None,
            "ASSETS_LIVE_RELOAD": app.debug,
            "ASSETS_SRI": True,
            "ASSETS_KEEP": 3,
            "ASSETS_S3_BUCKET": None,
            "ASSETS_S3_PREFIX": "static/",
            "ASSETS_S3_ENDPOINT_URL": None,
            "ASSETS_MANIFEST_URL": None,
            "ASSETS_INOTIFY": True,
            "ASSETS_BROWSERS": "defaults",
            "ASSETS_CACHE_DIR": str(static.parent / ".cache" / "assets"),
        }
        for key, value in defaults.items():
            app.config.setdefault(key, value)
        c = app.config
        return cls(
            config_path=Path(c["ASSETS_CONFIG"]),
            static=static,
            static_url=app.static_url_path or "/static",
            auto_build=_bool(c["ASSETS_AUTO_BUILD"]),
            debug=app.debug,
            assets_debug=_bool(c["ASSETS_DEBUG"]),
            base_url=c["ASSETS_URL"] or None,
            live_reload=_bool(c["ASSETS_LIVE_RELOAD"]),
            sri=_bool(c["ASSETS_SRI"]),
            keep=_int(app, "ASSETS_KEEP"),
            cache_dir=Path(c["ASSETS_CACHE_DIR"]) if c["ASSETS_CACHE_DIR"] else None,
            inotify=_bool(c["ASSETS_INOTIFY"]),
            manifest_url=c["ASSETS_MANIFEST_URL"] or None,
            s3_endpoint_url=c["ASSETS_S3_ENDPOINT_URL"] or None,
            browsers=browsers_of(c["ASSETS_BROWSERS"]),
        )


def load_path_of(app: Flask) -> LoadPath:
    """The app's static folder first, then each blueprint's (``<name>/...`` in sources).

    Read when first needed (a request or a command), so blueprints registered after
    ``init_app`` count too.
    """
    assert app.static_folder is not None  # checked by Settings.from_app
    roots = [Root(Path(os.path.abspath(app.static_folder)), "", app.static_url_path or "/static")]
    for name, bp in app.blueprints.items():
        if bp.static_folder and os.path.isdir(bp.static_folder):
            url = (bp.url_prefix or "") + (bp.static_url_path or "/static")
            roots.append(Root(Path(os.path.abspath(bp.static_folder)), f"{name}/", url))
    return LoadPath(roots)


def template_folders(app: Flask) -> list[Path]:
    """The app's template folder, then each blueprint's: what ``render_template`` searches."""
    folders = []
    for owner in (app, *app.blueprints.values()):
        if owner.template_folder:
            folder = Path(owner.root_path, owner.template_folder)
            if folder.is_dir() and folder not in folders:
                folders.append(folder)
    return folders
