"""Receiving uploaded files: each multipart file part is written straight to a named temporary
file on disk (never held in memory whole) and hashed with SHA-256 as it is written, so the checks
and the object store read it by path and nothing reads it again just to hash it."""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import IO, Any, Optional

from flask import Request, current_app
from werkzeug.datastructures import FileStorage

from repository.extensions import object_store
from repository.services.materials import Upload
from storage import StorageError, new_key


class HashingSpoolFile:
    """A named temporary file that hashes everything written to it and, on an object store that
    takes parts early (S3), hands each full part to a StreamingUpload while the rest of the body
    is still arriving. An upload the service did not complete is aborted when the request closes
    its files, so a refused file leaves nothing in the store."""

    def __init__(self, directory: Optional[str], stream_to_store: bool) -> None:
        self._file = tempfile.NamedTemporaryFile("wb+", dir=directory, prefix="upload-")
        self.name = self._file.name
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.upload: Any = None
        if stream_to_store:
            self.upload = object_store().stream(new_key("materials"), Path(self.name))

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        written = self._file.write(data)
        self.size += written
        if self.upload is not None:
            self._file.flush()  # the part senders read the spool file by path
            try:
                self.upload.written(data)
            except StorageError:
                # Keep receiving; the service stores the file afterwards and reports the store.
                self.upload.abort()
                self.upload = None
        return written

    def close(self) -> None:
        if self.upload is not None:
            self.upload.abort()  # nothing to do once the service completed it
        self._file.close()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._file, attribute)


def upload_body_limit() -> int:
    """Largest request body an upload may send: several files of up to UPLOAD_MAX_BYTES each,
    plus the form fields. (Each file is still checked against UPLOAD_MAX_BYTES on its own.)"""
    return current_app.config["UPLOAD_MAX_BYTES"] * 10 + 1024 * 1024


# Endpoints whose bodies carry files; every other request keeps the small global limit.
UPLOAD_ENDPOINTS = {"materials.new", "materials.new_version"}


class UploadRequest(Request):
    """Flask's request, with every multipart file part spooled to a HashingSpoolFile, and the
    body limit raised for the upload endpoints only. (A property, not a before_request hook:
    CSRFProtect parses the form in its own hook, which runs before a blueprint's.)"""

    @property
    def max_content_length(self) -> Optional[int]:  # type: ignore[override]
        if self.endpoint in UPLOAD_ENDPOINTS:
            return upload_body_limit()
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: Optional[int]) -> None:
        Request.max_content_length.fset(self, value)  # type: ignore[attr-defined]

    def _get_file_stream(self, total_content_length: Optional[int], content_type: Optional[str],
                         filename: Optional[str] = None, content_length: Optional[int] = None) -> IO[bytes]:
        stream = self.endpoint in UPLOAD_ENDPOINTS and bool(filename)
        directory = current_app.config.get("UPLOAD_TMPDIR") or None
        return HashingSpoolFile(directory, stream)  # type: ignore[return-value]


def as_upload(part: FileStorage) -> Upload:
    """The service's view of a received part: its spooled path, digest and the name given."""
    stream: Any = part.stream
    stream.flush()
    if not isinstance(stream, HashingSpoolFile):
        return Upload(Path(stream.name), part.filename or "")
    return Upload(Path(stream.name), part.filename or "", stream.sha256.hexdigest(), stream.upload)
