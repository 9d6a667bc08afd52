"""Storage fixtures: one moto S3 server per test session, reached over real HTTP on 127.0.0.1, and
a `store` fixture that runs each contract test on the local and the S3 backend."""
from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from storage import LocalStorage, S3Storage, Storage
from storage.s3 import client_config

PART_SIZE = 5 * 1024 * 1024  # the S3 minimum, so a 12 MiB upload takes three parts


@pytest.fixture
def s3_client(s3_endpoint: str) -> Any:
    """A plain boto3 client on the moto server, for looking behind the store's back."""
    return boto3.session.Session().client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                                         config=client_config())


@pytest.fixture
def s3_store(s3_endpoint: str) -> S3Storage:
    """An S3Storage on a fresh bucket of its own, with 5 MiB parts so multipart is exercised."""
    store = S3Storage(f"test-{uuid.uuid4().hex}", endpoint_url=s3_endpoint, part_size=PART_SIZE)
    store.ensure_bucket()
    return store


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "blobs")


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> Storage:
    """Each backend in turn; contract tests take this one."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once to find it, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
