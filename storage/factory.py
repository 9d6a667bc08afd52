"""Build the configured Storage from the app config (deployment settings, see the README table).

STORAGE_BACKEND: "local" (default) or "s3"; the value is case-insensitive.
- local: STORAGE_DIR (required).
- s3: S3_BUCKET (required), S3_ENDPOINT_URL (empty = AWS), S3_PUBLIC_ENDPOINT_URL (the address
  browsers reach for presigned downloads; defaults to S3_ENDPOINT_URL), S3_REGION ("us-east-1"),
  S3_ADDRESSING_STYLE ("path" | "virtual" | "auto"), S3_PAYLOAD_SIGNING (off), S3_UPLOAD_CHECKSUMS
  (on: streamed uploads declare CRC32 checksums), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
  (from the config, else from the environment, else boto3's own credential chain).
Empty strings count as unset. A bad value raises ValueError naming the setting.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from storage.base import Storage
from storage.local import LocalStorage
from storage.s3 import ADDRESSING_STYLES, S3Storage

BACKENDS = ("local", "s3")


def create_storage(config: Mapping[str, Any]) -> Storage:
    """The Storage that `config` describes (not checked for reachability: call `check()`)."""
    backend = (_setting(config, "STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return LocalStorage(_required(config, "STORAGE_DIR"))
    if backend == "s3":
        return _s3(config)
    raise ValueError(f"STORAGE_BACKEND must be one of {', '.join(BACKENDS)}; got {backend!r}")


def _s3(config: Mapping[str, Any]) -> S3Storage:
    style = (_setting(config, "S3_ADDRESSING_STYLE") or "path").lower()
    if style not in ADDRESSING_STYLES:
        raise ValueError(f"S3_ADDRESSING_STYLE must be one of {', '.join(ADDRESSING_STYLES)}; got {style!r}")
    return S3Storage(
        _required(config, "S3_BUCKET"),
        endpoint_url=_setting(config, "S3_ENDPOINT_URL"),
        public_endpoint_url=_setting(config, "S3_PUBLIC_ENDPOINT_URL"),
        region=_setting(config, "S3_REGION") or "us-east-1",
        addressing_style=style,
        access_key=_setting(config, "AWS_ACCESS_KEY_ID") or os.environ.get("AWS_ACCESS_KEY_ID") or None,
        secret_key=_setting(config, "AWS_SECRET_ACCESS_KEY") or os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
        payload_signing=_flag(config, "S3_PAYLOAD_SIGNING", False),
        upload_checksums=_flag(config, "S3_UPLOAD_CHECKSUMS", True),
    )


def _flag(config: Mapping[str, Any], name: str, default: bool) -> bool:
    value = _setting(config, name)
    return default if value is None else value.lower() in ("1", "true", "yes", "on")


def _setting(config: Mapping[str, Any], name: str) -> str | None:
    value = config.get(name)
    text = str(value).strip() if value is not None else ""
    return text or None


def _required(config: Mapping[str, Any], name: str) -> str:
    value = _setting(config, name)
    if value is None:
        raise ValueError(f"{name} must be set for STORAGE_BACKEND={config.get('STORAGE_BACKEND') or 'local'}")
    return value
