"""S3-compatible storage: the target, the client and the calls publish makes.

boto3 is an optional dependency (``pip install -e ".[s3]"``), imported only when used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from .declare import OUTPUT_DIR
from .errors import AssetError

DEFAULT_PREFIX = "static/"


class PublishError(AssetError):
    """Publishing to, or cleaning, the bucket failed: the message names the file or key."""


@dataclass(frozen=True)
class Target:
    """Where builds go: ``s3://bucket/prefix``, on AWS or an S3-compatible store."""

    bucket: str
    prefix: str = DEFAULT_PREFIX
    endpoint_url: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Target:
        """From ``ASSETS_S3_*``; credentials come from boto3's usual chain, never from here."""
        bucket = config.get("ASSETS_S3_BUCKET")
        if not bucket:
            raise PublishError(
                "ASSETS_S3_BUCKET is not set: set it, e.g. FLASK_ASSETS_S3_BUCKET=my-bucket"
            )
        prefix = config.get("ASSETS_S3_PREFIX")
        return cls(
            bucket=str(bucket),
            prefix=normalize_prefix(DEFAULT_PREFIX if prefix is None else str(prefix)),
            endpoint_url=config.get("ASSETS_S3_ENDPOINT_URL") or None,
        )

    def key(self, rel: str) -> str:
        return self.prefix + rel

    def url(self, rel: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{rel}"


def normalize_prefix(prefix: str) -> str:
    """``"/static"`` -> ``"static/"``; empty stays empty (keys at the bucket's root)."""
    prefix = prefix.strip("/")
    return prefix + "/" if prefix else ""


def make_client(endpoint_url: str | None = None) -> Any:
    """A boto3 S3 client; a one-line error saying how to install boto3 when it is missing."""
    try:
        import boto3
    except ImportError:
        raise PublishError('boto3 is not installed: run pip install -e ".[s3]"') from None
    return boto3.client("s3", endpoint_url=endpoint_url)


def s3_errors() -> tuple[type[BaseException], ...]:
    # Imported late: boto3 (and so botocore) is optional.
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, OSError)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def list_keys(
    client: Any, target: Target, errors: tuple[type[BaseException], ...]
) -> dict[str, int]:
    """Key -> size of every object under ``<prefix>gen/``: one paginated listing."""
    out = {}
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=target.bucket, Prefix=target.key(f"{OUTPUT_DIR}/")
        )
        for page in pages:
            out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    except errors as exc:
        raise PublishError(f"cannot list the bucket: {one_line(exc)}", file=target.url()) from None
    return out


def get(
    client: Any, target: Target, rel: str, errors: tuple[type[BaseException], ...]
) -> bytes | None:
    """An object's bytes, or None when the key does not exist."""
    try:
        return client.get_object(Bucket=target.bucket, Key=target.key(rel))["Body"].read()
    except errors as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404"):
            return None
        raise PublishError(f"cannot read: {one_line(exc)}", file=target.url(rel)) from None


def put(
    client: Any,
    target: Target,
    rel: str,
    data: bytes | BinaryIO,
    ctype: str,
    cache_control: str,
    extra: dict[str, str],
    errors: tuple[type[BaseException], ...],
) -> None:
    try:
        client.put_object(
            Bucket=target.bucket,
            Key=target.key(rel),
            Body=data,
            ContentType=ctype,
            CacheControl=cache_control,
            **extra,
        )
    except errors as exc:
        raise PublishError(
            f"upload failed ({one_line(exc)}); rerun `flask --app app assets publish` to "
            "finish: the bucket's manifest still names the previous build",
            file=target.url(rel),
        ) from None
