"""A signed-in person's own account: profile, password, and the personal data held about them."""
from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from repository.errors import DomainError
from repository.forms import ChangePasswordForm
from repository.services import accounts
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
