"""The asset pipeline: assets.yml -> static/gen + manifest -> template URLs."""

from __future__ import annotations

from .errors import AssetError, BuildError, ConfigError, ManifestError, MissingBundleError
from .extension import AssetPipeline

__all__ = [
    "AssetError",
    "AssetPipeline",
    "BuildError",
    "ConfigError",
    "ManifestError",
    "MissingBundleError",
]
