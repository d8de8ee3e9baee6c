"""Browser targets as written (``ASSETS_BROWSERS``, or a bundle's override) to a tuple.

No Flask and no lightningcss: settings (read in production too) and the build share
it. The queries are resolved and checked by lightningcss when a build first needs them.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

SETTING = "ASSETS_BROWSERS"


def browsers_of(value: Any, key: str = SETTING) -> tuple[str, ...]:
    """``"safari 12, chrome 80"`` or ``["safari 12", "chrome 80"]`` -> the queries."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(q, str) for q in value):
        raise ConfigError(f"{key} must be a browserslist query string, not {value!r}")
    return tuple(q.strip() for q in value if q.strip())
