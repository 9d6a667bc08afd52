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

from repository.services.materials import Upload


class HashingSpoolFile:
    """A named temporary file that hashes everything written to it."""

    def __init__(self, directory: Optional[str]) -> None:
        self._file = tempfile.NamedTemporaryFile("wb+", dir=directory, prefix="upload-")
        self.name = self._file.name
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self._file.write(data)

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
        return HashingSpoolFile(current_app.config.get("UPLOAD_TMPDIR") or None)  # type: ignore[return-value]


def as_upload(part: FileStorage) -> Upload:
    """The service's view of a received part: its spooled path, digest and the name given."""
    stream: Any = part.stream
    stream.flush()
    digest = stream.sha256.hexdigest() if isinstance(stream, HashingSpoolFile) else None
    return Upload(Path(stream.name), part.filename or "", digest)
