"""lightningcss (Rust, PyPI wheel): parses, minifies, and for the browsers in
``ASSETS_BROWSERS`` adds vendor prefixes and lowers modern syntax (nesting, ``inset``,
``lab()`` colours...). Also runs for webassets' ``autoprefixer`` filter names.

The binding resolves the browserslist queries itself (browserslist-rs with the caniuse
data of its release), so ``"> 0.5%, last 2 versions"`` works as in Node.
"""

from __future__ import annotations

from ..cssparse import parse_error
from .guard import MinifyError
from .options import MinifyOptions


def minify(text: str, options: MinifyOptions | None = None) -> str:
    import lightningcss  # imported on first use: production never loads it

    browsers = list(options.browsers) if options else []
    try:
        out = lightningcss.process_stylesheet(
            text, error_recovery=False, browsers_list=browsers or None, minify=True
        )
    except ValueError as exc:
        if str(exc).startswith("Validation of browsers_list failed"):
            detail = str(exc).partition(": ")[2] or str(exc)
            raise MinifyError(f"ASSETS_BROWSERS {list(browsers)!r}: {detail}") from None
        error = parse_error(exc)
        raise MinifyError(f"CSS parse error: {error.message}", error.line) from None
    return str(out)
