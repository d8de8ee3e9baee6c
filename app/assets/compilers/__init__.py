"""Compilers: one module per engine, each exposing ``compiler() -> Compiler``.

A :class:`Compiler` turns one source file into CSS and says exactly what it depended
on: every file it read, and every folder whose listing decided how an import resolved
(a file created there later may change the result). Found through ``engines.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..load_path import LoadPath


@dataclass(frozen=True)
class CompileResult:
    text: str
    files_read: tuple[str, ...]  # absolute paths, the entry point included
    # Folders whose listing decided import resolution (negative lookups included).
    lookup_dirs: tuple[str, ...] = ()
    # Warnings (deprecations) as one line each, ``file:line: message``; never fatal.
    warnings: tuple[str, ...] = ()


class Compiler(Protocol):
    suffixes: tuple[str, ...]  # the source files it compiles; others pass through

    def compile(self, path: Path, load_path: LoadPath, *, dev: bool) -> CompileResult:
        """Compile ``path``; raises BuildError with the file and line of the problem."""
        ...

    def close(self) -> None:
        """Release what the compiler holds (a long-lived process, for instance)."""
        ...
