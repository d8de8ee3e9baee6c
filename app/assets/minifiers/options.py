"""What a build tells a minifier beyond the text: today, the browsers to target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MinifyOptions:
    """Options every engine accepts; an engine ignores those it has no use for.

    ``browsers``: browserslist queries (``("safari 12", "chrome 80")``, ``("defaults",)``)
    from ``ASSETS_BROWSERS`` or a bundle's override; empty: no prefixing or lowering.
    """

    browsers: tuple[str, ...] = ()

    def key(self) -> str:
        """Part of every minify cache key: other targets, other output."""
        return "browsers=" + ",".join(self.browsers)


NO_OPTIONS = MinifyOptions()
