"""Signing in, passwords, one-time links and a person's own data.

Rules: messages never reveal whether an e-mail has an account; after LOGIN_MAX_FAILURES failed
sign-ins for one e-mail within LOGIN_LOCK_MINUTES further attempts are refused and the event is
logged; a password change rotates the session token, which signs out every other session.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from repository import passwords
from repository.credentials import (
    PURPOSE_ACTIVATE,
    PURPOSE_RESET,
    issue_token,
    set_password,
    token_link,
)
from repository.errors import AuthenticationFailed, NotFound, Throttled, ValidationError
from repository.extensions import db
from repository.models import (
    AccountToken,
    AuditEvent,
    LoginFailure,
    User,
    UserSchoolMove,
    UserStatus,
    utcnow,
)
from repository.permissions import require
from repository.services import audit, guarded, unguarded

_BAD_CREDENTIALS = _l("E-mail hoặc mật khẩu không đúng.")


def _email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _recent_failures(key: str) -> int:
    since = utcnow() - timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    query = select(func.count()).where(LoginFailure.email_key == key, LoginFailure.at >= since)
    return db.session.scalar(query) or 0


def _user_by_email(email: str) -> Optional[User]:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


@unguarded("signing in is how an actor comes to exist")
def authenticate(email: str, password: str) -> User:
    """Return the active user with these credentials, or raise one message that reveals nothing."""
    key = _email_key(email)
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if _recent_failures(key) >= limit:
        audit.record(None, "auth.throttled", email_key=key)
        db.session.commit()
        minutes = current_app.config["LOGIN_LOCK_MINUTES"]
        raise Throttled(_l("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau %(n)d phút.", n=minutes))
    user = _user_by_email(email)
    # Always run one hash check, so the time taken does not tell whether the account exists.
    stored = user.password_hash if user is not None and user.password_hash else passwords.dummy_hash()
    matches = passwords.verify_password(stored, password)
    ok = user is not None and user.is_active and matches
    if not ok:
        db.session.add(LoginFailure(email_key=key))
        db.session.flush()  # the count below includes this failure
        if _recent_failures(key) >= limit:
            audit.record(None, "auth.locked", user, email_key=key)
        db.session.commit()
        raise AuthenticationFailed(_BAD_CREDENTIALS)
    db.session.execute(delete(LoginFailure).where(LoginFailure.email_key == key))
    if passwords.needs_rehash(user.password_hash or ""):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    audit.record(user, "auth.sign_in", user)
    db.session.commit()
    return user


@unguarded("records the end of the actor's own session")
def record_sign_out(user: User) -> None:
    """Sign-out ends the account's sessions: the session token changes, so a copy of the old
    cookie (kept by a late response or by someone else) no longer signs anyone in."""
    user.session_token = secrets.token_hex(16)
    audit.record(user, "auth.sign_out", user)
    db.session.commit()


@guarded("account.manage_own")
def change_password(actor: User, current_password: str, new_password: str) -> None:
    """Change the actor's own password; other sessions of the account end."""
    require(actor, "account.manage_own")
    if not passwords.verify_password(actor.password_hash, current_password):
        message = _l("Mật khẩu hiện tại không đúng.")
        raise ValidationError(message, field_errors={"current_password": [message]})
    set_password(actor, new_password)
    audit.record(actor, "account.password_changed", actor)
    db.session.commit()


def _live_token(raw: str, purpose: str) -> AccountToken:
    digest = hashlib.sha256(raw.encode()).hexdigest()
    token = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == digest, AccountToken.purpose == purpose)
    )
    if token is None or token.used_at is not None or token.expires_at < utcnow():
        raise NotFound(_l("Liên kết không hợp lệ hoặc đã hết hạn. Hãy đề nghị cấp liên kết mới."))
    return token


@unguarded("the one-time token is the credential")
def user_for_token(raw: str, purpose: str) -> User:
    """The account a valid, unused, unexpired token belongs to."""
    return db.session.get(User, _live_token(raw, purpose).user_id)


@unguarded("the one-time token is the credential")
def redeem_token(raw: str, purpose: str, new_password: str) -> User:
    """Set the password through a one-time link; the link cannot be used again."""
    token = _live_token(raw, purpose)
    user = db.session.get(User, token.user_id)
    if user.status not in (UserStatus.ACTIVE.value, UserStatus.PENDING.value):
        raise NotFound(_l("Liên kết không hợp lệ hoặc đã hết hạn. Hãy đề nghị cấp liên kết mới."))
    set_password(user, new_password)
    token.used_at = utcnow()
    audit.record(user, f"account.{purpose}d", user)
    db.session.commit()
    return user


@unguarded("anyone may ask; the answer never says whether the e-mail has an account")
def request_password_reset(email: str) -> None:
    """E-mail a reset link when SMTP is configured and an active account has this address."""
    from repository import mail

    if not mail.configured():
        return
    user = _user_by_email(email)
    if user is None or not user.is_active:
        return
    raw = issue_token(user, PURPOSE_RESET)
    audit.record(None, "account.reset_requested", user)
    db.session.commit()
    mail.send_password_reset(user, token_link(raw, PURPOSE_RESET))


@guarded("user.reset_password")
def admin_reset(actor: Any, target: User) -> str:
    """Sign the account out everywhere and return a one-time link to choose a new password."""
    require(actor, "user.reset_password", target)
    if target.status not in (UserStatus.ACTIVE.value, UserStatus.PENDING.value):
        raise ValidationError(_l("Tài khoản này không hoạt động."))
    target.session_token = secrets.token_hex(16)
    target.must_change_password = True
    purpose = PURPOSE_ACTIVATE if target.status == UserStatus.PENDING.value else PURPOSE_RESET
    raw = issue_token(target, purpose)
    audit.record(actor, "user.password_reset", target)
    db.session.commit()
    return token_link(raw, purpose)


@guarded("account.manage_own")
def personal_data(actor: User) -> dict[str, Any]:
    """Everything the repository holds about the actor as a person (the data-subject view)."""
    require(actor, "account.manage_own")
    moves = db.session.scalars(select(UserSchoolMove).where(UserSchoolMove.user_id == actor.id))
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == actor.id).order_by(AuditEvent.id.desc()).limit(500)
    )
    return {
        "account": {
            "email": actor.email,
            "full_name": actor.full_name,
            "phone": actor.phone,
            "staff_id": actor.staff_id,
            "school": actor.school.code if actor.school else None,
            "unit": actor.unit.code if actor.unit else None,
            "status": actor.status,
            "created_at": actor.created_at.isoformat(),
            "last_login_at": actor.last_login_at.isoformat() if actor.last_login_at else None,
            "password_changed_at": actor.password_changed_at.isoformat() if actor.password_changed_at else None,
        },
        "roles": [
            {"role": r.role, "school": r.school.code if r.school else None,
             "unit": r.unit.code if r.unit else None, "subjects": r.subjects, "levels": r.levels}
            for r in actor.roles
        ],
        "school_moves": [
            {"from_school_id": m.from_school_id, "to_school_id": m.to_school_id, "at": m.at.isoformat()}
            for m in moves
        ],
        "activity": [{"at": e.at.isoformat(), "action": e.action} for e in events],
    }
