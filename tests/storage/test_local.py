"""Local-backend specifics: file paths for Range serving, temporary files, fsync, disk errors."""
from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest

from storage import LocalStorage, ObjectNotFound, StorageError
from storage.base import WRITE_FAILED
from tests.storage.streams import GeneratedStream, MiB, SourceBroke, pattern

KEY = "materials/2025/09/0123456789abcdef0123456789abcdef"


def every_file(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_local_path_and_no_urls(local_store: LocalStorage) -> None:
    local_store.put(KEY, io.BytesIO(b"range me"))
    path = local_store.local_path(KEY)
    assert path == local_store.root / KEY and path.read_bytes() == b"range me"
    assert local_store.download_url(KEY, filename="a.mp4", content_type="video/mp4") is None
    with pytest.raises(ObjectNotFound):
        local_store.local_path("materials/2025/09/missing")


def test_failed_put_leaves_no_temporary_file(local_store: LocalStorage) -> None:
    with pytest.raises(SourceBroke):
        local_store.put(KEY, GeneratedStream(pattern(3 * MiB), fail_after=2 * MiB))
    assert every_file(local_store.root) == []


def test_temporary_and_foreign_files_are_not_listed(local_store: LocalStorage) -> None:
    local_store.put(KEY, io.BytesIO(b"real"))
    folder = (local_store.root / KEY).parent
    (folder / f".{Path(KEY).name}.abc123.part").write_bytes(b"half a put")
    (folder / "README.txt").write_bytes(b"left by an operator")
    assert [info.key for info in local_store.list()] == [KEY]


def test_a_reader_keeps_the_version_it_opened(local_store: LocalStorage) -> None:
    local_store.put(KEY, io.BytesIO(b"version 1"))
    with local_store.open(KEY) as old:
        local_store.put(KEY, io.BytesIO(b"version 2"))
        assert old.read() == b"version 1"
    with local_store.open(KEY) as new:
        assert new.read() == b"version 2"


def test_put_fsyncs_the_file_and_its_folder(local_store: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr("storage.local.os.fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    local_store.put(KEY, io.BytesIO(b"durable"))
    assert len(synced) == 2


def test_disk_errors_become_storage_errors(local_store: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    local_store.put(KEY, io.BytesIO(b"keep me"))

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("storage.local.os.fsync", disk_full)
    with pytest.raises(StorageError) as caught:
        local_store.put(KEY, io.BytesIO(b"replacement"))
    assert str(caught.value) == WRITE_FAILED
    monkeypatch.undo()
    assert every_file(local_store.root) == [KEY]
    assert local_store.local_path(KEY).read_bytes() == b"keep me"  # type: ignore[union-attr]


def test_unusable_root(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    store = LocalStorage(blocker)
    with pytest.raises(StorageError):
        store.check()
    with pytest.raises(StorageError):
        store.put(KEY, io.BytesIO(b"x"))
    assert list(store.list()) == []


def test_check_creates_the_root(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "new" / "blobs")
    store.check()
    assert store.root.is_dir()
