"""Department pages for administrative units: the department and the communes/wards."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from repository.errors import DomainError
from repository.forms import UnitForm
from repository.services import schools
from repository.views import flash_errors

bp = Blueprint("units", __name__, url_prefix="/admin/units")


@bp.route("/")
@login_required
def unit_list() -> Any:
    return render_template("admin/units.html", units=schools.list_units(current_user),
                           counts=schools.school_counts_by_unit(current_user))


@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def unit_edit(unit_id: int) -> Any:
    unit = schools.get_unit(current_user, unit_id)
    form = UnitForm(obj=unit)
    status = 200
    if form.validate_on_submit():
        try:
            schools.update_unit(current_user, unit, name=form.name.data, active=form.active.data)
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            flash(_("Đã lưu đơn vị %(name)s.", name=unit.name), "success")
            return redirect(url_for("units.unit_list"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/unit_form.html", form=form, unit=unit), status
