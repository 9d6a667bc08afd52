"""Personal access tokens for the JSON API: create (shown once), list, revoke, authenticate.

Rules: only the token's SHA-256 is stored; a token carries its owner's permissions and no more,
optionally read-only; a revoked or expired token, or one whose owner is no longer active, is
refused; an expiry date means the token works through the end of that day in the department's
time zone. Creating and revoking tokens is written to the audit trail.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from repository.errors import AuthenticationFailed, NotFound, ValidationError
from repository.extensions import db
from repository.fields import clean_text
from repository.models import ApiToken, User, utcnow
from repository.permissions import require
from repository.services import audit, guarded, unguarded

TOKEN_PREFIX = "khl_"
# last_used_at is for the owner's information: writing it at most once a minute spares a write
# on every API call.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_REFUSED = _l("Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi.")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _end_of_day_utc(day: date) -> datetime:
    """Midnight after `day` in the department's time zone, as naive UTC (how timestamps are kept)."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh"))
    local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _expiry(expires_on: Optional[date]) -> Optional[datetime]:
    if expires_on is None:
        return None
    expires_at = _end_of_day_utc(expires_on)
    if expires_at <= utcnow():
        message = _l("Ngày hết hạn phải là hôm nay hoặc một ngày sau đó.")
        raise ValidationError(message, field_errors={"expires_on": [message]})
    return expires_at


@guarded("token.create")
def create_token(actor: Any, owner: User, name: str, *, read_only: bool = False,
                 expires_on: Optional[date] = None) -> tuple[ApiToken, str]:
    """Create a token for `owner` (oneself; the command-line operator for anyone active) and
    return it with the raw token, which is never shown again."""
    require(actor, "token.create", owner)
    clean_name = clean_text(name, "name", _l("Tên mã truy cập"), max_length=100) or ""
    if not owner.is_active:
        raise ValidationError(_l("Tài khoản này không hoạt động."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=owner.id, name=clean_name, token_hash=_digest(raw), prefix=raw[:12],
                     read_only=read_only, expires_at=_expiry(expires_on))
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "token.created", owner, token=token.id, read_only=read_only)
    db.session.commit()
    return token, raw


@unguarded("a lookup for the command line by e-mail; create_token checks the policy")
def account_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(_l("Không có tài khoản với e-mail này."))
    return user


@guarded("account.manage_own")
def list_tokens(actor: Any) -> list[ApiToken]:
    """The actor's own tokens, newest first, revoked ones included (their history stays)."""
    require(actor, "account.manage_own")
    query = select(ApiToken).where(ApiToken.user_id == actor.id).order_by(ApiToken.id.desc())
    return list(db.session.scalars(query))


@guarded("token.revoke")
def revoke_token(actor: Any, token_id: int) -> ApiToken:
    """Revoke a token at once; revoking twice changes nothing."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_l("Không tìm thấy mã truy cập."))
    require(actor, "token.revoke", token)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "token.revoked", token.user, token=token.id)
        db.session.commit()
    return token


@unguarded("the bearer token is the credential; it yields the actor")
def authenticate(raw: str) -> ApiToken:
    """The live token for `raw`, with its user; AuthenticationFailed (401) otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise AuthenticationFailed(_REFUSED)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        raise AuthenticationFailed(_REFUSED)
    if not token.user.is_active:
        raise AuthenticationFailed(_REFUSED)
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token
