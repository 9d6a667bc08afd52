"""Source streams for storage tests: generated (non-seekable) bytes, short reads, failures, and
a recorder of how much a put asked for at once."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import BinaryIO

MiB = 1024 * 1024


class SourceBroke(Exception):
    """Raised by a test stream part-way, as a dropped client connection would."""


def pattern(size: int, seed: int = 0) -> Iterator[bytes]:
    """`size` bytes of a non-repeating pattern, in 1 MiB blocks (cheap to make and to check)."""
    block = 0
    while size > 0:
        piece = hashlib.sha256(f"{seed}:{block}".encode()).digest() * (MiB // 32)
        yield piece[:size]
        size -= len(piece)
        block += 1


def pattern_sha256(size: int, seed: int = 0) -> str:
    digest = hashlib.sha256()
    for piece in pattern(size, seed):
        digest.update(piece)
    return digest.hexdigest()


def stream_sha256(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 and length of a stream, read 1 MiB at a time."""
    digest, total = hashlib.sha256(), 0
    while piece := stream.read(MiB):
        digest.update(piece)
        total += len(piece)
    return digest.hexdigest(), total


class GeneratedStream:
    """A read-only, non-seekable stream over an iterator of byte blocks, like a request body.

    `max_return` caps what one read returns (short reads, as sockets do); `fail_after` raises
    SourceBroke once that many bytes have been handed out, `stall` seconds after being asked (so
    parts already handed out have time to reach the server). `largest_request` records the
    biggest read() size asked for (-1 counts as "everything")."""

    def __init__(self, blocks: Iterator[bytes], *, max_return: int | None = None,
                 fail_after: int | None = None, stall: float = 0.0) -> None:
        self._blocks = blocks
        self._buffer = b""
        self._max_return = max_return
        self._fail_after = fail_after
        self._stall = stall
        self.handed_out = 0
        self.largest_request = 0
        self.closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        wanted = float("inf") if size is None or size < 0 else size
        self.largest_request = max(self.largest_request, int(min(wanted, 2**62)))
        if self._max_return is not None:
            wanted = min(wanted, self._max_return)
        while len(self._buffer) < wanted:
            block = next(self._blocks, b"")
            if not block:
                break
            self._buffer += block
        if self._fail_after is not None and self.handed_out + min(wanted, len(self._buffer)) > self._fail_after:
            time.sleep(self._stall)
            raise SourceBroke("client went away")
        cut = len(self._buffer) if wanted == float("inf") else int(wanted)
        data, self._buffer = self._buffer[:cut], self._buffer[cut:]
        self.handed_out += len(data)
        return data

    def close(self) -> None:
        self.closed = True


class RecordingReader:
    """A seekable stream (wrapping BytesIO-like `inner`) that records its largest read() request."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.largest_request = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def read(self, size: int | None = -1) -> bytes:
        self.largest_request = max(self.largest_request, 2**62 if size is None or size < 0 else size)
        return self._inner.read(size)
