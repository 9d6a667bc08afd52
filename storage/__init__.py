"""The blob store: where the bytes of uploaded learning materials (and derived files such as
thumbnails) live, behind one small interface with a local-filesystem backend (the embedded default)
and an S3 backend (MinIO, Ceph RGW, AWS). This package owns object keys, atomic streamed writes,
download URLs and their Content-Disposition; file names, content types and every other metadata
belong to the database. Only this package should import boto3.
"""
from storage.base import (
    MAX_URL_EXPIRES,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageError,
    Unfinished,
)
from storage.disposition import content_disposition, inline_allowed, safe_content_type
from storage.factory import create_storage
from storage.keys import is_valid_key, new_key
from storage.local import LocalStorage
from storage.s3 import S3Storage

__all__ = [
    "MAX_URL_EXPIRES",
    "LocalStorage",
    "ObjectInfo",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageError",
    "Unfinished",
    "content_disposition",
    "create_storage",
    "inline_allowed",
    "is_valid_key",
    "new_key",
    "safe_content_type",
]
