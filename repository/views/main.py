"""Home page, privacy notice and the list of schools a person may follow."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from repository import curriculum
from repository.services import schools

bp = Blueprint("main", __name__)


@bp.route("/")
def home() -> Any:
    return render_template("main/home.html")


@bp.route("/privacy")
def privacy() -> Any:
    return render_template("main/privacy.html")


@bp.route("/schools")
@login_required
def school_list() -> Any:
    rows = schools.list_schools(current_user, text=request.args.get("q", "")[:100])
    return render_template("main/schools.html", schools=rows, school_type=curriculum.school_type)


@bp.route("/schools/<int:school_id>")
@login_required
def school_detail(school_id: int) -> Any:
    school = schools.get_school(current_user, school_id)
    return render_template("main/school.html", school=school, history=schools.school_history(current_user, school),
                           grades=schools.effective_grades(school), school_type=curriculum.school_type)
