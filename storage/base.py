"""The blob-store contract: the abstract `Storage`, its errors and `ObjectInfo`.

Rules every backend keeps:
- Keys are server-generated (see `storage.keys`); a key that is not valid raises ValueError.
- `put` streams: it reads the source in bounded chunks, never all of it at once, and the object
  appears atomically. A put that fails for any reason leaves no object (and no partial upload).
  Errors raised by the source stream itself propagate unchanged; the store's own failures raise
  `StorageError`.
- `StorageError` means the store is unreachable or refused the request. Its message is Vietnamese
  and safe to show to a user (no host names, keys or credentials); the technical cause is chained
  as `__cause__` for the log. `ObjectNotFound` is the one failure callers usually handle.
- The database, not the store, keeps file names and content types; the store keeps bytes.
"""
from __future__ import annotations

import abc
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

UNAVAILABLE = "Kho lưu trữ tệp không phản hồi. Vui lòng thử lại sau."
REFUSED = "Kho lưu trữ tệp từ chối yêu cầu. Vui lòng báo cho quản trị viên hệ thống."
WRITE_FAILED = "Không ghi được tệp vào kho lưu trữ. Vui lòng thử lại sau."
NOT_FOUND = "Không tìm thấy tệp trong kho lưu trữ."

MAX_URL_EXPIRES = 3600
"""Upper bound, in seconds, of a download URL's lifetime, whatever the caller asks for."""


class StorageError(Exception):
    """The store is unreachable or refused the request. `str(error)` is safe to show."""

    def __init__(self, message: str = UNAVAILABLE) -> None:
        super().__init__(message)
        self.message = message


class ObjectNotFound(StorageError):
    """No object exists under the key."""

    def __init__(self, message: str = NOT_FOUND) -> None:
        super().__init__(message)


class ObjectInfo(NamedTuple):
    """One stored object: its key, size in bytes and last modification (aware, UTC)."""

    key: str
    size: int
    modified: datetime


class Unfinished(NamedTuple):
    """What a write that never completed left in the store, e.g. when its process was killed:
    the parts of an S3 multipart upload, or the local backend's hidden temporary file. `list`
    never shows it; a write still in progress looks the same, so callers act only on old ones."""

    key: str  # the object key the write was for
    handle: str  # the backend's own reference to it (upload id, temporary file)
    started: datetime  # aware, UTC


class Storage(abc.ABC):
    """A flat key -> bytes store. Implementations must be safe to share between threads."""

    @abc.abstractmethod
    def put(self, key: str, stream: BinaryIO, *, content_type: str = "application/octet-stream") -> int:
        """Store everything `stream` yields under `key`, replacing any object there; return the
        number of bytes written. Reads in chunks; atomic; never closes `stream`."""

    def put_file(self, key: str, path: Path, *, content_type: str = "application/octet-stream") -> int:
        """Store a local file. Backends that can read a file by path (S3: parallel part reads,
        no part buffered in memory) override this; the default streams it through put()."""
        with path.open("rb") as stream:
            return self.put(key, stream, content_type=content_type)

    def stream(self, key: str, path: Path) -> Any:
        """A StreamingUpload that sends `path` in parts while it is still being written, or None
        when the backend gains nothing from it (the local folder): then use put_file()."""
        return None

    def unfinished(self) -> Iterator[Unfinished]:
        """Every write begun but neither completed nor aborted (none for a backend without)."""
        return iter(())

    def discard_unfinished(self, item: Unfinished) -> None:
        """Remove what an unfinished write holds; discarding it twice is not an error."""

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object; the caller closes it. Raises ObjectNotFound."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """The object's size in bytes. Raises ObjectNotFound."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix` (a plain string prefix), in key order."""

    @abc.abstractmethod
    def download_url(self, key: str, *, filename: str, content_type: str, inline: bool = False,
                     expires: int = 900) -> str | None:
        """A time-limited URL (at most MAX_URL_EXPIRES seconds) that downloads the object as
        `filename`; None when the backend serves no URLs and the app must stream `open(key)`."""

    @abc.abstractmethod
    def local_path(self, key: str) -> Path | None:
        """The object's file on local disk (for HTTP Range serving), or None for remote stores."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise StorageError unless the store is reachable and usable."""
