"""Who is calling the API: a personal access token (`Authorization: Bearer ...`) or a session.

A bearer token is checked before anything else in the request (before CSRF and the rate limits):
a bad one is refused with 401 and nothing runs; a good one makes its owner the request's user
for this request only (no session is written). A token-authenticated request needs no CSRF token
(a browser never adds the header by itself); a cookie-authenticated write still does. A read-only
token is refused on every write with 403.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Optional

from flask import Blueprint, Flask, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user

from repository.errors import AuthenticationFailed, PermissionDenied
from repository.extensions import limiter
from repository.services import tokens

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token() -> Optional[str]:
    """The token of an `Authorization: Bearer` header, or None when there is no such header."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def authenticate_bearer() -> None:
    """Before every request: make a bearer token's owner the user of this request."""
    raw = bearer_token()
    if raw is None:
        return
    token = tokens.authenticate(raw)
    g.api_token = token
    g._login_user = token.user  # Flask-Login's per-request user; the session is left alone
    if token.read_only and request.method not in SAFE_METHODS:
        raise PermissionDenied(_l("Mã truy cập này chỉ có quyền đọc."))


def token_request() -> bool:
    """True when this request was authenticated by a personal access token."""
    return g.get("api_token") is not None


def _skip_for_tokens(csrf_hook: Callable[[], Any]) -> Callable[[], Any]:
    @wraps(csrf_hook)
    def hook() -> Any:
        if token_request():
            return None
        return csrf_hook()

    return hook


def install(app: Flask) -> None:
    """Run the bearer check first of all request hooks and let token requests pass CSRF."""
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.insert(0, authenticate_bearer)
    csrf = [i for i, hook in enumerate(hooks) if hook.__name__ == "csrf_protect"]
    if "csrf" in app.extensions and not csrf:
        raise RuntimeError("Flask-WTF's csrf_protect hook not found: token requests would need CSRF")
    for index in csrf:
        hooks[index] = _skip_for_tokens(hooks[index])


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """An API view for signed-in callers: 401 (not a redirect to the sign-in page) otherwise."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            raise AuthenticationFailed(_l("Cần đăng nhập hoặc gửi mã truy cập (Authorization: Bearer)."))
        return view(*args, **kwargs)

    return wrapper


def _token_key() -> str:
    return f"token:{g.api_token.id}"


def limit(blueprint: Blueprint) -> None:
    """Per token (API_RATE_LIMIT) and per client address (API_IP_RATE_LIMIT), counted in Redis
    when REDIS_URL is set, else in this process's memory."""
    # Shared limits: one count per token (per address) across every endpoint, not one per endpoint.
    limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT"], scope="api-token", key_func=_token_key,
                         exempt_when=lambda: not token_request())(blueprint)
    limiter.shared_limit(lambda: current_app.config["API_IP_RATE_LIMIT"], scope="api-ip",
                         key_func=get_remote_address)(blueprint)
