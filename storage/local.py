"""The local-filesystem backend (the embedded default): one file per key under a root folder.

Rules:
- A key maps to `root/<key>`; keys are validated first (ValueError), so no key leaves the root.
- `put` copies the stream in CHUNK_SIZE pieces into a hidden temporary file in the target's own
  folder, fsyncs it, then `os.replace`s it onto the target and fsyncs the folder: readers see the
  old object or the new one, never a partial one, and a failed put removes its temporary file.
  Temporary names start with '.', which no valid key does, so `list` never shows them;
  `unfinished` does, for the consistency check to remove those a killed process left behind.
- Files are created owner-only (mkstemp's 0600): only the app's own user reads them.
- The content type is not stored (the database keeps it). Empty folders are left behind by delete,
  since pruning them would race with a concurrent put into the same folder. A crash mid-put can
  leave a hidden `.*.part` file; only `unfinished` sees it, and it is safe to remove later.
- No URLs: `download_url` is None and `local_path` gives the file for send_file (HTTP Range).
"""
from __future__ import annotations

import builtins
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from storage.base import WRITE_FAILED, ObjectInfo, ObjectNotFound, Storage, StorageError, Unfinished
from storage.keys import check_key, check_prefix, is_valid_key

CHUNK_SIZE = 1024 * 1024
PARTIAL_SUFFIX = ".part"


class LocalStorage(Storage):
    """Objects as files under `root` (created on first write or check)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, stream: BinaryIO, *, content_type: str = "application/octet-stream") -> int:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX, dir=target.parent)
        except OSError as exc:
            raise StorageError(WRITE_FAILED) from exc
        try:
            with builtins.open(fd, "wb") as out:
                written = _copy(stream, out)
                _sync(out.fileno())
            _replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return written

    def open(self, key: str) -> BinaryIO:
        try:
            return builtins.open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound() from exc
        except OSError as exc:
            raise StorageError() from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageError() from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound()
        try:
            return path.stat().st_size
        except FileNotFoundError as exc:
            raise ObjectNotFound() from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        check_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        start = self.root / folder if folder else self.root
        for info in _walk(start, f"{folder}/" if folder else ""):
            if info.key.startswith(prefix):
                yield info

    def download_url(self, key: str, *, filename: str, content_type: str, inline: bool = False,
                     expires: int = 900) -> str | None:
        check_key(key)
        return None

    def unfinished(self) -> Iterator[Unfinished]:
        """The hidden temporary files of puts that never finished (`.<name>.<random>.part`)."""
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if not (name.startswith(".") and name.endswith(PARTIAL_SUFFIX)):
                    continue
                path = Path(folder) / name
                try:
                    modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                except FileNotFoundError:
                    continue  # the put finished or failed meanwhile
                relative = path.relative_to(self.root).as_posix()
                key = relative.rpartition("/")[0] + "/" + name[1:].split(".", 1)[0]
                yield Unfinished(key.lstrip("/"), relative, modified)

    def discard_unfinished(self, item: Unfinished) -> None:
        name = Path(item.handle).name
        if not (name.startswith(".") and name.endswith(PARTIAL_SUFFIX)) or ".." in Path(item.handle).parts:
            raise ValueError(f"not an unfinished write of this store: {item.handle!r}")
        try:
            (self.root / item.handle).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError() from exc

    def local_path(self, key: str) -> Path | None:
        """The object's file; raises ObjectNotFound when there is none."""
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound()
        return path

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(WRITE_FAILED) from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(WRITE_FAILED)


def _copy(stream: BinaryIO, out: BinaryIO) -> int:
    """Copy in bounded chunks. Errors of `stream` propagate; errors of the disk are StorageError."""
    written = 0
    while chunk := stream.read(CHUNK_SIZE):
        try:
            out.write(chunk)
        except OSError as exc:
            raise StorageError(WRITE_FAILED) from exc
        written += len(chunk)
    return written


def _sync(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        raise StorageError(WRITE_FAILED) from exc


def _replace(temp_name: str, target: Path) -> None:
    """Move the finished file into place and make the rename itself durable."""
    try:
        os.replace(temp_name, target)
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise StorageError(WRITE_FAILED) from exc


def _walk(folder: Path, key_prefix: str) -> Iterator[ObjectInfo]:
    """Files under `folder` in S3 key order: a subfolder sorts as its name plus '/'."""
    try:
        entries = builtins.list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise StorageError() from exc
    entries.sort(key=lambda e: e.name + "/" if e.is_dir(follow_symlinks=False) else e.name)
    for entry in entries:
        key = key_prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), key + "/")
        elif entry.is_file(follow_symlinks=False) and is_valid_key(key):
            try:
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            yield ObjectInfo(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, timezone.utc))
