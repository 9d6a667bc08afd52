"""Submitted contribution reports: a school's report, a unit's consolidated report, reopening,
the board of who has and has not submitted, and the export of a live report.

Rules (issue 6):
- a school admin submits the school's report, a commune/ward officer the consolidated report of
  the schools reporting to the unit, for a period that has a deadline (month, quarter, calendar
  year) and has begun; the figures are frozen as they are at that moment (Report.as_json()), with
  who and when, so later data changes never alter them; submitting also stores ("freezes") the
  school year's rules row so the year stays reproducible;
- late: submitted on or after the due date (local date, Asia/Ho_Chi_Minh); overdue: the due date
  has come and nothing is in force;
- one submission in force per period and school (or unit): a second one is refused with 409
  until the department admin reopens the first (reason required); the reopened row is kept;
- every submit and reopen is audited.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from repository.errors import Conflict, NotFound, ValidationError
from repository.extensions import db
from repository.models import AdminUnit, ReportSubmission, Role, School, UnitKind, User, utcnow
from repository.permissions import can, require, units_where
from repository.reports import figures, periods
from repository.reports import rules as rulesmod
from repository.reports.figures import Province, Report
from repository.reports.periods import Period
from repository.services import audit, guarded, reports, schools, unguarded

MAX_REASON = 1000


@dataclass
class BoardRow:
    """One school or unit that owes the period's report, with its submission in force (if any)."""

    kind: str  # "school" or "unit"
    id: int
    code: str
    name: str
    reports_to_name: str
    submission: Optional[ReportSubmission]
    late: bool
    overdue: bool


@dataclass
class Board:
    period: Period
    rows: list[BoardRow] = field(default_factory=list)


# --- looking submissions up ----------------------------------------------------------------------

@unguarded("a lookup by ids the caller has already been allowed to see")
def in_force(school_id: Optional[int], unit_id: Optional[int], period_key: str) -> Optional[ReportSubmission]:
    """The newest not-reopened submission of the period for this school (or this unit)."""
    query = select(ReportSubmission).where(ReportSubmission.period == period_key,
                                           ReportSubmission.reopened_at.is_(None))
    query = query.where(ReportSubmission.school_id == school_id if school_id is not None
                        else ReportSubmission.school_id.is_(None))
    query = query.where(ReportSubmission.unit_id == unit_id if unit_id is not None
                        else ReportSubmission.unit_id.is_(None))
    return db.session.scalar(query.options(defer(ReportSubmission.figures)).order_by(ReportSubmission.id.desc()).limit(1))


@guarded("report.view_school")
def submitted_report(actor: Any, submission_id: int) -> tuple[ReportSubmission, dict[str, Any]]:
    """A submission and its frozen figures: for whoever may see the school's (or unit's) report."""
    row = db.session.get(ReportSubmission, submission_id)
    if row is None:
        raise NotFound(_l("Không tìm thấy báo cáo đã nộp."))
    if row.school is not None:
        require(actor, "report.view_school", row.school)
    else:
        require(actor, "report.view_unit", row.unit)
    return row, row.figures


# --- submitting and reopening --------------------------------------------------------------------

def _with_deadline(period: str) -> Period:
    chosen = periods.parse(period)
    if not chosen.submittable:
        msg = _l("Chỉ nộp được báo cáo tháng, quý hoặc năm (kỳ %(period)s không có hạn nộp).", period=chosen.key)
        raise ValidationError(msg, field_errors={"period": [msg]})
    return chosen


def _submittable(period: str, today: date) -> Period:
    """A period with a deadline that has begun (a month's report is due inside the month)."""
    chosen = _with_deadline(period)
    if chosen.first > today:
        msg = _l("Kỳ %(period)s chưa bắt đầu nên chưa nộp được báo cáo.", period=chosen.key)
        raise ValidationError(msg, field_errors={"period": [msg]})
    return chosen


def _freeze(actor: Any, scope: set[int], period: Period) -> tuple[reports.When, Report]:
    """The period's figures over `scope` now, and the year's rules stored if they were not."""
    when = reports.resolve(None, period.key)
    report = figures.compute(when.rules, when.calendar, when.period, scope)
    if report.schools and not when.rules.stored:
        rulesmod.store(when.rules, getattr(actor, "id", None))
    return when, report


def _save(actor: Any, when: reports.When, report: Report, now: datetime, **target: Any) -> ReportSubmission:
    """Insert the submission; a concurrent one that won the race is a 409 as well."""
    period = when.period
    row = ReportSubmission(school_year=when.rules.school_year, period=period.key, figures=report.as_json(),
                           submitted_by_id=actor.id, submitted_at=now, due_on=period.due,
                           late=periods.local_date(now) >= period.due, **target)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # a unique index on the submissions in force, where the schema has one
        db.session.rollback()
        raise _already(period) from None
    return row


def _already(period: Period) -> Conflict:
    return Conflict(_l("Báo cáo kỳ %(period)s đã được nộp. Muốn nộp lại, hãy đề nghị Sở mở lại báo cáo đã nộp.",
                       period=period.key))


def _lock(model: type, target_id: int) -> None:
    """Serialise concurrent submissions for one target (a row lock on PostgreSQL)."""
    db.session.execute(select(model.id).where(model.id == target_id).with_for_update())


@guarded("report.submit_school")
def submit_school(actor: Any, school: School, period: str, *, now: Optional[datetime] = None) -> ReportSubmission:
    """Freeze and submit the school's report of `period` (`now`, naive UTC, for tests only)."""
    require(actor, "report.submit_school", school)
    now = now or utcnow()
    chosen = _submittable(period, periods.local_date(now))
    _lock(School, school.id)
    if in_force(school.id, None, chosen.key) is not None:
        raise _already(chosen)
    when, report = _freeze(actor, {school.id}, chosen)
    if not report.schools:
        raise Conflict(_l("Trường này không có báo cáo riêng trong kỳ này (đã sáp nhập hoặc ngừng hoạt động)."))
    row = _save(actor, when, report, now, school_id=school.id)
    audit.record(actor, "report.submit", row, period=row.period, school=school.code, late=row.late)
    db.session.commit()
    return row


@guarded("report.submit_unit")
def submit_unit(actor: Any, unit: AdminUnit, period: str, *, now: Optional[datetime] = None) -> ReportSubmission:
    """Freeze and submit the consolidated report of the schools reporting to `unit`."""
    require(actor, "report.submit_unit", unit)
    now = now or utcnow()
    chosen = _submittable(period, periods.local_date(now))
    if unit.kind == UnitKind.DEPARTMENT.value:
        raise ValidationError(_l("Sở không nộp báo cáo tổng hợp cho chính mình; xã/phường mới nộp."))
    _lock(AdminUnit, unit.id)
    if in_force(None, unit.id, chosen.key) is not None:
        raise _already(chosen)
    scope = set(db.session.scalars(select(School.id).where(School.reports_to_id == unit.id)))
    when, report = _freeze(actor, scope, chosen) if scope else (None, None)
    if report is None or not report.schools:
        raise Conflict(_l("Không có trường nào báo cáo cho %(unit)s trong kỳ này.", unit=unit.name))
    row = _save(actor, when, report, now, unit_id=unit.id)
    audit.record(actor, "report.submit", row, period=row.period, unit=unit.code, late=row.late,
                 schools=len(report.schools))
    db.session.commit()
    return row


@guarded("report.reopen")
def reopen(actor: Any, submission_id: int, reason: str) -> ReportSubmission:
    """Reopen a submission in force (the row stays, marked reopened) so that a new one can be made."""
    require(actor, "report.reopen")
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        msg = (_l("Hãy ghi lý do mở lại báo cáo.") if not text
               else _l("Lý do dài quá %(n)d ký tự.", n=MAX_REASON))
        raise ValidationError(msg, field_errors={"reason": [msg]})
    row = db.session.get(ReportSubmission, submission_id)
    if row is None:
        raise NotFound(_l("Không tìm thấy báo cáo đã nộp."))
    if row.reopened_at is not None:
        raise Conflict(_l("Báo cáo này đã được mở lại trước đó."))
    row.reopened_at, row.reopened_by_id, row.reopen_reason = utcnow(), getattr(actor, "id", None), text
    audit.record(actor, "report.reopen", row, period=row.period, reason=text,
                 school=row.school.code if row.school else None, unit=row.unit.code if row.unit else None)
    db.session.commit()
    return row


# --- the board -----------------------------------------------------------------------------------

def _scope(actor: Any, target: Optional[AdminUnit]) -> tuple[Optional[set[int]], Optional[set[int]]]:
    """(school ids, unit ids) on the actor's board; None: all of them. A unit's own row is shown
    to the department, to whom the unit reports."""
    if target is not None:
        ids = set(db.session.scalars(select(School.id).where(School.reports_to_id == target.id)))
        return ids, ({target.id} if can(actor, "report.view_all") else set())
    schools = reports.default_scope(actor)  # the department: None (all), else the actor's schools
    return schools, (None if schools is None else set())


@guarded("report.view_unit")
def board(actor: Any, period: str, unit: Optional[str] = None, *, today: Optional[date] = None) -> Board:
    """Who owes `period`'s report and who has submitted it: the department sees every school and
    every commune/ward with schools reporting to it, a unit officer the unit's schools, a school's
    admin the school. A fixed number of queries whatever the number of schools."""
    target = reports.unit_by_code(unit) if unit else None
    if target is not None:
        require(actor, "report.view_unit", target)
    school_ids, unit_ids = _scope(actor, target)
    chosen = _with_deadline(period)
    when = reports.resolve(None, chosen.key)
    province = Province(when.rules.school_year)
    end = when.period.end_utc
    shown = [s for s in province.schools.values()
             if province.shown(s, end) and (school_ids is None or s.id in school_ids)]
    owing_units = {s.reports_to_id for s in shown} if unit_ids is None else unit_ids
    units = [u for uid, u in province.units.items() if uid in owing_units and u.kind != UnitKind.DEPARTMENT.value]
    submitted = _submitted(chosen.key)
    today = today or periods.today()
    department = current_app.config["DEPARTMENT_NAME"]
    rows = [_row("unit", u, department, submitted.get(("unit", u.id)), chosen, today) for u in units]
    rows += [_row("school", s, province.units[s.reports_to_id].name, submitted.get(("school", s.id)), chosen, today)
             for s in shown]
    rows.sort(key=lambda r: (r.name if r.kind == "unit" else r.reports_to_name, r.kind != "unit", r.name, r.code))
    return Board(chosen, rows)


def _submitted(key: str) -> dict[tuple[str, int], ReportSubmission]:
    found: dict[tuple[str, int], ReportSubmission] = {}
    # The frozen figures stay in the database: the board needs who and when, not 1,700 JSON documents.
    query = (select(ReportSubmission).options(defer(ReportSubmission.figures))
             .where(ReportSubmission.period == key, ReportSubmission.reopened_at.is_(None))
             .order_by(ReportSubmission.id))
    for row in db.session.scalars(query):  # the newest wins, should two ever be in force
        found[("school", row.school_id) if row.school_id is not None else ("unit", row.unit_id)] = row
    return found


def _row(kind: str, target: Any, reports_to: str, submission: Optional[ReportSubmission], period: Period,
         today: Any) -> BoardRow:
    return BoardRow(kind, target.id, target.code, target.name, reports_to, submission,
                    late=bool(submission and submission.late), overdue=submission is None and today >= period.due)


# --- the export of a live report -----------------------------------------------------------------

@guarded("report.view_unit")
def for_export(actor: Any, year: Optional[str], period: Optional[str], unit: Optional[str] = None,
               school: Optional[str] = None) -> tuple[Report, str, str]:
    """The report the actor may see (as reports.contributions, or one school's), the name of the
    reporting unit for the title block (the school or unit asked for, the department for the
    province, else the actor's unit(s) or school) and the scope's code for the file name."""
    if school:
        target_school = schools.school_by_code(school)
        if target_school is None:
            raise NotFound(_l("Không có trường mã “%(code)s”.", code=school[:32]))
        require(actor, "report.view_school", target_school)
        return reports.school_report(actor, target_school, year, period), target_school.name, target_school.code
    title = ""
    if unit:
        target = reports.unit_by_code(unit)
        require(actor, "report.view_unit", target)
        title = target.name
    report = reports.contributions(actor, year, period, unit)
    scope = unit or ""
    if not title and can(actor, "report.view_all"):
        title = current_app.config["DEPARTMENT_NAME"]
    elif not title and isinstance(actor, User) and units_where(actor, Role.UNIT_OFFICER):
        title, scope = ", ".join(u.name for u in report.units), "-".join(u.code for u in report.units)
    elif not title:
        title, scope = ", ".join(row.name for row in report.schools), "-".join(row.code for row in report.schools)
    return report, title or current_app.config["DEPARTMENT_NAME"], scope
