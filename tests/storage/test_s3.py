"""S3-only behaviour: presigned URLs, error translation, multipart clean-up, and the factory."""
from __future__ import annotations

import io
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    StorageError,
    create_storage,
)
from storage.base import REFUSED, UNAVAILABLE
from tests.storage.conftest import PART_SIZE
from tests.storage.streams import GeneratedStream, MiB, SourceBroke, pattern

KEY = "materials/2025/09/0123456789abcdef0123456789abcdef"
LESSON = "Bài giảng Toán 6 – Phương trình.pptx"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def filename_star(disposition: str) -> str:
    value = disposition.split("filename*=", 1)[1]
    assert value.startswith("UTF-8''")
    return unquote(value[len("UTF-8''"):])


def test_presigned_url_is_signed_for_the_public_endpoint(s3_endpoint: str) -> None:
    store = S3Storage("materials-bucket", endpoint_url=s3_endpoint,
                      public_endpoint_url="https://files.so-gddt.example.vn:8443")
    url = store.download_url(KEY, filename=LESSON, content_type=PPTX, expires=7 * 24 * 3600)
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("https", "files.so-gddt.example.vn", 8443)
    assert parts.path == f"/materials-bucket/{KEY}"  # path-style addressing
    query = query_of(url)
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert int(query["X-Amz-Expires"]) == 3600  # capped
    assert query["response-content-type"] == PPTX
    disposition = query["response-content-disposition"]
    assert disposition.startswith("attachment; filename=\"Bai giang Toan 6 - Phuong trinh.pptx\"")
    assert filename_star(disposition) == LESSON


def test_presigned_url_defaults_and_inline_rules(s3_store: S3Storage) -> None:
    url = s3_store.download_url(KEY, filename="clip.mp4", content_type="video/mp4", inline=True)
    assert url is not None
    query = query_of(url)
    assert int(query["X-Amz-Expires"]) == 900
    assert query["response-content-disposition"].startswith("inline;")
    # A page or script is never shown inline and never served under its own type.
    url = s3_store.download_url(KEY, filename="trang.html", content_type="text/html", inline=True)
    assert url is not None
    query = query_of(url)
    assert query["response-content-disposition"].startswith("attachment;")
    assert query["response-content-type"] == "application/octet-stream"


def test_presigned_url_downloads_the_bytes(s3_endpoint: str, s3_store: S3Storage) -> None:
    # Signed for "localhost" while the app talks to 127.0.0.1: the public host is what is signed,
    # and the same moto server answers on both.
    port = urlsplit(s3_endpoint).port
    browser_store = S3Storage(s3_store.bucket, endpoint_url=s3_endpoint,
                              public_endpoint_url=f"http://localhost:{port}")
    data = b"".join(pattern(300_000))
    s3_store.put(KEY, io.BytesIO(data), content_type=PPTX)
    url = browser_store.download_url(KEY, filename=LESSON, content_type=PPTX)
    assert url is not None and urlsplit(url).hostname == "localhost"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.read() == data
    # moto ignores the response-content-* overrides, so those headers are not asserted here.


def test_stored_content_type_is_the_safe_one(s3_store: S3Storage, s3_client: Any) -> None:
    s3_store.put(KEY, io.BytesIO(b"<script>alert(1)</script>"), content_type="text/html")
    assert s3_client.head_object(Bucket=s3_store.bucket, Key=KEY)["ContentType"] == "application/octet-stream"
    s3_store.put(KEY, io.BytesIO(b"\x00\x00\x00 ftypisom"), content_type="video/mp4")
    assert s3_client.head_object(Bucket=s3_store.bucket, Key=KEY)["ContentType"] == "video/mp4"


def test_short_reads_still_make_full_parts(s3_store: S3Storage, s3_client: Any) -> None:
    size = 12 * MiB
    source = GeneratedStream(pattern(size), max_return=64 * 1024)
    assert s3_store.put(KEY, source) == size
    # Three parts (5 + 5 + 2 MiB): S3 rejects non-final parts under 5 MiB (EntityTooSmall).
    assert s3_client.head_object(Bucket=s3_store.bucket, Key=KEY)["ETag"].strip('"').endswith("-3")
    assert source.largest_request <= PART_SIZE


def test_failed_multipart_upload_is_aborted(s3_store: S3Storage, s3_client: Any) -> None:
    calls: list[str] = []
    # Reaches into the store's client only to watch which S3 operations run.
    s3_store._client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    with pytest.raises(SourceBroke):
        s3_store.put(KEY, GeneratedStream(pattern(12 * MiB), fail_after=11 * MiB, stall=0.3))
    assert calls[0] == "CreateMultipartUpload" and "UploadPart" in calls
    assert calls[-1] == "AbortMultipartUpload" and "CompleteMultipartUpload" not in calls
    assert not s3_client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads")
    assert "Contents" not in s3_client.list_objects_v2(Bucket=s3_store.bucket)


def test_unreachable_store_raises_storage_error_quickly(closed_port: int) -> None:
    store = S3Storage("materials-bucket", endpoint_url=f"http://127.0.0.1:{closed_port}")
    operations = {
        "put": lambda: store.put(KEY, io.BytesIO(b"data")),
        "open": lambda: store.open(KEY),
        "exists": lambda: store.exists(KEY),
        "size": lambda: store.size(KEY),
        "delete": lambda: store.delete(KEY),
        "list": lambda: list(store.list()),
        "check": store.check,
    }
    for name, operation in operations.items():
        started = time.monotonic()
        with pytest.raises(StorageError) as caught:
            operation()
        assert time.monotonic() - started < 5, name
        assert type(caught.value) is StorageError, name  # not ObjectNotFound, not botocore's
        assert str(caught.value) == UNAVAILABLE == "Kho lưu trữ tệp không phản hồi. Vui lòng thử lại sau."
        assert str(closed_port) not in str(caught.value)
        assert caught.value.__cause__ is not None  # the technical reason stays for the log


def test_missing_bucket_is_a_storage_error_not_a_missing_object(s3_endpoint: str) -> None:
    store = S3Storage(f"missing-{uuid.uuid4().hex}", endpoint_url=s3_endpoint)
    for operation in (lambda: store.put(KEY, io.BytesIO(b"x")), lambda: store.open(KEY),
                      lambda: list(store.list()), store.check, lambda: store.delete(KEY)):
        with pytest.raises(StorageError) as caught:
            operation()
        assert not isinstance(caught.value, ObjectNotFound)
        assert str(caught.value) == REFUSED


def test_ensure_bucket_is_idempotent(s3_store: S3Storage) -> None:
    s3_store.ensure_bucket()
    s3_store.check()


def test_s3_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        S3Storage("materials-bucket", addressing_style="sideways")
    with pytest.raises(ValueError):
        S3Storage("materials-bucket", part_size=MiB)


def test_factory_builds_local_storage(tmp_path: Path) -> None:
    store = create_storage({"STORAGE_DIR": str(tmp_path / "blobs")})
    assert isinstance(store, LocalStorage) and store.root == tmp_path / "blobs"
    assert isinstance(create_storage({"STORAGE_BACKEND": "local", "STORAGE_DIR": tmp_path}), LocalStorage)


def test_factory_builds_a_working_s3_storage(s3_endpoint: str) -> None:
    config = {"STORAGE_BACKEND": "S3", "S3_BUCKET": f"test-{uuid.uuid4().hex}", "S3_ENDPOINT_URL": s3_endpoint,
              "S3_PUBLIC_ENDPOINT_URL": "https://files.example.vn", "S3_REGION": "", "S3_ADDRESSING_STYLE": "path",
              "AWS_ACCESS_KEY_ID": "AKIDFROMCONFIG", "AWS_SECRET_ACCESS_KEY": "secret-from-config"}
    store = create_storage(config)
    assert isinstance(store, S3Storage)
    store.ensure_bucket()
    store.put(KEY, io.BytesIO(b"round trip"))
    with store.open(KEY) as stream:
        assert stream.read() == b"round trip"
    url = store.download_url(KEY, filename="a.pdf", content_type="application/pdf")
    assert url is not None and urlsplit(url).hostname == "files.example.vn"
    assert query_of(url)["X-Amz-Credential"].startswith("AKIDFROMCONFIG/")
    assert "/us-east-1/s3/" in query_of(url)["X-Amz-Credential"]


def test_factory_falls_back_to_environment_keys(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
    store = create_storage({"STORAGE_BACKEND": "s3", "S3_BUCKET": "materials-bucket",
                            "S3_ENDPOINT_URL": s3_endpoint, "S3_REGION": "ap-southeast-1"})
    url = store.download_url(KEY, filename="a.pdf", content_type="application/pdf")
    assert url is not None
    assert query_of(url)["X-Amz-Credential"].startswith("AKIDFROMENV/")
    assert "/ap-southeast-1/s3/" in query_of(url)["X-Amz-Credential"]


@pytest.mark.parametrize("config, setting", [
    ({"STORAGE_BACKEND": "gcs"}, "STORAGE_BACKEND"),
    ({"STORAGE_BACKEND": "local"}, "STORAGE_DIR"),
    ({"STORAGE_BACKEND": "s3", "S3_BUCKET": ""}, "S3_BUCKET"),
    ({"STORAGE_BACKEND": "s3", "S3_BUCKET": "b-1", "S3_ADDRESSING_STYLE": "dns"}, "S3_ADDRESSING_STYLE"),
])
def test_factory_rejects_bad_settings(config: dict[str, Any], setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        create_storage(config)


def test_s3_has_no_local_path(s3_store: S3Storage) -> None:
    s3_store.put(KEY, io.BytesIO(b"remote"))
    assert s3_store.local_path(KEY) is None


def test_payload_signing_is_off_by_default_and_can_be_turned_on(s3_endpoint: str) -> None:
    """Off: parts go as UNSIGNED-PAYLOAD (integrity from the app's own SHA-256); on by setting."""
    from storage import create_storage

    base = {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ENDPOINT_URL": s3_endpoint}
    assert create_storage(base)._client.meta.config.s3["payload_signing_enabled"] is False
    signing = create_storage({**base, "S3_PAYLOAD_SIGNING": "1"})
    assert signing._client.meta.config.s3["payload_signing_enabled"] is True
