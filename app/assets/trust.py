"""Seals: proof that this machine compiled a build record's output from its sources.

``check`` must not trust the build cache: a cache restored from shared CI storage can
hold anything, checksums included. But a record this machine wrote right after
compiling a bundle from its sources alone (no cache entry read) can be trusted, if
nobody else could have written it. So such records are sealed with an HMAC whose key
lives outside the project and its cache, in the user's state folder
(``$XDG_STATE_HOME``, else ``~/.local/state``), created on first use, readable by its
owner only. A record from anywhere else fails its seal, and ``check`` recompiles that
bundle. No key (an unwritable home): nothing is sealed, ``check`` recompiles everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

KEY_FILE = Path("flask-asset-pipeline") / "seal.key"
_KEY_BYTES = 32
_cached: dict[Path, bytes | None] = {}


def key_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state) / KEY_FILE


def local_key() -> bytes | None:
    """This user's sealing key, made on first use; None when it cannot be kept safely."""
    path = key_path()
    if path not in _cached:
        _cached[path] = _read(path) or _create(path)
    return _cached[path]


def _read(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        # Someone else's key, or one others can read or write, proves nothing.
        if st.st_uid != os.getuid() or st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            return None
        key = fh.read(_KEY_BYTES + 1)
    return key if len(key) == _KEY_BYTES else None


def _create(path: Path) -> bytes | None:
    key = secrets.token_bytes(_KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        os.link(tmp, path)  # fails if another process made one first: then use theirs
    except FileExistsError:
        return _read(path)
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return key


def seal(payload: bytes) -> str | None:
    key = local_key()
    return None if key is None else hmac.new(key, payload, hashlib.sha256).hexdigest()


def sealed(payload: bytes, mac: str | None) -> bool:
    """Whether ``mac`` is this user's seal of ``payload``."""
    expected = seal(payload)
    return bool(mac) and expected is not None and hmac.compare_digest(expected, str(mac))
