"""Cleaning and checking of the fields people type: names, e-mails, codes, phones, staff ids.

Each cleaner returns the normalised value or raises ValidationError naming the field. HTML in a
name is kept as typed and escaped on output; control characters are refused.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from repository.errors import ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PHONE = re.compile(r"^\+?[0-9 .\-]{8,20}$")


def _fail(field: str, message: Any) -> ValidationError:
    return ValidationError(message, field_errors={field: [message]})


def clean_text(value: Any, field: str, label: Any, *, max_length: int = 255, required: bool = True) -> Optional[str]:
    """NFC, trimmed, single-line text of at most `max_length` characters."""
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    text = re.sub(r"[ \t]+", " ", text)
    if not text:
        if required:
            raise _fail(field, _l("%(label)s không được để trống.", label=label))
        return None
    if _CONTROL.search(text) or "\n" in text or "\r" in text:
        raise _fail(field, _l("%(label)s chứa ký tự điều khiển không hợp lệ.", label=label))
    if len(text) > max_length:
        raise _fail(field, _l("%(label)s dài quá %(max)d ký tự.", label=label, max=max_length))
    return text


def clean_name(value: Any) -> str:
    return clean_text(value, "full_name", _l("Họ và tên")) or ""


def clean_email(value: Any) -> str:
    """A syntactically valid address, lower-cased; no DNS lookup (schools run on closed networks)."""
    raw = str(value or "").strip()
    if not raw:
        raise _fail("email", _l("E-mail không được để trống."))
    if len(raw) > 254:
        raise _fail("email", _l("E-mail dài quá 254 ký tự."))
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise _fail("email", _l("E-mail không hợp lệ: %(value)s", value=raw)) from None
    return result.normalized.lower()


def clean_code(value: Any, field: str, label: Any, *, max_length: int = 32) -> str:
    """An identifier code: letters, digits, '_', '-', '.' only."""
    code = clean_text(value, field, label, max_length=max_length) or ""
    if not _CODE.match(code):
        raise _fail(field, _l("%(label)s chỉ được gồm chữ không dấu, chữ số, '_', '-', '.'.", label=label))
    return code


def clean_phone(value: Any) -> Optional[str]:
    phone = clean_text(value, "phone", _l("Số điện thoại"), max_length=32, required=False)
    if phone and not _PHONE.match(phone):
        raise _fail("phone", _l("Số điện thoại không hợp lệ: %(value)s", value=phone))
    return phone


def clean_staff_id(value: Any) -> Optional[str]:
    staff_id = clean_text(value, "staff_id", _l("Mã định danh ngành"), max_length=64, required=False)
    if staff_id and not _CODE.match(staff_id):
        raise _fail("staff_id", _l("Mã định danh ngành không hợp lệ: %(value)s", value=staff_id))
    return staff_id
