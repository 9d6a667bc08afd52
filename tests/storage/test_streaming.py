"""Streaming uploads: parts leave while the file is still being written; nothing appears until
complete(); abort() leaves neither an object nor an unfinished multipart upload."""
from __future__ import annotations

import hashlib
import os
import socket
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest

from storage import LocalStorage, S3Storage, StorageError, new_key
from storage.factory import create_storage
from storage.streaming import crc32_header
from tests.storage.conftest import PART_SIZE


def _grow(path: Path, upload: Any, chunks: list[bytes]) -> None:
    """Write like the request spooler does: append, flush, hand the block to the streamer."""
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            out.flush()
            upload.written(chunk)


def _pending(client: Any, bucket: str) -> list[Any]:
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def test_parts_leave_before_the_end_and_the_object_appears_only_on_complete(
        s3_store: S3Storage, s3_client: Any, tmp_path: Path) -> None:
    data = os.urandom(PART_SIZE * 2 + 123_456)
    path, key = tmp_path / "spool", new_key("materials")
    upload = s3_store.stream(key, path)
    _grow(path, upload, [data[i:i + 1_000_000] for i in range(0, len(data), 1_000_000)])
    (pending,) = _pending(s3_client, s3_store.bucket)
    upload._parts[-1][2].result()  # let the last full part finish before looking
    sent = s3_client.list_parts(Bucket=s3_store.bucket, Key=key, UploadId=pending["UploadId"])["Parts"]
    assert len(sent) == 2 and not s3_store.exists(key)
    assert upload.complete(len(data)) == len(data)
    with s3_store.open(key) as stored:
        assert hashlib.sha256(stored.read()).digest() == hashlib.sha256(data).digest()
    assert _pending(s3_client, s3_store.bucket) == []


def test_abort_leaves_no_object_and_no_unfinished_upload(s3_store: S3Storage, s3_client: Any, tmp_path: Path) -> None:
    path, key = tmp_path / "spool", new_key("materials")
    upload = s3_store.stream(key, path)
    _grow(path, upload, [os.urandom(PART_SIZE)] * 2)
    upload.abort()
    upload.abort()  # twice is fine (the request closing its files aborts again)
    assert not s3_store.exists(key)
    assert _pending(s3_client, s3_store.bucket) == []


def test_a_file_smaller_than_a_part_is_one_put(s3_store: S3Storage, s3_client: Any, tmp_path: Path) -> None:
    path, key = tmp_path / "spool", new_key("materials")
    upload = s3_store.stream(key, path)
    _grow(path, upload, [b"%PDF-1.4 nho"])
    assert _pending(s3_client, s3_store.bucket) == []
    assert upload.complete(path.stat().st_size) == 12 and s3_store.size(key) == 12


def test_an_unreachable_store_fails_with_a_storage_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = S3Storage("kho", endpoint_url=f"http://127.0.0.1:{port}", access_key="x", secret_key="x",
                      part_size=PART_SIZE)
    path = tmp_path / "spool"
    upload = store.stream(new_key("materials"), path)
    with pytest.raises(StorageError):
        _grow(path, upload, [os.urandom(PART_SIZE + 1)])
    upload.abort()


def test_the_local_folder_does_not_stream(tmp_path: Path) -> None:
    assert LocalStorage(tmp_path).stream(new_key("materials"), tmp_path / "spool") is None


def _checksum(client: Any, bucket: str, key: str) -> Any:
    return client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED").get("ChecksumCRC32")


def test_parts_carry_their_crc32_and_the_object_a_composite_checksum(
        s3_store: S3Storage, s3_client: Any, tmp_path: Path) -> None:
    data = os.urandom(PART_SIZE * 2 + 777)
    path, key = tmp_path / "spool", new_key("materials")
    upload = s3_store.stream(key, path)
    # blocks that straddle the part boundaries: each part's CRC32 must cover exactly its bytes
    _grow(path, upload, [data[i:i + 3_000_001] for i in range(0, len(data), 3_000_001)])
    upload.complete(len(data))
    parts = [data[:PART_SIZE], data[PART_SIZE:2 * PART_SIZE], data[2 * PART_SIZE:]]
    expected = [crc32_header(zlib.crc32(part)) for part in parts]
    assert [crc for _n, crc, _f in upload._parts] == expected
    # S3's composite checksum: the CRC32 of the parts' CRC32s (AWS appends "-3"; moto does not)
    composite = crc32_header(zlib.crc32(b"".join(zlib.crc32(part).to_bytes(4, "big") for part in parts)))
    assert _checksum(s3_client, s3_store.bucket, key).removesuffix("-3") == composite


def test_a_small_file_is_put_with_its_crc32(s3_store: S3Storage, s3_client: Any, tmp_path: Path) -> None:
    path, key = tmp_path / "spool", new_key("materials")
    upload = s3_store.stream(key, path)
    _grow(path, upload, [b"%PDF-1.4 ", b"nho"])
    upload.complete(12)
    assert _checksum(s3_client, s3_store.bucket, key) == crc32_header(zlib.crc32(b"%PDF-1.4 nho"))


def test_checksums_can_be_turned_off(s3_endpoint: str, s3_client: Any, tmp_path: Path) -> None:
    store = create_storage({"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_endpoint,
                            "S3_BUCKET": f"test-{uuid.uuid4().hex}", "S3_UPLOAD_CHECKSUMS": False})
    assert isinstance(store, S3Storage) and store.upload_checksums is False
    store.ensure_bucket()
    path, key = tmp_path / "spool", new_key("materials")
    upload = store.stream(key, path)
    _grow(path, upload, [os.urandom(1000)])
    upload.complete(1000)
    assert _checksum(s3_client, store.bucket, key) is None
    on = create_storage({"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": "x"})
    assert isinstance(on, S3Storage) and on.upload_checksums is True


def test_complete_with_a_size_other_than_reported_aborts(s3_store: S3Storage, s3_client: Any,
                                                         tmp_path: Path) -> None:
    path, key = tmp_path / "spool", new_key("materials")
    upload = s3_store.stream(key, path)
    _grow(path, upload, [os.urandom(PART_SIZE + 10)])
    with pytest.raises(ValueError):
        upload.complete(PART_SIZE + 11)
    assert not s3_store.exists(key) and _pending(s3_client, s3_store.bucket) == []
