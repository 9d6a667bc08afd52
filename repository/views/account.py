"""A signed-in person's own account: profile, password, and the personal data held about them."""
from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import DataRequired, Length, Optional
from flask_login import current_user, login_required, login_user

from repository.errors import DomainError
from repository.forms import ChangePasswordForm, ConfirmForm
from repository.services import accounts, tokens
from repository.views import flash_errors

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/")
@login_required
def profile() -> Any:
    return render_template("account/profile.html", data=accounts.personal_data(current_user))


@bp.route("/data.json")
@login_required
def download_data() -> Any:
    body = json.dumps(accounts.personal_data(current_user), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=du-lieu-ca-nhan.json"})


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = current_user._get_current_object()  # the audit row needs the account, not the proxy
            accounts.change_password(user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            # The token rotated: renew this session's id so only the other sessions end.
            login_user(user)
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất."), "success")
            return redirect(url_for("account.profile"))
    elif request.method == "POST":
        status = 422
    return render_template("account/password.html", form=form), status


# --- personal access tokens for the API (issue 7) ------------------------------------------------

class TokenForm(FlaskForm):
    name = StringField(_l("Tên gợi nhớ (ví dụ: phần mềm quản lý trường)"), validators=[DataRequired(), Length(max=100)])
    read_only = BooleanField(_l("Chỉ đọc (không thay đổi được dữ liệu)"))
    expires_on = DateField(_l("Ngày hết hạn (không bắt buộc)"), validators=[Optional()])


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def api_tokens() -> Any:
    """List, and create: a new token is shown on this response only."""
    form = TokenForm()
    created, status = None, 200
    if form.validate_on_submit():
        try:
            _token, created = tokens.create_token(current_user._get_current_object(), current_user._get_current_object(),
                                                  form.name.data, read_only=form.read_only.data,
                                                  expires_on=form.expires_on.data)
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            form = TokenForm(formdata=None)
    elif request.method == "POST":
        status = 422
    response = make_response(render_template("account/tokens.html", form=form, created=created, revoke=ConfirmForm(),
                                             tokens=tokens.list_tokens(current_user)), status)
    response.headers["Cache-Control"] = "no-store"  # the page may show a new token
    return response


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id: int) -> Any:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    tokens.revoke_token(current_user._get_current_object(), token_id)
    flash(_("Đã thu hồi mã truy cập."), "success")
    return redirect(url_for("account.api_tokens"))
