"""The storage contract, run on every backend (local folder and S3 over HTTP to moto)."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

import pytest

from storage import ObjectInfo, ObjectNotFound, S3Storage, Storage
from tests.storage.streams import (
    GeneratedStream,
    MiB,
    RecordingReader,
    SourceBroke,
    pattern,
    pattern_sha256,
    stream_sha256,
)

KEY = "materials/2025/09/0123456789abcdef0123456789abcdef"


def read_all(store: Storage, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def no_unfinished_uploads(store: Storage, s3_client: Any | None) -> bool:
    if not isinstance(store, S3Storage):
        return True
    return not s3_client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")


@pytest.fixture
def raw_s3(request: pytest.FixtureRequest, store: Storage) -> Any | None:
    """A plain boto3 client when the store is S3 (to look for unfinished multipart uploads)."""
    return request.getfixturevalue("s3_client") if isinstance(store, S3Storage) else None


def test_put_then_open_round_trips_bytes(store: Storage) -> None:
    data = bytes(range(256)) * 40 + b"\x00\r\n tail"
    assert store.put(KEY, io.BytesIO(data), content_type="application/pdf") == len(data)
    assert read_all(store, KEY) == data


def test_open_gives_a_closeable_stream_read_in_pieces(store: Storage) -> None:
    store.put(KEY, io.BytesIO(b"abcdefghij"))
    stream = store.open(KEY)
    assert stream.read(4) == b"abcd"
    assert stream.read(4) == b"efgh"
    assert stream.read() == b"ij"
    stream.close()
    assert stream.closed


def test_empty_object(store: Storage) -> None:
    assert store.put(KEY, io.BytesIO(b"")) == 0
    assert store.exists(KEY) and store.size(KEY) == 0 and read_all(store, KEY) == b""


def test_size_and_exists(store: Storage) -> None:
    assert not store.exists(KEY)
    store.put(KEY, io.BytesIO(b"x" * 1234))
    assert store.exists(KEY)
    assert store.size(KEY) == 1234


def test_put_leaves_the_callers_stream_open(store: Storage) -> None:
    source = io.BytesIO(b"still mine")
    store.put(KEY, source)
    assert not source.closed


def test_list_by_prefix_in_key_order(store: Storage) -> None:
    keys = ["materials/2025/01/aaa", "materials/2025/02/bbb", "thumbs/2025/01/aaa", "materials-old/x"]
    for index, key in enumerate(keys):
        store.put(key, io.BytesIO(b"y" * (index + 1)))
    before = datetime.now(timezone.utc) - timedelta(minutes=5)

    listed = list(store.list("materials/"))
    assert [info.key for info in listed] == ["materials/2025/01/aaa", "materials/2025/02/bbb"]
    assert [info.size for info in listed] == [1, 2]
    for info in listed:
        assert isinstance(info, ObjectInfo)
        assert info.modified.utcoffset() == timedelta(0) and info.modified > before
    assert [i.key for i in store.list("materials/2025/01/")] == ["materials/2025/01/aaa"]
    assert [i.key for i in store.list("thumbs/")] == ["thumbs/2025/01/aaa"]
    assert [i.key for i in store.list("materials")] == ["materials-old/x", "materials/2025/01/aaa",
                                                        "materials/2025/02/bbb"]
    assert [i.key for i in store.list()] == sorted(keys)
    assert list(store.list("nothing/")) == []


def test_overwrite_replaces_the_object(store: Storage) -> None:
    store.put(KEY, io.BytesIO(b"old contents, longer"))
    store.put(KEY, io.BytesIO(b"new"))
    assert read_all(store, KEY) == b"new"
    assert store.size(KEY) == 3
    assert [i.key for i in store.list()] == [KEY]


def test_delete_then_gone(store: Storage) -> None:
    store.put(KEY, io.BytesIO(b"bye"))
    store.delete(KEY)
    assert not store.exists(KEY)
    with pytest.raises(ObjectNotFound):
        store.open(KEY)
    assert list(store.list()) == []


def test_missing_objects(store: Storage) -> None:
    store.delete(KEY)  # deleting what is not there is fine
    assert not store.exists(KEY)
    with pytest.raises(ObjectNotFound):
        store.size(KEY)
    with pytest.raises(ObjectNotFound):
        store.open(KEY)


def test_a_prefix_is_not_an_object(store: Storage) -> None:
    store.put("materials/2025/01/aaa", io.BytesIO(b"z"))
    assert not store.exists("materials/2025")
    with pytest.raises(ObjectNotFound):
        store.open("materials/2025")


SOURCES: dict[str, Callable[[int], BinaryIO]] = {
    "seekable": lambda size: io.BytesIO(b"".join(pattern(size))),
    "generator": lambda size: GeneratedStream(pattern(size)),  # type: ignore[dict-item]
    "short-reads": lambda size: GeneratedStream(pattern(size), max_return=64 * 1024),  # type: ignore[dict-item]
}


@pytest.mark.parametrize("source", SOURCES)
def test_large_upload_round_trips_byte_exactly(store: Storage, source: str) -> None:
    size = 12 * MiB + 123  # over two 5 MiB parts and a short last one on S3
    assert store.put(KEY, SOURCES[source](size), content_type="video/mp4") == size
    assert store.size(KEY) == size
    with store.open(KEY) as stream:
        assert stream_sha256(stream) == (pattern_sha256(size), size)


@pytest.mark.parametrize("fail_after", [1 * MiB, 11 * MiB], ids=["within-first-part", "after-two-parts"])
def test_a_stream_failing_midway_leaves_no_object(store: Storage, raw_s3: Any | None, fail_after: int) -> None:
    # The stall lets parts already read reach the server before the failure (S3: upload, then abort).
    with pytest.raises(SourceBroke):
        store.put(KEY, GeneratedStream(pattern(12 * MiB), fail_after=fail_after, stall=0.3))
    assert not store.exists(KEY)
    assert list(store.list()) == []
    assert no_unfinished_uploads(store, raw_s3)


def test_a_failed_overwrite_keeps_the_old_object(store: Storage, raw_s3: Any | None) -> None:
    store.put(KEY, io.BytesIO(b"the approved version"))
    with pytest.raises(SourceBroke):
        store.put(KEY, GeneratedStream(pattern(7 * MiB), fail_after=6 * MiB))
    assert read_all(store, KEY) == b"the approved version"
    assert no_unfinished_uploads(store, raw_s3)


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "non-seekable"])
def test_put_reads_the_stream_in_bounded_chunks(store: Storage, seekable: bool) -> None:
    size = 24 * MiB
    source: Any = (RecordingReader(io.BytesIO(b"".join(pattern(size)))) if seekable
                   else GeneratedStream(pattern(size)))
    assert store.put(KEY, source) == size
    # Local copies 1 MiB at a time, S3 one 5 MiB part at a time: never the whole file.
    assert 0 < source.largest_request <= 8 * MiB
    assert store.size(KEY) == size


def test_check_passes_on_a_working_store(store: Storage) -> None:
    store.check()
