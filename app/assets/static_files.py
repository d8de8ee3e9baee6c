"""Every other static file, digested: ``img/leaf.svg`` -> ``gen/img/leaf.1a2b3c4d.svg``.

The files production serves from the static folders (not ``gen/``, not dotfiles, not
the sources bundles compile unless a template links them) get a content-hashed copy
under ``gen/`` at the same relative path, listed in the manifest's ``files``. CSS
``url()`` targets are the same copies (``bridge/filters.py`` names them with
:func:`digest_path`): one digested copy per file.

Files are streamed (hashed and copied in chunks: a 50 MB video costs a few MB of
memory) and compressed only when their type compresses and they are small enough.
Incremental: a file whose size, mtime and inode match the fingerprint recorded when
it was last digested (and not modified within the racy window before that) is not
read, and its copy is not checked again while the copy's own stat is unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from .declare import OUTPUT_DIR, Spec, display_path
from .deps import RACY_NS
from .digests import hashed_name, stream_hashes
from .errors import BuildError
from .manifest import Entry, FileEntry, plain_path
from .output import SUFFIXES, atomic_copy, atomic_write, variants, write_output

# Types worth a .gz/.br (text and text-like); images, fonts in woff2, video, archives
# and PDFs are compressed already.
COMPRESSIBLE = frozenset(
    ".css .js .mjs .map .json .webmanifest .xml .svg .txt .html .htm .csv .md .ico "
    ".ttf .otf .eot .wasm .rss .atom .ics .vtt".split()
)
# Compressing needs the whole file in memory: larger files are served as they are.
MAX_COMPRESS = 8 * 1024 * 1024
FINGERPRINTS = "static-files.json"
# url_for('static', filename='x') in a template: a literal file name.
# bundle_url("x"), bundle_tags('x'), bundle_preload("x"): the bundle names templates use.
BUNDLE_CALL = re.compile(r"""\bbundle_(?:url|tags|preload)\(\s*(["'])([^"']+)\1""")
URL_FOR = re.compile(r"""url_for\(\s*(["'])static\1\s*,\s*filename\s*=\s*(["'])([^"']+)\2""")
TEMPLATE_SUFFIXES = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".txt", ".xml")
_HASH = re.compile(r"\.[0-9a-f]{8}(?=\.[^./]+$|$)")

Compress = Callable[[str, bytes, Callable[[bytes], bytes]], bytes]


def digest_path(logical: str, sha256: str) -> str:
    """Where the digested copy of ``logical`` lives (static-relative)."""
    return hashed_name(f"{OUTPUT_DIR}/{logical}", sha256)


def compressible(logical: str) -> bool:
    return PurePosixPath(logical).suffix.lower() in COMPRESSIBLE


def template_files(template_dirs: Iterable[Path]) -> Iterator[Path]:
    """Every template file under these folders, in a stable order."""
    for folder in template_dirs:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in TEMPLATE_SUFFIXES:
                yield path


def template_links(template_dirs: Iterable[Path]) -> list[tuple[str, str, int]]:
    """(file name, template, line) of every literal ``url_for('static', filename=...)``."""
    found = []
    for path in template_files(template_dirs):
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in URL_FOR.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((m.group(3).lstrip("/"), display_path(path), line))
    return found


def url_targets(entry: Entry) -> set[str]:
    """The sources of a bundle entry that its CSS names by url() (digested copies)."""
    copies = {_HASH.sub("", a) for a in entry.assets or ()}
    return {s for s in entry.sources if f"{OUTPUT_DIR}/{s}" in copies}


def to_digest(
    spec: Spec, bundles: dict[str, Entry], url_files: Iterable[str], linked: Iterable[str] = ()
) -> dict[str, Path]:
    """Logical path -> file of every static file the build digests.

    Skipped: ``gen/``, dotfiles and dot-folders, what bundles compile (declared sources
    and every file a compile read, url() targets excepted) unless a template links it,
    names that are not plain (``a b.png``: they keep plain URLs), links out of the roots.
    """
    compiled = {f for n in spec.bundles for f in spec.files(n)}
    for entry in bundles.values():
        compiled |= set(entry.sources) - url_targets(entry)
    wanted = set(url_files)
    compiled -= wanted | set(linked)
    lp = spec.load_path
    out: dict[str, Path] = {}
    for root in lp.roots:
        real_root = os.path.realpath(root.folder) + os.sep
        base = str(root.folder).rstrip(os.sep) + os.sep
        for dirpath, dirnames, filenames in os.walk(root.folder):  # symlinked dirs: not entered
            top = dirpath == str(root.folder)
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and not (top and d == OUTPUT_DIR)
            )
            rel_dir = (dirpath + os.sep)[len(base) :].replace(os.sep, "/")
            for name in sorted(filenames):
                logical = root.prefix + rel_dir + name
                if name.startswith(".") or logical in out or logical in compiled:
                    continue
                if not plain_path(logical) or logical.startswith("dev/"):
                    continue  # gen/dev/ belongs to development servers
                if lp.root_of(logical)[0] is not root:
                    continue  # hidden by a blueprint's folder of that name
                path = os.path.join(dirpath, name)
                if os.path.islink(path) and not os.path.realpath(path).startswith(real_root):
                    continue
                if os.path.isfile(path):
                    out[logical] = Path(path)
    for logical in wanted - out.keys():
        found = lp.find(logical)
        if found is None or not plain_path(logical):
            raise BuildError(f"url() file '{logical}' cannot be digested (missing or unsafe name)")
        out[logical] = found
    return dict(sorted(out.items()))


def _stat(path: str | Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


class Digester:
    """Digests files into ``static/gen/``, remembering fingerprints in ``cache_dir``."""

    def __init__(
        self, static: Path, static_url: str, cache_dir: Path | None, compress: Compress
    ) -> None:
        self.static = static
        self.static_url = static_url.rstrip("/")
        self.compress = compress
        self.prints_path = cache_dir / FINGERPRINTS if cache_dir else None
        self.prints: dict[str, Any] = {}
        if self.prints_path is not None:
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(self.prints_path.read_bytes())
                self.prints = loaded if isinstance(loaded, dict) else {}
        self.started = time.time_ns()
        self.written: list[str] = []  # static-relative files written (for reports, tests)

    def digest_all(self, files: dict[str, Path]) -> dict[str, FileEntry]:
        loaded = dict(self.prints)
        out = {logical: self.digest(logical, src) for logical, src in files.items()}
        if self.prints_path is not None:
            keep = {str(p) for p in files.values()}
            prints = {k: v for k, v in self.prints.items() if k in keep}
            if prints != loaded:  # a cache that cannot be written only costs speed
                with contextlib.suppress(OSError):
                    data = json.dumps(prints, sort_keys=True).encode()
                    atomic_write(self.prints_path, data, durable=False)
        return out

    def digest(self, logical: str, src: Path, *, trust: bool = True) -> FileEntry:
        key = str(src)
        seen = _stat(src)
        if seen is None:
            raise BuildError("vanished during the build; run it again", file=display_path(src))
        rec = self.prints.get(key) if trust else None
        if isinstance(rec, dict) and rec.get("src") == seen:
            sha256, sri, size = rec["sha256"], rec["sri"], seen[0]
        else:
            rec = None
            with open(src, "rb") as fh:
                sha256, sri, size = stream_hashes(fh)
        rel = digest_path(logical, sha256)
        # Siblings count only for types that get them (one stat per file otherwise).
        outs = [rel, *(rel + s for s in SUFFIXES)] if compressible(logical) else [rel]
        stats = {r: _stat(f"{self.static}/{r}") for r in outs}
        if rec is None or rec.get("out") != stats:
            if not self._place(src, rel, sha256, size, logical):
                if rec is not None:  # the fingerprint was wrong: read the file after all
                    return self.digest(logical, src, trust=False)
                raise BuildError("changed during the build; run it again", file=display_path(src))
            stats = {r: _stat(f"{self.static}/{r}") for r in outs}
        else:
            return FileEntry(rel, f"{self.static_url}/{rel}", sri, size)  # nothing changed
        # Trust the stat later only if the source was not modified just before it was read
        # (a second edit within the timestamp granularity would not change it).
        if seen[1] < self.started - RACY_NS and _stat(src) == seen:
            self.prints[key] = {"src": seen, "sha256": sha256, "sri": sri, "out": stats}
        else:
            self.prints.pop(key, None)
        return FileEntry(rel, f"{self.static_url}/{rel}", sri, size)

    def _place(self, src: Path, rel: str, sha256: str, size: int, logical: str) -> bool:
        """Make ``rel`` hold the source's bytes (named by ``sha256``), and its siblings;
        False when the source no longer hashes to ``sha256``."""
        dest = self.static / rel
        there = _stat(dest)
        if there is None or there[0] != size or not _holds(dest, sha256):
            if not atomic_copy(src, dest, sha256):
                return False
            self.written.append(rel)
        if compressible(logical) and size <= MAX_COMPRESS:
            data = dest.read_bytes()
            write_output(dest, data, variants(dest, data, self.compress))
        return True


def _holds(path: Path, sha256: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return stream_hashes(fh)[0] == sha256
    except OSError:
        return False
