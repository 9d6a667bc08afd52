"""Report files and submitted reports (issue 6): the export of a live report (XLSX, CSV, JSON),
submitting a school's or a unit's report, reopening one, and the page of a submitted report.

Rules: the services decide who may do what; a bad query (period, year) is a 400 with its message,
an unknown format a 404; the two POSTs go back to the page they came from (or the report
overview) with a message, and a refusal (409 already submitted, 422 no reason, 403) is an error
page with its status.
"""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from repository.errors import DomainError, ValidationError
from repository.reports import export, periods
from repository.services import report_reminders  # noqa: F401 (declares the setting reports.reminder_days)
from repository.services import report_submissions, schools
from repository.web import safe_next
from storage import content_disposition

bp = Blueprint("report_exports", __name__, url_prefix="/reports")
MAX_TEXT = 60  # longer query values are not periods or codes; the services say so
TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8", "json": "application/json"}


@bp.app_template_filter("report_period")
def _period_filter(key: str) -> str:
    """A period key as people write it ("month:2026-11" -> "Tháng 11/2026"), for notices."""
    try:
        return export.period_label(key)
    except DomainError:
        return key


def _arg(name: str) -> Optional[str]:
    return (request.args.get(name) or "").strip()[:MAX_TEXT] or None


def _bad_query(error: ValidationError) -> DomainError:
    """A period or year that does not parse is a bad request (400), as on the report pages."""
    return DomainError(error.message, field_errors=error.field_errors)


def _file(body: bytes, fmt: str, name: str) -> Response:
    return Response(body, mimetype=TYPES[fmt], headers={"Content-Disposition": content_disposition(name, inline=False),
                                                        "Cache-Control": "private, no-store"})


def _render(report: Any, fmt: str, title_unit: str, generated_on: Any = None) -> bytes:
    if fmt == "xlsx":
        return export.to_xlsx(report, title_unit, generated_on)
    return export.to_csv(report) if fmt == "csv" else export.to_json(report)


@bp.route("/export.<fmt>", endpoint="export")
@login_required
def export_file(fmt: str) -> Any:
    """The report the user may see, as a file named after its period and unit."""
    if fmt not in TYPES:
        abort(404)
    try:
        report, title, scope = report_submissions.for_export(current_user, _arg("year"), _arg("period"), _arg("unit"),
                                                             _arg("school"))
    except ValidationError as error:
        raise _bad_query(error) from None
    return _file(_render(report, fmt, title), fmt, export.filename(report, scope, fmt))


def _back(fallback: str) -> Any:
    """The page the form was on when it is on this site, else `fallback`."""
    referrer = urlsplit(request.referrer or "")
    local = safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    return redirect(local if referrer.netloc == request.host and local else fallback, 303)


def _int(name: str) -> int:
    raw = (request.form.get(name) or "").strip()
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        msg = _l("Thiếu hoặc sai mã đơn vị nộp báo cáo.")
        raise ValidationError(msg, field_errors={name: [msg]})
    return int(raw)


@bp.route("/submissions", methods=["POST"])
@login_required
def submit() -> Any:
    """Submit the school's (kind=school) or the unit's (kind=unit) report of a period."""
    kind, period = request.form.get("kind", ""), (request.form.get("period") or "").strip()[:MAX_TEXT]
    if kind == "school":
        school = schools.get_school(current_user, _int("target_id"))
        row = report_submissions.submit_school(current_user, school, period)
        fallback = url_for("reports.school", school_id=school.id, period=row.period)
    elif kind == "unit":
        unit = schools.get_unit(current_user, _int("target_id"))
        row = report_submissions.submit_unit(current_user, unit, period)
        fallback = url_for("reports.overview", period=row.period, unit=unit.code)
    else:
        raise ValidationError(_l("Loại báo cáo phải là của trường hoặc của đơn vị."))
    flash(_("Đã nộp báo cáo %(period)s.", period=export.period_label(row.period)), "success")
    if row.late:
        flash(_("Báo cáo được ghi nhận là nộp muộn (hạn: trước ngày %(day)s).", day=row.due_on.strftime("%d/%m/%Y")),
              "warning")
    return _back(fallback)


@bp.route("/submissions/<int:submission_id>/reopen", methods=["POST"])
@login_required
def reopen(submission_id: int) -> Any:
    row = report_submissions.reopen(current_user, submission_id, request.form.get("reason", ""))
    flash(_("Đã mở lại báo cáo %(period)s; đơn vị có thể nộp lại.", period=export.period_label(row.period)), "success")
    return _back(url_for("reports.overview", period=row.period))


def _frozen_title(row: Any, figures: dict[str, Any]) -> str:
    """The school's (or unit's) name as it was when the report was submitted."""
    if row.school is not None:
        return next((r["school"]["name"] for r in figures.get("schools", []) if r["school"]["code"] == row.school.code),
                    row.school.name)
    return next((u["unit"]["name"] for u in figures.get("units", []) if u["unit"]["code"] == row.unit.code),
                row.unit.name)


@bp.route("/submissions/<int:submission_id>")
@login_required
def submission(submission_id: int) -> Any:
    """The frozen figures of a submission, as a page or (format=xlsx|csv|json) as a file."""
    row, figures = report_submissions.submitted_report(current_user, submission_id)
    title = _frozen_title(row, figures)
    fmt = request.args.get("format", "")
    if fmt:
        if fmt not in TYPES:
            abort(404)
        generated = periods.local_date(row.submitted_at)
        scope = row.school.code if row.school is not None else row.unit.code
        return _file(_render(figures, fmt, title, generated), fmt, export.filename(figures, scope, fmt))
    return render_template("reports/submission.html", submission=row, figures=figures, title_unit=title,
                           groups=list(export.rows(figures)), period_text=export.period_label(row.period))
