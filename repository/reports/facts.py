"""Contribution facts: each material's approval intervals, one row per grade, from its audit trail.

Rules:
- an interval opens when the material enters an approved state (school approval, or publication
  directly in the one-level configuration, or an import with an approved status — counted from
  the material's recorded approval or creation date); the department publication inside it sets
  `published_at`; leaving the approved states (retracted, taken down, rejected, sent back for
  changes) closes it at that moment;
- decisions on a pending revision leave the material approved and change nothing, except a
  revision approval that raises it (school-approved -> published), which is its publication;
- a material is a duplicate when one of its current files has the checksum of a file of an
  earlier material (created before it) of another school;
- subject, grades and school are the material's current ones: the school is the one recorded at
  its creation, which moving its author does not change.

A session hook (install) refreshes the facts of every material a transaction touched just before
it commits, so no service can forget them; `rebuild` recomputes everything (after an upgrade,
or to repair what `check` finds).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Optional

from sqlalchemy import and_, delete, event, insert, inspect, or_, select
from sqlalchemy.orm import Session, aliased

from repository.models import AuditEvent, ContributionFact, Material, MaterialFile

APPROVED = ("school_approved", "published")
_RANK = {"school_approved": 1, "published": 2}
_DECISIONS = tuple(f"review.{a}" for a in ("school_approve", "publish", "request_changes", "reject", "retract",
                                            "take_down"))
IMPORTED = "material.imported"
_WATCHED = frozenset({"status", "subject", "grades", "school_id", "owner_id"})
PENDING_KEY = "report_facts_pending"
CHUNK = 500


@dataclass
class Interval:
    opened: datetime
    published: Optional[datetime] = None
    ended: Optional[datetime] = None


def _events(session: Session, ids: list[int]) -> dict[int, list[AuditEvent]]:
    rows = session.scalars(select(AuditEvent)
                           .where(AuditEvent.target_type == "materials", AuditEvent.target_id.in_(ids),
                                  AuditEvent.action.in_(_DECISIONS + (IMPORTED,)))
                           .order_by(AuditEvent.at, AuditEvent.id))
    by_material: dict[int, list[AuditEvent]] = {}
    for row in rows:
        by_material.setdefault(row.target_id, []).append(row)
    return by_material


def _target(event_row: AuditEvent, status: Optional[str]) -> Optional[str]:
    """The material state this event leaves, or None when it leaves the material as it was."""
    details = event_row.details or {}
    if event_row.action == IMPORTED:
        return details.get("status")
    target = details.get("to_state")
    if details.get("revision"):
        return target if target in APPROVED and _RANK[target] > _RANK.get(status or "", 0) else None
    return target


def intervals(material: Material, events: Iterable[AuditEvent]) -> list[Interval]:
    """The material's approval intervals, oldest first (see the module rules)."""
    out: list[Interval] = []
    current: Optional[Interval] = None
    status: Optional[str] = None
    for row in events:
        target = _target(row, status)
        if target is None:
            continue
        when = (material.approved_at or material.created_at) if row.action == IMPORTED else row.at
        current = _step(current, out, target, when)
        status = target
    if current is None and material.status in APPROVED:  # rows older than the audit trail
        when = material.approved_at or material.created_at
        current = Interval(when, when if material.status == "published" else None)
    elif current is not None and material.status not in APPROVED:
        current.ended = material.updated_at
    if current is not None:
        out.append(current)
    return out


def _step(current: Optional[Interval], done: list[Interval], target: str, when: datetime) -> Optional[Interval]:
    if target in APPROVED:
        if current is None:
            return Interval(when, when if target == "published" else None)
        if target == "published" and current.published is None:
            current.published = when
        return current
    if current is not None:
        current.ended = when
        done.append(current)
    return None


def _duplicates(session: Session, ids: list[int]) -> set[int]:
    """Materials among `ids` with a current file whose checksum an earlier material of another
    school already has."""
    mine, other = aliased(MaterialFile), aliased(MaterialFile)
    m, m2 = aliased(Material), aliased(Material)
    query = (select(mine.material_id).distinct()
             .join(m, m.id == mine.material_id)
             .join(other, and_(other.sha256 == mine.sha256, other.material_id != mine.material_id))
             .join(m2, m2.id == other.material_id)
             .where(mine.material_id.in_(ids), mine.is_current.is_(True), m2.school_id != m.school_id,
                    or_(m2.created_at < m.created_at, and_(m2.created_at == m.created_at, m2.id < m.id))))
    return set(session.scalars(query))


def _rows(material: Material, found: list[Interval], duplicate: bool) -> list[dict[str, Any]]:
    grades = list(dict.fromkeys(material.grades or []))
    return [{"material_id": material.id, "school_id": material.school_id, "owner_id": material.owner_id,
             "subject": material.subject, "grade": grade, "school_approved_at": span.opened,
             "published_at": span.published, "ended_at": span.ended, "duplicate": duplicate, "main": n == 0}
            for span in found for n, grade in enumerate(grades)]


def refresh(session: Session, material_ids: Iterable[int]) -> int:
    """Recompute the facts of these materials (deleted ones lose theirs); returns rows written."""
    ids = sorted(set(material_ids))
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        session.execute(delete(ContributionFact).where(ContributionFact.material_id.in_(chunk)))
        found = list(session.scalars(select(Material).where(Material.id.in_(chunk))))
        events, duplicates = _events(session, chunk), _duplicates(session, chunk)
        rows = [row for material in found
                for row in _rows(material, intervals(material, events.get(material.id, [])),
                                 material.id in duplicates)]
        if rows:
            session.execute(insert(ContributionFact), rows)
        written += len(rows)
    return written


def rebuild(session: Session) -> int:
    """Recompute every material's facts (the caller commits); returns the number of rows."""
    session.execute(delete(ContributionFact))
    ids = list(session.scalars(select(Material.id).order_by(Material.id)))
    return refresh(session, ids)


def stale(session: Session) -> list[int]:
    """Materials whose stored facts differ from what their history says (for `check`)."""
    stored: dict[int, set[tuple]] = {}
    for row in session.execute(select(ContributionFact.material_id, ContributionFact.grade,
                                      ContributionFact.school_approved_at, ContributionFact.ended_at,
                                      ContributionFact.duplicate, ContributionFact.subject,
                                      ContributionFact.school_id)):
        stored.setdefault(row[0], set()).add(tuple(row[1:]))
    wrong: list[int] = []
    ids = list(session.scalars(select(Material.id).order_by(Material.id)))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        events, duplicates = _events(session, chunk), _duplicates(session, chunk)
        for material in session.scalars(select(Material).where(Material.id.in_(chunk))):
            expected = {(r["grade"], r["school_approved_at"], r["ended_at"], r["duplicate"], r["subject"],
                         r["school_id"])
                        for r in _rows(material, intervals(material, events.get(material.id, [])),
                                       material.id in duplicates)}
            if expected != stored.pop(material.id, set()):
                wrong.append(material.id)
    return wrong + sorted(stored)  # facts of materials that no longer exist


# --- the session hook ---------------------------------------------------------------------------

def _touched(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Material) and obj.id is not None:
            state = inspect(obj)
            if obj in session.dirty and not any(state.attrs[k].history.has_changes() for k in _WATCHED):
                continue
            ids.add(obj.id)
        elif isinstance(obj, MaterialFile) and obj.material_id is not None:
            ids.add(obj.material_id)
    return ids


def _after_flush(session: Session, flush_context: Any) -> None:
    ids = _touched(session)
    if ids:
        session.info.setdefault(PENDING_KEY, set()).update(ids)


def _before_commit(session: Session) -> None:
    # commit() calls this before its own flush: flush first, so that rows added since the last
    # flush are seen too.
    if session.new or session.dirty or session.deleted:
        session.flush()
    ids = session.info.pop(PENDING_KEY, None)
    if ids:
        refresh(session, ids)


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(PENDING_KEY, None)


def install() -> None:
    """Register the hooks once for every SQLAlchemy session."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)

