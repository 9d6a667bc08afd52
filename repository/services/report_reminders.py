"""Reminders of report deadlines, sent by `flask --app app reports remind` (run daily by cron).

Rules (issue 6): the school admins of every school and the officers of every commune/ward that
have not submitted the current month's, quarter's or calendar year's report get a notification
when its deadline is exactly `reports.reminder_days` days away, or fewer when they were not
reminded yet (the command did not run that day, or a submission was reopened); never twice for
the same period, target and recipient. A deadline is not a reminder any more on its own day: the
report is late from then on and the board shows it overdue.
The notice stores codes only and is worded when read (templates/reports/_reminder.txt).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from repository.extensions import db
from repository.models import Notification, ReportSubmission, Role, RoleAssignment, UnitKind, User, UserStatus
from repository.reports import periods
from repository.reports.figures import Province
from repository.reports.periods import Period
from repository.services import notifications, reports, settings, unguarded

REMINDER = "report_reminder"
MAX_DAYS = 15  # the current month's, quarter's and year's deadlines are the only ones this close

settings.declare("reports.reminder_days", 3, settings.int_between(1, MAX_DAYS),
                 _l("Nhắc nộp báo cáo trước hạn bao nhiêu ngày"), "int")


@unguarded("a pure function of the date")
def due_soon(today: date, days: int) -> list[Period]:
    """The current month, quarter and year whose deadline is 1..`days` days after `today`."""
    quarter = (today.month - 1) // 3 + 1
    keys = (f"month:{today:%Y-%m}", f"quarter:{today.year}-Q{quarter}", f"year:{today.year}")
    return [p for p in map(periods.parse, keys) if 0 < (p.due - today).days <= days]


def _holders(role: Role, column: Any) -> dict[int, list[int]]:
    """Target id -> the active accounts holding `role` there (one query)."""
    query = (select(column, RoleAssignment.user_id).join(User, User.id == RoleAssignment.user_id)
             .where(RoleAssignment.role == role.value, column.is_not(None), User.status == UserStatus.ACTIVE.value))
    found: dict[int, list[int]] = {}
    for target_id, user_id in db.session.execute(query):
        found.setdefault(target_id, []).append(user_id)
    return found


def _reminded(keys: list[str]) -> set[tuple[int, str, str, int]]:
    """(user, period, target kind, target id) of the reminders already sent for these periods.
    By period, not by date: `--today` may replay a day other than the real one."""
    query = select(Notification.user_id, Notification.details).where(
        Notification.kind == REMINDER, Notification.details["period"].as_string().in_(keys))
    return {(user_id, (d or {}).get("period"), (d or {}).get("target"), (d or {}).get("target_id"))
            for user_id, d in db.session.execute(query)}


def _in_force(key: str) -> set[tuple[str, int]]:
    query = select(ReportSubmission.school_id, ReportSubmission.unit_id).where(
        ReportSubmission.period == key, ReportSubmission.reopened_at.is_(None))
    return {("school", s) if s is not None else ("unit", u) for s, u in db.session.execute(query)}


def _owing(period: Period) -> list[tuple[str, Any]]:
    """(kind, school or unit) that owe the period's report: the schools with their own report at
    its end, and the communes/wards those schools report to."""
    when = reports.resolve(None, period.key)
    province = Province(when.rules.school_year)
    shown = [s for s in province.schools.values() if province.shown(s, when.period.end_utc)]
    units = {s.reports_to_id for s in shown}
    return ([("school", s) for s in shown] +
            [("unit", u) for uid, u in province.units.items() if uid in units and u.kind != UnitKind.DEPARTMENT.value])


@unguarded("the operator's daily command; each recipient hears only about their own school or unit")
def send_reminders(today: Optional[date] = None) -> int:
    """Notify who has not submitted a report due in `reminder_days` days or fewer (see the module
    rules), then e-mail the notices; returns the number of notifications made."""
    today = today or periods.today()
    due = due_soon(today, int(settings.get("reports.reminder_days")))
    if not due:
        return 0
    admins, officers = _holders(Role.SCHOOL_ADMIN, RoleAssignment.school_id), _holders(Role.UNIT_OFFICER,
                                                                                      RoleAssignment.unit_id)
    reminded = _reminded([p.key for p in due])
    rows: list[Notification] = []
    for period in due:
        done = _in_force(period.key)
        for kind, target in _owing(period):
            if (kind, target.id) in done:
                continue
            for user_id in (admins if kind == "school" else officers).get(target.id, []):
                if (user_id, period.key, kind, target.id) in reminded:
                    continue
                reminded.add((user_id, period.key, kind, target.id))
                rows.append(Notification(user_id=user_id, kind=REMINDER, details={
                    "period": period.key, "due": period.due.isoformat(), "target": kind, "target_id": target.id,
                    "code": target.code}))
    db.session.add_all(rows)
    db.session.commit()
    notifications.deliver(rows)
    return len(rows)
