"""Fixtures of the injected-fault tests: the S3 server behind a proxy that a test can cut, stall or
slow down, and an application configured to reach its store through that proxy."""
from __future__ import annotations

import uuid
from typing import Any, Iterator
from urllib.parse import urlsplit

import boto3
import pytest

from tests.faults.proxy import FaultProxy


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's moto S3 server."""
    parts = urlsplit(s3_endpoint)
    fault_proxy = FaultProxy((parts.hostname or "127.0.0.1", int(parts.port or 80)))
    yield fault_proxy
    fault_proxy.close()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    name = f"kho-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_direct(s3_endpoint: str) -> Any:
    """A plain boto3 client on the S3 server itself, to look behind the application's back."""
    return boto3.client("s3", endpoint_url=s3_endpoint)


@pytest.fixture
def s3_config(proxy: FaultProxy, bucket: str) -> dict[str, Any]:
    """Configuration of an application whose object store is the S3 server, through the proxy."""
    return {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": proxy.url, "S3_BUCKET": bucket}
