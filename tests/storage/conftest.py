"""Storage fixtures: one moto S3 server per test session, reached over real HTTP on 127.0.0.1, and
a `store` fixture that runs each contract test on the local and the S3 backend."""
from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from storage import LocalStorage, S3Storage, Storage
from storage.s3 import client_config

PART_SIZE = 5 * 1024 * 1024  # the S3 minimum, so a 12 MiB upload takes three parts
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Keep the machine's own AWS set-up and proxies out of the tests.
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server running in this process for the whole session."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_ENV.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            patch.delenv(name, raising=False)
        werkzeug_log = logging.getLogger("werkzeug")
        level = werkzeug_log.level
        werkzeug_log.setLevel(logging.WARNING)  # one access-log line per request otherwise
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()
            werkzeug_log.setLevel(level)


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
