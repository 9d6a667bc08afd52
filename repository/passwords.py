"""Password hashing (Argon2id) and the password rules of the sector's practice.

Rules: at least 8 characters with an upper-case letter, a lower-case letter, a digit and a symbol;
not containing the name part of the account's e-mail; none of the last 5 passwords again.
"""
from __future__ import annotations

import re
import secrets
from typing import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l

HISTORY_DEPTH = 5
MIN_LENGTH = 8
MAX_LENGTH = 128

_HASHERS = {
    "default": PasswordHasher(),  # RFC 9106 low-memory profile: t=3, 64 MiB, p=4
    # Tests hash hundreds of passwords; the weak profile is never reachable from the environment.
    "test": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
}


def _hasher() -> PasswordHasher:
    return _HASHERS[current_app.config.get("ARGON2_PROFILE", "default")]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; False for a missing or malformed hash."""
    if not stored_hash:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASHES: dict[str, str] = {}


def dummy_hash() -> str:
    """A hash no password matches, to check against when there is no account (equal timing)."""
    profile = current_app.config.get("ARGON2_PROFILE", "default")
    if profile not in _DUMMY_HASHES:
        _DUMMY_HASHES[profile] = _hasher().hash(secrets.token_hex(32))
    return _DUMMY_HASHES[profile]


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


def policy_problems(password: str, email: str, previous_hashes: Iterable[str] = ()) -> list:
    """Every rule the password breaks, as translatable messages (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_l("Mật khẩu phải có ít nhất 8 ký tự."))
    if len(password) > MAX_LENGTH:
        problems.append(_l("Mật khẩu dài quá 128 ký tự."))
    if not any(c.isupper() for c in password) or not any(c.islower() for c in password):
        problems.append(_l("Mật khẩu phải có cả chữ hoa và chữ thường."))
    if not re.search(r"\d", password):
        problems.append(_l("Mật khẩu phải có ít nhất một chữ số."))
    if not re.search(r"[^\w\s]|_", password):
        problems.append(_l("Mật khẩu phải có ít nhất một ký hiệu (ví dụ ! @ # $)."))
    name_part = email.split("@", 1)[0].lower()
    if len(name_part) >= 3 and name_part in password.lower():
        problems.append(_l("Mật khẩu không được chứa phần tên trong địa chỉ e-mail."))
    if any(verify_password(old, password) for old in previous_hashes):
        problems.append(_l("Không được dùng lại một trong 5 mật khẩu gần nhất."))
    return problems
