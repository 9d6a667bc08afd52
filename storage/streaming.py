"""Sending a file to S3 while it is still being received.

The spooler hands every block it has appended (and flushed) to the spool file to `written()`;
each full part is then sent as a multipart part by a small thread pool, which streams the part
straight from the spool file (no part is held in memory). Nothing is visible in the bucket until
`complete()`: a refused or broken upload is `abort()`ed and leaves no object.

With `checksums` on, the upload declares CRC32 like boto3's own transfers do, and each part's
CRC32 is computed here from the blocks as they pass (zlib releases the interpreter lock, and no
part is read back for it): the store verifies every part, and it combines per-part checksums at
completion instead of re-reading the whole object (moto, for one, copies and re-checksums a whole
1 GiB object when no algorithm was declared, which made completion 4x slower than boto3's).
"""
from __future__ import annotations

import base64
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

from s3transfer.utils import ReadFileChunk

from storage.base import StorageError


def crc32_header(crc: int) -> str:
    """The x-amz-checksum-crc32 form of a CRC32: base64 of its four big-endian bytes."""
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


class StreamingUpload:
    """One object being uploaded in parts as its spool file grows. Used from one thread (the
    request's); only the part uploads run in the pool."""

    def __init__(self, client: Any, bucket: str, key: str, path: Path, *, part_size: int,
                 max_concurrency: int, translated: Any, checksums: bool = True) -> None:
        self.key = key
        self._client, self._bucket, self._path = client, bucket, path
        self._part_size, self._translated, self._checksums = part_size, translated, checksums
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="s3-part")
        self._parts: list[tuple[int, str, Future]] = []  # (number, its CRC32 header, ETag)
        self._upload_id: Optional[str] = None
        self._sent = 0     # bytes handed to the pool
        self._pending = 0  # bytes written after those, not yet sent
        self._crc = 0      # CRC32 of the pending bytes
        self._finished = False

    @property
    def received(self) -> int:
        """Bytes the spooler has reported so far."""
        return self._sent + self._pending

    def written(self, data: bytes) -> None:
        """`data` was appended to the spool file and flushed: checksum it, send every full part."""
        view = memoryview(data)
        while view:
            piece, view = view[:self._part_size - self._pending], view[self._part_size - self._pending:]
            if self._checksums:
                self._crc = zlib.crc32(piece, self._crc)
            self._pending += len(piece)
            if self._pending == self._part_size:
                self._submit()

    def _submit(self) -> None:
        """Send the pending bytes as the next part."""
        if self._upload_id is None:
            extra = {"ChecksumAlgorithm": "CRC32"} if self._checksums else {}
            with self._translated():
                self._upload_id = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self.key, **extra)["UploadId"]
        number, crc = len(self._parts) + 1, crc32_header(self._crc)
        self._parts.append((number, crc, self._pool.submit(self._send, number, self._sent, self._pending, crc)))
        self._sent, self._pending, self._crc = self._sent + self._pending, 0, 0

    def _send(self, number: int, offset: int, size: int, crc: str) -> str:
        body = ReadFileChunk.from_filename(str(self._path), offset, size, enable_callbacks=False)
        extra = {"ChecksumCRC32": crc} if self._checksums else {}
        try:
            with self._translated():
                return self._client.upload_part(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id,
                                                PartNumber=number, Body=body, ContentLength=size, **extra)["ETag"]
        finally:
            body.close()

    def complete(self, total: int) -> int:
        """Send the rest and make the object appear; returns its size. `total` is the size of the
        spool file, which must be what was reported to `written()`. Raises StorageError."""
        try:
            if total != self.received:
                raise ValueError(f"spool file holds {total} bytes, {self.received} were reported")
            if self._upload_id is None:  # smaller than one part: a single PUT
                extra = ({"ChecksumAlgorithm": "CRC32", "ChecksumCRC32": crc32_header(self._crc)}
                         if self._checksums else {})
                with self._path.open("rb") as source, self._translated():
                    self._client.put_object(Bucket=self._bucket, Key=self.key, Body=source, **extra)
            else:
                if self._pending:
                    self._submit()
                self._finish_multipart()
        except BaseException:
            self.abort()
            raise
        self._finished = True
        self._pool.shutdown(wait=False)
        return total

    def _finish_multipart(self) -> None:
        parts = []
        for number, crc, future in self._parts:
            part = {"PartNumber": number, "ETag": future.result()}
            if self._checksums:
                part["ChecksumCRC32"] = crc
            parts.append(part)
        with self._translated():
            self._client.complete_multipart_upload(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id,
                                                   MultipartUpload={"Parts": parts})

    def abort(self) -> None:
        """Drop whatever was sent; safe to call more than once and after a failure."""
        if self._finished:
            return
        self._finished = True
        for _number, _crc, future in self._parts:
            future.cancel()
        self._pool.shutdown(wait=True)
        if self._upload_id is not None:
            try:
                with self._translated():
                    self._client.abort_multipart_upload(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id)
            except StorageError:
                pass  # an unfinished multipart upload holds no object; the bucket's lifecycle expires it
