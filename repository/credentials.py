"""Credential mechanics shared by the account services: setting a password under the rules,
password expiry, and one-time tokens (activation and reset links).

These are building blocks, not services: they take no actor and check no policy, so only service
functions that have already checked the policy (or hold a valid one-time token) call them.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from repository import passwords
from repository.errors import ValidationError
from repository.extensions import db
from repository.models import AccountToken, PasswordHistory, User, UserStatus, utcnow

PURPOSE_ACTIVATE = "activate"
PURPOSE_RESET = "reset"


def password_change_required(user: User) -> bool:
    """True when the user must choose a new password before doing anything else."""
    if user.must_change_password:
        return True
    days = current_app.config["PASSWORD_EXPIRY_DAYS"]
    if days <= 0 or user.password_changed_at is None:
        return False
    return utcnow() - user.password_changed_at > timedelta(days=days)


def _previous_hashes(user: User) -> list[str]:
    query = (
        select(PasswordHistory.password_hash)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc())
        .limit(passwords.HISTORY_DEPTH)
    )
    return list(db.session.scalars(query))


def set_password(user: User, new_password: str) -> None:
    """Check the rules, store the hash, keep the history and sign out every existing session."""
    problems = passwords.policy_problems(new_password, user.email, _previous_hashes(user))
    if problems:
        raise ValidationError(problems[0], field_errors={"new_password": problems})
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    user.session_token = secrets.token_hex(16)
    if user.status == UserStatus.PENDING.value:
        user.status = UserStatus.ACTIVE.value
    db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    db.session.flush()
    keep = select(PasswordHistory.id).where(PasswordHistory.user_id == user.id)
    keep = keep.order_by(PasswordHistory.id.desc()).limit(passwords.HISTORY_DEPTH)
    db.session.execute(
        delete(PasswordHistory).where(
            PasswordHistory.user_id == user.id, PasswordHistory.id.not_in(keep.scalar_subquery())
        )
    )



def issue_token(user: User, purpose: str) -> str:
    """Create a one-time token for `user`, voiding earlier unused ones of the same purpose."""
    now = utcnow()
    db.session.execute(
        delete(AccountToken).where(
            AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None)
        )
    )
    raw = secrets.token_urlsafe(32)
    hours = current_app.config["TOKEN_HOURS"]
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hashlib.sha256(raw.encode()).hexdigest(),
            expires_at=now + timedelta(hours=hours),
        )
    )
    return raw


def token_link(raw: str, purpose: str) -> str:
    """The absolute URL a person opens to use a one-time token."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/account/{'activate' if purpose == PURPOSE_ACTIVATE else 'reset'}/{raw}"


