"""Contribution report pages (issue 6): the department's province, a commune/ward officer's unit,
a school's coverage matrix, a teacher's own contributions, the year's rules and a school's
electives. Exports and submissions live in repository.views.report_exports.

Rule: a bad query (period, year, unit) re-renders the page with the message and status 400; what
the actor may not see is the service's to refuse (403/404).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from babel.numbers import get_decimal_symbol
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from repository import curriculum
from repository.errors import DomainError, NotFound, ValidationError
from repository.reports import cells, figures, periods
from repository.services import report_submissions, reports, schools
from repository.views import flash_errors
from repository.views import report_picker as picker
from repository.views.report_forms import ElectivesForm, YearRulesForm

bp = Blueprint("reports", __name__, url_prefix="/reports")
BAD_QUERY = 400


@bp.context_processor
def _report_helpers() -> dict[str, Any]:
    return {"period_label": picker.label, "subject_name": cells.subject_name,
            "grade_names": {grade.code: grade.name for grade in curriculum.grades()},
            # shares are written by hand: babel's format_percent per row cost ~0.2 ms × 1,600 schools
            "decimal_sign": get_decimal_symbol(get_locale()), "local_time": _local_time, "today": periods.today()}


def _local_time(moment: datetime) -> str:
    """A stored (naive UTC) instant as a local "dd/mm/yyyy hh:mm" (the board shows hundreds)."""
    return moment.replace(tzinfo=timezone.utc).astimezone(periods.LOCAL).strftime("%d/%m/%Y %H:%M")


def _picker(first_year: int, starts_on: Any) -> dict[str, Any]:
    return {"choices": picker.choices(first_year, starts_on), "school_years": picker.school_years(first_year)}


def _groups(report: figures.Report) -> list[tuple[figures.Totals, list[figures.SchoolFigures]]]:
    """The report's schools under their reporting unit's subtotal, in the report's order."""
    rows: dict[str, list[figures.SchoolFigures]] = {}
    for row in report.schools:
        rows.setdefault(row.reports_to["code"], []).append(row)
    return [(unit, rows.get(unit.code, [])) for unit in report.units]


def _failed_picker(year: Optional[str]) -> dict[str, Any]:
    """The picker of a page whose request failed: the named school year if it parses, else today's."""
    label = periods.school_year_label(picker.fallback_year(year))
    return _picker(int(label[:4]), reports.resolve(label, f"schoolyear:{label}").period.first)


def _unit_code(home: reports.Landing) -> str:
    """The unit asked for; by default a unit officer's (first) unit, the department's province."""
    asked = (request.args.get("unit") or "").strip()[:32]
    return asked or (home.units[0].code if home.kind == "unit" and home.units else "")


@bp.route("/")
@login_required
def overview() -> Any:
    """The department's province (or one unit of it) and a unit officer's unit; school staff go to
    their school's matrix, everyone else to their own contributions."""
    home = reports.landing(current_user)
    if home.kind == "own":
        return redirect(url_for("reports.mine"))
    if home.kind == "school":  # a role at a school is only granted to its own staff: one school
        kept = {k: v for k, v in request.args.items() if k in picker.QUERY_KEYS}
        return redirect(url_for("reports.school", school_id=home.schools[0].id, **kept))
    year, period = picker.requested(request.args)
    unit_code = _unit_code(home)
    try:
        report = reports.contributions(current_user, year, period, unit=unit_code or None)
    except (ValidationError, NotFound) as error:
        return render_template("reports/overview.html", home=home, report=None, error=error.message,
                               unit_code=unit_code, **_failed_picker(year)), BAD_QUERY
    key = report.period.key
    unit = next((u for u in home.units if u.code == unit_code), None)
    submittable = report.period.submittable
    board = report_submissions.board(current_user, key, unit_code or None) if submittable else None
    own = report_submissions.in_force(None, unit.id, key) if home.kind == "unit" and unit and submittable else None
    return render_template("reports/overview.html", home=home, report=report, unit=unit, unit_code=unit_code,
                           groups=_groups(report), ranking=figures.ranking(report), behind=figures.behind(report),
                           board=board, unit_submission=own,
                           query=picker.query(report.rules.school_year, key, unit_code),
                           **_picker(report.rules.first_year, report.rules.starts_on))


@bp.route("/schools/<int:school_id>")
@login_required
def school(school_id: int) -> Any:
    """A school's coverage matrix, teachers, gaps, monthly trend and its submission."""
    target = schools.get_school(current_user, school_id)
    year, period = picker.requested(request.args)
    try:
        matrix = reports.school_matrix(current_user, target, year, period)
    except (ValidationError, NotFound) as error:
        status = BAD_QUERY if isinstance(error, ValidationError) else error.status
        return render_template("reports/school.html", school=target, matrix=None, error=error.message,
                               **_failed_picker(year)), status
    when = matrix.when
    submission = report_submissions.in_force(target.id, None, when.period.key) if when.period.submittable else None
    upper = any(grade in cells.UPPER_SECONDARY for grade in matrix.grades)
    return render_template("reports/school.html", school=target, matrix=matrix, submission=submission,
                           upper_secondary=upper, query=picker.query(when.rules.school_year, when.period.key),
                           **_picker(when.rules.first_year, when.rules.starts_on))


@bp.route("/me")
@login_required
def mine() -> Any:
    """The signed-in user's own materials: whether each counts in the school year, and why not."""
    year = (request.args.get("year") or "").strip()[:20] or None
    try:
        when, items = reports.my_contributions(current_user, year)
    except ValidationError as error:
        first_year = picker.fallback_year(year)
        return render_template("reports/mine.html", when=None, items=[], error=error.message,
                               school_years=picker.school_years(first_year)), BAD_QUERY
    return render_template("reports/mine.html", when=when, items=items,
                           counted=sum(1 for item in items if item.counts),
                           school_years=picker.school_years(when.rules.first_year))


def _year_param() -> Optional[str]:
    return (request.args.get("year") or "").strip()[:20] or None


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> Any:
    """The department admin edits a school year's rules (stored with the year)."""
    year = _year_param() or reports.resolve(None, None).rules.school_year
    try:
        rules = reports.year_rules(current_user, year)
    except ValidationError as error:
        return render_template("reports/settings.html", rules=None, form=None, error=error.message,
                               school_years=picker.school_years(picker.fallback_year(None))), BAD_QUERY
    form = YearRulesForm() if request.method == "POST" else YearRulesForm.of(rules)
    status = 200
    if form.validate_on_submit():
        try:
            saved = reports.set_year_rules(current_user, rules.school_year, form.values())
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            flash(_("Đã lưu quy định năm học %(year)s.", year=saved.school_year), "success")
            return redirect(url_for("reports.settings", year=saved.school_year), 303)
    elif request.method == "POST":
        status = 422
    return render_template("reports/settings.html", rules=rules, form=form,
                           school_years=picker.school_years(rules.first_year)), status


@bp.route("/schools/<int:school_id>/electives", methods=["GET", "POST"])
@login_required
def electives(school_id: int) -> Any:
    """A school declares the grade 10-12 electives it teaches in a school year."""
    target = schools.get_school(current_user, school_id)
    year = _year_param() or reports.resolve(None, None).rules.school_year
    try:
        offered = reports.elective_options(current_user, target, year)
        chosen = reports.electives(current_user, target, year)
    except ValidationError as error:
        return render_template("reports/electives.html", school=target, form=None, error=error.message,
                               year=year, school_years=[]), BAD_QUERY
    label = periods.school_year_label(periods.school_year_first(year))
    form = ElectivesForm() if request.method == "POST" else ElectivesForm(data={"subjects": chosen})
    form.offer([(code, cells.subject_name(code)) for code in offered])
    status = 200
    if form.validate_on_submit():
        try:
            saved = reports.set_electives(current_user, target, label, list(form.subjects.data or []))
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            flash(_("Đã lưu %(n)d môn học lựa chọn của năm học %(year)s.", n=len(saved), year=label), "success")
            return redirect(url_for("reports.school", school_id=target.id, year=label, period=f"schoolyear:{label}"),
                            303)
    elif request.method == "POST":
        status = 422
    upper = any(grade in cells.UPPER_SECONDARY for grade in schools.effective_grades(target))
    return render_template("reports/electives.html", school=target, form=form, year=label, upper_secondary=upper,
                           school_years=picker.school_years(periods.school_year_first(label))), status
