"""Figures of reviewer work, per reviewer and per school: items decided, median time to decision
(hours), decisions taken after the deadline, and items waiting past the deadline now.

Rules: counts come from SQL aggregates over review_decisions (one query per table, no loop over
schools); the median is taken in Python over the durations of one ordered query, because SQLite has
no percentile function. Reviewers are shown by id and current name (an anonymised account shows as
anonymised). The reports issue reads these figures too.
"""
from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import Integer, cast, func, select

from repository.csvfiles import spreadsheet_safe
from repository.extensions import db
from repository.models import Material, ReviewDecision, ReviewState, School, User, utcnow
from repository.permissions import require
from repository.services import guarded, settings
from repository.services.review_queue import _effective_state, _waiting_since
from repository import workflow


@dataclass
class FigureRow:
    key_id: Optional[int]
    name: str
    decided: int
    median_hours: Optional[float]
    late: int
    overdue_now: int = 0


def _medians(column: Any, since: Optional[datetime]) -> dict[Optional[int], float]:
    query = select(column, ReviewDecision.waiting_since, ReviewDecision.decided_at)
    if since is not None:
        query = query.where(ReviewDecision.decided_at >= since)
    hours: dict[Optional[int], list[float]] = {}
    for key, start, end in db.session.execute(query):
        hours.setdefault(key, []).append((end - start).total_seconds() / 3600)
    return {key: round(statistics.median(values), 1) for key, values in hours.items()}


def _counts(column: Any, since: Optional[datetime]) -> list[Any]:
    query = select(column, func.count(), func.sum(cast(ReviewDecision.late, Integer))).group_by(column)
    if since is not None:
        query = query.where(ReviewDecision.decided_at >= since)
    return list(db.session.execute(query))


@guarded("review.figures")
def by_reviewer(actor: Any, since: Optional[datetime] = None) -> list[FigureRow]:
    require(actor, "review.figures")
    medians = _medians(ReviewDecision.reviewer_id, since)
    names = {u.id: u.full_name for u in db.session.scalars(select(User).where(
        User.id.in_(select(ReviewDecision.reviewer_id).distinct())))}
    rows = [FigureRow(rid, names.get(rid, "CLI"), n, medians.get(rid), int(late or 0))
            for rid, n, late in _counts(ReviewDecision.reviewer_id, since)]
    return sorted(rows, key=lambda r: (-r.decided, r.name))


@guarded("review.figures")
def by_school(actor: Any, since: Optional[datetime] = None) -> list[FigureRow]:
    require(actor, "review.figures")
    medians = _medians(ReviewDecision.school_id, since)
    deadline = utcnow() - timedelta(days=settings.get("review.deadline_days"))
    overdue = dict(db.session.execute(
        select(Material.school_id, func.count()).outerjoin(ReviewState, ReviewState.material_id == Material.id)
        .where(_effective_state().in_(list(workflow.QUEUE_STATES)), _waiting_since() < deadline)
        .group_by(Material.school_id)).all())
    counts = {sid: (n, int(late or 0)) for sid, n, late in _counts(ReviewDecision.school_id, since)}
    ids = set(counts) | set(overdue)
    names = {s.id: s.name for s in db.session.scalars(select(School).where(School.id.in_(ids)))} if ids else {}
    rows = [FigureRow(sid, names.get(sid, str(sid)), counts.get(sid, (0, 0))[0], medians.get(sid),
                      counts.get(sid, (0, 0))[1], overdue.get(sid, 0)) for sid in ids]
    return sorted(rows, key=lambda r: (-r.decided, r.name))


@guarded("review.figures")
def figures_csv(actor: Any, since: Optional[datetime] = None) -> str:
    """Both tables in one CSV (UTF-8 with BOM, for Excel): a `scope` column tells them apart."""
    require(actor, "review.figures")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["scope", "id", "name", "decided", "median_hours", "late_decisions", "overdue_now"])
    for scope, rows in (("reviewer", by_reviewer(actor, since)), ("school", by_school(actor, since))):
        for row in rows:
            writer.writerow([scope, row.key_id or "", spreadsheet_safe(row.name), row.decided,
                             "" if row.median_hours is None else row.median_hours, row.late,
                             row.overdue_now if scope == "school" else ""])
    return "\ufeff" + out.getvalue()
