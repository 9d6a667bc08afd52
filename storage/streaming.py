"""Sending a file to S3 while it is still being received.

A spooled upload tells the streamer how many bytes are on disk; every full part is sent as a
multipart part by a small thread pool, which streams the part straight from the spool file (no
part is held in memory). Nothing is visible in the bucket until `complete()`: a refused or broken
upload is `abort()`ed and leaves no object.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

from s3transfer.utils import ReadFileChunk

from storage.base import StorageError


class StreamingUpload:
    """One object being uploaded in parts as its spool file grows. Used from one thread (the
    request's); only the part uploads run in the pool."""

    def __init__(self, client: Any, bucket: str, key: str, path: Path, *, part_size: int,
                 max_concurrency: int, translated: Any) -> None:
        self.key = key
        self._client, self._bucket, self._path = client, bucket, path
        self._part_size, self._translated = part_size, translated
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="s3-part")
        self._parts: list[tuple[int, Future]] = []
        self._upload_id: Optional[str] = None
        self._sent = 0  # bytes handed to the pool
        self._finished = False

    def written(self, total: int) -> None:
        """The spool file now holds `total` bytes (flushed); send every full part not yet sent."""
        while total - self._sent >= self._part_size:
            self._submit(self._sent, self._part_size)

    def _submit(self, offset: int, size: int) -> None:
        if self._upload_id is None:
            with self._translated():
                self._upload_id = self._client.create_multipart_upload(Bucket=self._bucket, Key=self.key)["UploadId"]
        number = len(self._parts) + 1
        self._parts.append((number, self._pool.submit(self._send, number, offset, size)))
        self._sent = offset + size

    def _send(self, number: int, offset: int, size: int) -> str:
        body = ReadFileChunk.from_filename(str(self._path), offset, size, enable_callbacks=False)
        try:
            with self._translated():
                return self._client.upload_part(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id,
                                                PartNumber=number, Body=body, ContentLength=size)["ETag"]
        finally:
            body.close()

    def complete(self, total: int) -> int:
        """Send the rest and make the object appear; returns its size. Raises StorageError."""
        try:
            if self._upload_id is None:  # smaller than one part: a single PUT
                with self._path.open("rb") as source, self._translated():
                    self._client.put_object(Bucket=self._bucket, Key=self.key, Body=source)
            else:
                if total > self._sent:
                    self._submit(self._sent, total - self._sent)
                parts = [{"PartNumber": n, "ETag": future.result()} for n, future in self._parts]
                with self._translated():
                    self._client.complete_multipart_upload(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id,
                                                           MultipartUpload={"Parts": parts})
        except BaseException:
            self.abort()
            raise
        self._finished = True
        self._pool.shutdown(wait=False)
        return total

    def abort(self) -> None:
        """Drop whatever was sent; safe to call more than once and after a failure."""
        if self._finished:
            return
        self._finished = True
        for _number, future in self._parts:
            future.cancel()
        self._pool.shutdown(wait=True)
        if self._upload_id is not None:
            try:
                with self._translated():
                    self._client.abort_multipart_upload(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id)
            except StorageError:
                pass  # an unfinished multipart upload holds no object; the bucket's lifecycle expires it
