"""Content-Disposition for Vietnamese file names (RFC 6266/5987) and the safe-type rules."""
from __future__ import annotations

import unicodedata
from urllib.parse import unquote

import pytest
from werkzeug.http import parse_options_header

from storage.disposition import (
    DEFAULT_NAME,
    content_disposition,
    inline_allowed,
    safe_content_type,
)

LESSON = "Bài giảng Toán 6 – Phương trình.pptx"
UNSAFE_IN_FALLBACK = set('"\\;%\r\n\t\x00/')


def params(header: str) -> tuple[str, str, str]:
    """(kind, ascii fallback, decoded filename*) of a header this module made."""
    kind, plain, star = header.split("; ")
    assert plain.startswith('filename="') and plain.endswith('"')
    assert star.startswith("filename*=UTF-8''")
    return kind, plain[len('filename="'):-1], unquote(star[len("filename*=UTF-8''"):], errors="strict")


@pytest.mark.parametrize("name", [
    LESSON,
    "Đề kiểm tra giữa kỳ I – Ngữ văn 9 (đáp án).docx",
    "Ôn tập: Tiếng Việt lớp 1; tuần 5 \"mới\".pdf",
    "ỳ ỹ ỷ ự ữ ử ừ ứ ợ ỡ ở ờ ớ ộ ỗ ổ ồ ố ọ ỏ ị ỉ ệ ễ ể ề ế ẹ ẽ ẻ ậ ẫ ẩ ầ ấ ặ ẵ ẳ ằ ắ ạ ả.txt",
])
def test_vietnamese_name_round_trips_through_filename_star(name: str) -> None:
    kind, fallback, decoded = params(content_disposition(name, inline=False))
    assert kind == "attachment"
    assert decoded == name
    assert fallback.isascii() and not (set(fallback) & UNSAFE_IN_FALLBACK)


def test_ascii_fallback_folds_diacritics() -> None:
    assert params(content_disposition(LESSON, inline=False))[1] == "Bai giang Toan 6 - Phuong trinh.pptx"
    assert params(content_disposition("ĐƯỜNG TRÒN đường kính.docx", inline=True))[1] == "DUONG TRON duong kinh.docx"


def test_decomposed_input_is_sent_composed() -> None:
    decomposed = unicodedata.normalize("NFD", LESSON)
    assert params(content_disposition(decomposed, inline=False))[2] == LESSON


def test_inline_kind() -> None:
    assert content_disposition("video.mp4", inline=True).startswith("inline; filename=\"video.mp4\"; ")


def test_an_independent_parser_prefers_the_unicode_name() -> None:
    # Werkzeug's parser, like browsers, lets filename* (RFC 5987) win over the fallback.
    assert parse_options_header(content_disposition(LESSON, inline=False)) == ("attachment", {"filename": LESSON})


@pytest.mark.parametrize("attack", [
    "a\r\nSet-Cookie: x",
    "a\nContent-Type: text/html\n\n<script>",
    'x"; filename="evil.html',
    "report\\\";.pdf",
    "\u202egpj.exe",  # right-to-left override hides the real extension
    "../../etc/passwd",
    "tab\there\x00nul\x7fdel",
])
def test_header_injection_is_neutralised(attack: str) -> None:
    header = content_disposition(attack, inline=False)
    assert header.isascii() and header.isprintable()  # no CR, LF, NUL or other controls
    assert header.count(";") == 2  # exactly the two separators: no smuggled parameter
    _, fallback, decoded = params(header)
    assert not (set(fallback) & UNSAFE_IN_FALLBACK)
    assert decoded.isprintable() and "/" not in decoded and "\\" not in decoded
    assert "\u202e" not in decoded


@pytest.mark.parametrize("name", ["", "   ", "\r\n", "\u0301"])
def test_name_is_never_empty(name: str) -> None:
    _, fallback, decoded = params(content_disposition(name, inline=False))
    assert fallback and decoded


def test_empty_name_gets_the_default() -> None:
    _, fallback, decoded = params(content_disposition("  ", inline=False))
    assert fallback == decoded == DEFAULT_NAME


def test_non_latin_name_keeps_a_usable_fallback() -> None:
    _, fallback, decoded = params(content_disposition("数学.pdf", inline=False))
    assert decoded == "数学.pdf" and fallback == "__.pdf"


@pytest.mark.parametrize("given, sent", [
    ("video/mp4", "video/mp4"),
    ("Application/PDF; charset=binary", "application/pdf"),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("text/html", "application/octet-stream"),
    ("text/plain", "application/octet-stream"),
    ("image/svg+xml", "application/octet-stream"),
    ("application/xhtml+xml", "application/octet-stream"),
    ("application/xml", "application/octet-stream"),
    ("application/javascript", "application/octet-stream"),
    ("video/mp4\r\nX-Evil: 1", "application/octet-stream"),
    ("", "application/octet-stream"),
])
def test_safe_content_type(given: str, sent: str) -> None:
    assert safe_content_type(given) == sent


@pytest.mark.parametrize("content_type, allowed", [
    ("application/pdf", True), ("image/png", True), ("image/jpeg", True), ("video/mp4", True),
    ("audio/mpeg", True), ("image/svg+xml", False), ("text/html", False),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", False),
])
def test_inline_allowed_only_for_previews(content_type: str, allowed: bool) -> None:
    assert inline_allowed(content_type) is allowed
