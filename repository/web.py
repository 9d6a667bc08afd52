"""Web wiring: locale, sign-in sessions, idle expiry, security headers and the error pages.

Sessions: the Flask-Login id carries the account's session token, so rotating the token (password
change, admin reset, disabling) ends every other session at its next request. A session idle for
longer than SESSION_IDLE_MINUTES ends too.
"""
from __future__ import annotations

import time
from typing import Any, Optional
from urllib.parse import urlsplit

from flask import (
    Flask,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from werkzeug.middleware.proxy_fix import ProxyFix

from repository import curriculum, permissions
from repository.credentials import password_change_required
from repository.errors import AuthenticationFailed, DomainError, status_for
from repository.extensions import db, login_manager
from repository.models import User

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
# Pages a signed-in user who must change their password may still reach.
_PASSWORD_CHANGE_EXEMPT = {"account.change_password", "auth.logout", "static", "auth.set_language",
                           "bootstrap.static", "main.privacy"}


def select_locale() -> str:
    from flask import current_app, has_request_context

    lang = session.get("lang") if has_request_context() else None
    return lang if lang in LANGUAGES else current_app.config["DEFAULT_LOCALE"]


def safe_next(target: Optional[str]) -> Optional[str]:
    """Only a local path ("/..." but not "//host" or "/\\host") may follow sign-in."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return None
    return target


@login_manager.user_loader
def _load_user(session_id: str) -> Optional[User]:
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit():
        return None
    # The roles come in the same query: every signed-in request reads them (permissions, menus).
    user = db.session.get(User, int(user_id), options=[joinedload(User.roles)])
    if user is None or user.session_token != token or not user.is_active:
        return None
    return user


def _enforce_idle_timeout() -> Any:
    from flask import current_app

    if not current_user.is_authenticated or g.get("api_token") is not None:
        return None  # a token request has no session to expire (repository/api/auth.py)
    now = time.time()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    last_seen = session.get("last_seen", now)
    if now - last_seen > idle:
        logout_user()
        session.pop("last_seen", None)
        flash(_l("Phiên làm việc đã hết hạn do không hoạt động. Vui lòng đăng nhập lại."), "warning")
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    # Rewrite the cookie at most once a minute: a response that re-sends it (a video range
    # request, a stylesheet) could otherwise overwrite a newer cookie, such as the one carrying
    # a confirmation message.
    if now - last_seen >= 60 or "last_seen" not in session:
        session["last_seen"] = now
    if not session.permanent:
        session.permanent = True
    return None


def _enforce_password_change() -> Any:
    if not current_user.is_authenticated or request.endpoint in _PASSWORD_CHANGE_EXEMPT:
        return None
    if g.get("api_token") is not None:
        return None  # the password page is for sessions; a token is its own credential
    if password_change_required(current_user):
        flash(_l("Bạn cần đặt mật khẩu mới trước khi tiếp tục."), "warning")
        return redirect(url_for("account.change_password"))
    return None


def _content_security_policy() -> str:
    """Only 'self'; images and media may also come from the public object-store origin, where
    previews are presigned. (data: images are Bootstrap's inline SVG icons.)"""
    from flask import current_app

    store = ""
    if current_app.config["STORAGE_BACKEND"] == "s3":
        endpoint = current_app.config["S3_PUBLIC_ENDPOINT_URL"] or current_app.config["S3_ENDPOINT_URL"]
        parts = urlsplit(endpoint) if endpoint else None
        store = f" {parts.scheme}://{parts.netloc}" if parts and parts.netloc else ""
    return (f"default-src 'self'; img-src 'self' data:{store}; media-src 'self'{store}; object-src 'none'; "
            "frame-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", _content_security_policy())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def wants_json() -> bool:
    """API calls and the upload page's XMLHttpRequests get errors as JSON."""
    return (request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"
            or request.headers.get("X-Requested-With") == "XMLHttpRequest")


def error_response(status: int, message: Any) -> Any:
    if wants_json():
        return jsonify({"error": {"code": status, "message": str(message)}}), status
    return render_template("error.html", status=status, message=message), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Any:
        db.session.rollback()
        if isinstance(error, AuthenticationFailed) and not wants_json() and not current_user.is_authenticated:
            # A page that needs a signed-in user: sign in first, then come back.
            flash(str(error.message), "info")
            return redirect(url_for("auth.login", next=request.full_path))
        return error_response(status_for(error), error.message)

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError) -> Any:
        db.session.rollback()
        app.logger.error("database unavailable: %s", error)
        return error_response(503, _l("Cơ sở dữ liệu tạm thời không phản hồi. Vui lòng thử lại sau ít phút."))

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Any:
        return error_response(400, _l("Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thử lại."))

    @app.errorhandler(429)
    def _too_many(error: HTTPException) -> Any:
        return error_response(429, _l("Bạn thao tác quá nhanh. Vui lòng đợi một lát rồi thử lại."))

    @app.errorhandler(413)
    def _too_large(error: HTTPException) -> Any:
        return error_response(413, _l("Dữ liệu gửi lên quá lớn."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        messages = {404: _l("Không tìm thấy trang."), 405: _l("Phương thức không được hỗ trợ."),
                    400: _l("Yêu cầu không hợp lệ.")}
        message = messages.get(error.code, _l("Không thực hiện được yêu cầu (mã lỗi %(code)d).", code=error.code or 500))
        return error_response(error.code or 500, message)


class _DatabaseId(IntegerConverter):
    """`<int:...>` in every route: a number beyond a 32-bit database id is simply not found
    (404), instead of overflowing the database driver (a 500)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: Optional[int] = None,  # noqa: A002
                 max: Optional[int] = 2**31 - 1, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def init_web(app: Flask) -> None:
    """Register blueprints, request hooks, template helpers and error pages."""
    app.url_map.converters["int"] = _DatabaseId
    from repository import api, oai
    from repository.api import auth as api_auth
    from repository.views import account, admin, auth, labels, main, materials, units
    from repository.views import report_exports
    from repository.views import reports as report_views
    from repository.views import review as review_views
    from repository.views import search as search_views

    if app.config["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
    login_manager.login_message_category = "info"
    for blueprint in (main.bp, auth.bp, account.bp, admin.bp, units.bp, materials.bp, api.bp, search_views.bp,
                      api.docs_bp, oai.bp, review_views.bp, review_views.notifications_bp, report_views.bp,
                      report_exports.bp):
        app.register_blueprint(blueprint)
    app.before_request(_enforce_idle_timeout)
    app.before_request(_enforce_password_change)
    app.after_request(_security_headers)
    _register_error_handlers(app)
    api_auth.install(app)  # bearer tokens: checked first of all hooks, and exempt from CSRF

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        return {"can": lambda action, obj=None: permissions.can(current_user, action, obj),
                "languages": LANGUAGES, "current_lang": select_locale(), "role_labels": labels.ROLE_LABELS,
                "status_labels": labels.STATUS_LABELS, "school_event_labels": labels.SCHOOL_EVENT_LABELS,
                "unit_kind_labels": labels.UNIT_KIND_LABELS,
                "material_status_labels": labels.MATERIAL_STATUS_LABELS,
                "material_event_labels": labels.MATERIAL_EVENT_LABELS,
                "licence_names": {lic.code: lic.name for lic in curriculum.licences()}}
