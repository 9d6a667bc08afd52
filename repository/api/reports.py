"""Contribution-report endpoints: a period's figures and the board of submissions.

GET /reports/contributions?year=2026-2027&period=month:2026-11&unit=CODE returns
{"year", "period", "schools": [...], "units": [...], "total": {...}} (coverage a fraction 0..1),
scoped by the service: the department's admins and reviewers see every school, a commune/ward
officer the unit's, a school admin the school's; anyone else 403. A period or year that does not
parse is a 400; an unknown unit a 404.
"""
from __future__ import annotations

from typing import Any, Optional

from flask import jsonify, request
from flask_login import current_user

from repository.api import bp
from repository.api.auth import signed_in
from repository.api.pagination import page_request, paginate
from repository.api.serialize import timestamp
from repository.errors import DomainError, ValidationError
from repository.reports import periods
from repository.services import report_submissions, reports

MAX_TEXT = 60  # longer values are not periods, years or codes; the services say what is wrong


def _arg(name: str) -> Optional[str]:
    return (request.args.get(name) or "").strip()[:MAX_TEXT] or None


def _bad_request(error: ValidationError) -> DomainError:
    """A query that does not parse is a bad request (400), not an unprocessable body."""
    return DomainError(error.message, field_errors=error.field_errors)


@bp.get("/reports/contributions")
@signed_in
def report_contributions() -> Any:
    try:
        report = reports.contributions(current_user, _arg("year"), _arg("period"), _arg("unit"))
    except ValidationError as error:
        raise _bad_request(error) from None
    return jsonify(report.as_json())


def _board_row(row: report_submissions.BoardRow) -> dict[str, Any]:
    sub = row.submission
    return {"kind": row.kind, "code": row.code, "name": row.name, "reports_to": row.reports_to_name,
            "submitted": sub is not None, "submission_id": sub.id if sub else None,
            "submitted_at": timestamp(sub.submitted_at) if sub else None, "late": row.late, "overdue": row.overdue}


@bp.get("/reports/submissions")
@signed_in
def report_submission_board() -> Any:
    """Who has and has not submitted a period's report (the caller's board), paged."""
    paging = page_request()
    try:
        board = report_submissions.board(current_user, _arg("period") or periods.current_month().key, _arg("unit"))
    except ValidationError as error:
        raise _bad_request(error) from None
    return jsonify({"period": board.period.key, "due": board.period.due.isoformat(),
                    **paginate(board.rows, paging, _board_row)})
