"""Download response headers: Content-Disposition (RFC 6266 + RFC 5987) and safe content types.

Rules:
- The header is `attachment|inline; filename="<ascii>"; filename*=UTF-8''<percent-encoded>`.
  Modern browsers use `filename*` (the exact Vietnamese name, NFC); old ones the ASCII fallback.
- The name is cleaned first: control and format characters (CR, LF, NUL, bidi overrides) and path
  separators become '_', surrounding whitespace is dropped, and an empty name becomes DEFAULT_NAME.
- The fallback folds Vietnamese diacritics (đ -> d included) and replaces everything else outside a
  small safe set (so no quotes, backslashes, ';', '%', control characters) with '_'. Never empty.
- Only images, PDF, audio and video may be shown inline; content types a browser could run as a
  page (HTML, SVG, XML, text, script) are served as application/octet-stream.
"""
from __future__ import annotations

import re
import string
import unicodedata
from urllib.parse import quote

DEFAULT_NAME = "tai-lieu"

_SAFE_ASCII = frozenset(string.ascii_letters + string.digits + " -_.,()[]+!&'@#$=~")
_FOLD = str.maketrans({"đ": "d", "Đ": "D", "–": "-", "—": "-", "‘": "'", "’": "'", "/": "_", "\\": "_"})
_INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp"})
_MIME = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
OCTET_STREAM = "application/octet-stream"


def content_disposition(filename: str, *, inline: bool) -> str:
    """The Content-Disposition value that makes a browser save (or show) the file as `filename`."""
    name = clean_filename(filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def clean_filename(filename: str) -> str:
    """`filename` in NFC without control/format characters or path separators; never empty."""
    name = unicodedata.normalize("NFC", filename)
    name = "".join("_" if unicodedata.category(ch).startswith("C") or ch in "/\\" else ch for ch in name)
    return name.strip() or DEFAULT_NAME


def ascii_fallback(filename: str) -> str:
    """An ASCII-only stand-in for `filename`, safe inside a quoted header parameter."""
    decomposed = unicodedata.normalize("NFKD", filename.translate(_FOLD))
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch if ch in _SAFE_ASCII else "_" for ch in folded).strip() or DEFAULT_NAME


def inline_allowed(content_type: str) -> bool:
    """Whether a file of this type may be shown in the browser (previews) rather than saved."""
    base = safe_content_type(content_type)
    return base in _INLINE_TYPES or base.startswith(("audio/", "video/"))


def safe_content_type(content_type: str) -> str:
    """The bare media type to send, or application/octet-stream for anything a browser might
    render as a page or script (HTML, SVG, XML, text, JavaScript) or that is malformed."""
    base = content_type.split(";", 1)[0].strip().lower()
    if not _MIME.fullmatch(base):
        return OCTET_STREAM
    major, minor = base.split("/", 1)
    if major == "text" or minor == "xml" or minor.endswith("+xml") or "html" in minor \
            or "script" in minor:
        return OCTET_STREAM
    return base
