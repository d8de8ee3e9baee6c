"""Reading the manifest from a URL: app servers that have no build on disk."""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

from . import manifest as manifest_mod
from .errors import ManifestError
from .manifest import Manifest
from .s3 import PublishError, make_client, one_line, s3_errors

FETCH_TIMEOUT = 10.0


def fetch_manifest(url: str, *, endpoint_url: str | None = None) -> Manifest:
    """The manifest at ``url`` (``http(s)://...`` or ``s3://bucket/key``), for app servers
    that have no build on disk; any failure is one :class:`ManifestError` naming the URL."""
    parts = urlsplit(url)
    fix = "check ASSETS_MANIFEST_URL, or run `flask --app app assets publish`"
    try:
        if parts.scheme in ("http", "https"):
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as resp:
                data = resp.read()
        elif parts.scheme == "s3" and parts.netloc and parts.path.strip("/"):
            client = make_client(endpoint_url)
            try:
                obj = client.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
                data = obj["Body"].read()
            except s3_errors() as exc:
                raise ManifestError(
                    f"cannot fetch manifest ({one_line(exc)}); {fix}", file=url
                ) from None
        else:
            raise ManifestError(
                "ASSETS_MANIFEST_URL must be an http(s):// URL or s3://bucket/key", file=url
            )
    except PublishError as exc:  # boto3 missing
        raise ManifestError(exc.message, file=url) from None
    except OSError as exc:  # urllib's URLError and HTTPError, timeouts
        raise ManifestError(f"cannot fetch manifest ({one_line(exc)}); {fix}", file=url) from None
    return manifest_mod.parse(data, url)
