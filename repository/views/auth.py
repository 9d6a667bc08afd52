"""Sign-in, sign-out, forgotten password, one-time links and the language switch."""
from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from repository.credentials import PURPOSE_ACTIVATE, PURPOSE_RESET
from repository.errors import AuthenticationFailed, DomainError, NotFound, Throttled
from repository.extensions import limiter
from repository.forms import ForgotPasswordForm, LoginForm, NewPasswordForm
from repository.services import accounts
from repository.views import flash_errors
from repository.web import LANGUAGES, safe_next

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _clear_session() -> None:
    """Start a fresh session, keeping only the language the person chose."""
    lang = session.get("lang")
    session.clear()
    if lang in LANGUAGES:
        session["lang"] = lang


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except (AuthenticationFailed, Throttled) as error:
            flash(str(error.message), "danger")
            status = error.status
        else:
            _clear_session()
            login_user(user)
            return redirect(safe_next(form.next.data) or url_for("main.home"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        # The audit row names the account itself, not Flask-Login's proxy to it.
        accounts.record_sign_out(current_user._get_current_object())
    logout_user()
    _clear_session()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        flash(_("Nếu e-mail này có tài khoản, một liên kết đặt lại mật khẩu đã được gửi tới hộp thư."), "info")
        return redirect(url_for("auth.login"))
    from repository import mail

    return render_template("auth/forgot.html", form=form, mail_enabled=mail.configured())


def _token_page(raw: str, purpose: str, template: str) -> Any:
    try:
        user = accounts.user_for_token(raw, purpose)
    except NotFound as error:
        return render_template("error.html", status=404, message=error.message), 404
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.redeem_token(raw, purpose, form.new_password.data)
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            flash(_("Đã đặt mật khẩu. Hãy đăng nhập bằng mật khẩu mới."), "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 422
    return render_template(template, form=form, user=user), status


@bp.route("/account/reset/<raw>", methods=["GET", "POST"])
def reset_password(raw: str) -> Any:
    return _token_page(raw, PURPOSE_RESET, "auth/reset.html")


@bp.route("/account/activate/<raw>", methods=["GET", "POST"])
def activate(raw: str) -> Any:
    return _token_page(raw, PURPOSE_ACTIVATE, "auth/activate.html")


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str) -> Any:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next")) or url_for("main.home"))
