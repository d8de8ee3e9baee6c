"""Production: bundle URLs from the manifest alone, a dict lookup per call."""

from __future__ import annotations

from ..declare import Spec
from ..errors import AssetError, MissingBundleError, known_names
from ..manifest import Entry, Manifest


class StaticResolver:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def entry(self, name: str) -> Entry:
        try:
            return self.manifest.bundles[name]
        except KeyError:
            known = known_names(name, self.manifest.bundles, "built")
            raise MissingBundleError(
                f"unknown bundle '{name}' {known}; "
                "declare it in assets.yml and run `flask --app app assets build`"
            ) from None

    def members(self, name: str) -> tuple[str, ...]:
        found = (name,) if name in self.manifest.bundles else self.manifest.groups.get(name)
        if found is None:
            self.entry(name)  # raises, naming it
            raise AssertionError(name)
        return found

    def extra(self, name: str) -> dict[str, str]:
        return self.manifest.extra.get(name, {})

    def names(self) -> list[str]:
        return [*self.manifest.bundles, *self.manifest.groups]

    def spec(self) -> Spec | None:
        return None

    def errors(self) -> list[AssetError]:
        return []

    def restore(self, rel: str) -> bool:
        return False

    def view(self) -> StaticResolver:
        return self  # the manifest does not change while the server runs
