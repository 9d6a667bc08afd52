"""Sending stored bytes to a browser safely.

Rules: downloads are always `attachment` with the original Vietnamese name (RFC 5987); inline
responses exist only for previews of images, PDF, audio and video, with the content type we
decided and `nosniff`; anything else that a browser might render (HTML, SVG, XML, text) goes out
as application/octet-stream. Local files support HTTP Range requests so videos seek; on S3 the
browser is sent to a short-lived presigned URL instead.
"""
from __future__ import annotations

from typing import Any

from flask import Response, abort, redirect, send_file, stream_with_context

from repository.extensions import object_store
from repository.web import error_response
from storage import (
    ObjectNotFound,
    StorageError,
    content_disposition,
    inline_allowed,
    safe_content_type,
)

_CHUNK = 1024 * 1024


def _safe_type(mime_type: str, inline: bool) -> tuple[str, bool]:
    """The type to send and whether inline is allowed (storage's rules, shared with S3 URLs)."""
    return safe_content_type(mime_type), inline and inline_allowed(mime_type)


def _frame_headers(response: Response, inline: bool) -> Response:
    if inline:  # the material page embeds previews; nothing else may frame them
        # Chrome's PDF viewer breaks under default-src 'none'; images and media need nothing.
        pdf = response.mimetype == "application/pdf"
        response.headers["Content-Security-Policy"] = ("" if pdf else "default-src 'none'; ") + "frame-ancestors 'self'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _stream(store: Any, key: str, filename: str, mime_type: str, inline: bool) -> Response:
    source = store.open(key)

    def chunks() -> Any:
        with source:
            while chunk := source.read(_CHUNK):
                yield chunk

    response = Response(stream_with_context(chunks()), mimetype=mime_type)
    response.headers["Content-Disposition"] = content_disposition(filename, inline=inline)
    return response


def send_stored(key: str, filename: str, mime_type: str, *, inline: bool) -> Any:
    """The response that delivers one stored object under the rules above."""
    store = object_store()
    mime_type, inline = _safe_type(mime_type, inline)
    try:
        path = store.local_path(key)
        if path is not None:
            if not path.exists():
                abort(404)
            response = send_file(path, mimetype=mime_type, as_attachment=not inline, download_name=filename,
                                 conditional=True, max_age=300)
            return _frame_headers(response, inline)
        if mime_type != "application/pdf" or not inline:
            url = store.download_url(key, filename=filename, content_type=mime_type, inline=inline, expires=900)
            if url:
                return redirect(url, code=302)
        return _frame_headers(_stream(store, key, filename, mime_type, inline), inline)
    except ObjectNotFound:
        abort(404)
    except StorageError as error:  # the store is down: say so (its message is safe to show)
        return error_response(503, str(error))
