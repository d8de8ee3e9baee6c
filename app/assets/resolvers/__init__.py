"""One question, two answers: which file serves bundle X?

``StaticResolver`` answers from the manifest (production: a dict lookup, no file
system work); ``DynamicResolver`` builds on demand when a source changed
(development). Both satisfy :class:`Resolver`, which is all callers use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..declare import Spec
    from ..errors import AssetError
    from ..manifest import Entry


class View(Protocol):
    """What a template tag asks: a resolver as the current request sees it."""

    def entry(self, name: str) -> Entry: ...

    def members(self, name: str) -> tuple[str, ...]: ...

    def spec(self) -> Spec | None: ...


class Resolver(Protocol):
    def entry(self, name: str) -> Entry:
        """The built file of bundle ``name``; raises MissingBundleError naming it."""
        ...

    def members(self, name: str) -> tuple[str, ...]:
        """The built bundles a template naming ``name`` links: ``(name,)``, or the parts
        of a bundle without an output; raises MissingBundleError naming an unknown one."""
        ...

    def extra(self, name: str) -> dict[str, str]:
        """webassets' ``extra`` of a bundle (EXTRA in ``{% assets %}``); {} when none."""
        ...

    def names(self) -> list[str]:
        """Every bundle a template may name."""
        ...

    def spec(self) -> Spec | None:
        """The current declarations; None in production, which reads the manifest only."""
        ...

    def errors(self) -> list[AssetError]:
        """Build errors to show in development (always empty in production)."""
        ...

    def restore(self, rel: str) -> bool:
        """Rebuild a vanished output (development); True when ``rel`` exists again."""
        ...

    def view(self) -> View:
        """The answers as of this request: in development the change gate is read once
        per request, so the tags of a page share one read; in production, itself."""
        ...


__all__ = ["Resolver", "View"]
