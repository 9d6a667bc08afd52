"""Reviewer queues: "waiting for me", the escalation list of overdue items, and bulk decisions.

Rules: an item is in the actor's queue when its state (or its pending revision's) waits for a step
the actor may take on it (permissions.py: school, subject/level assignment, never their own).
Oldest first; the age is counted from when the item entered its state; past review.deadline_days it
is overdue. The database narrows by state and school; the policy filters the rest.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, or_, select

from repository import workflow
from repository.errors import DomainError, NotFound
from repository.extensions import db
from repository.models import Material, ReviewState, Role, utcnow
from repository.permissions import can, require, schools_where
from repository.services import guarded, review, settings

_LIMIT = 500


@dataclass
class QueueItem:
    material: Material
    state: str
    waiting_since: datetime
    age_days: int
    overdue: bool
    claimed_by_id: Optional[int]
    claimed_by_other: bool


@dataclass
class QueueFilters:
    subject: str = ""
    grade: str = ""
    school_id: Optional[int] = None
    min_age_days: Optional[int] = None


def _effective_state() -> Any:
    return func.coalesce(ReviewState.revision, Material.status)


def _waiting_since() -> Any:
    """When the item entered its state; a material imported in a review state has no review row
    yet, and waits since its last change."""
    return func.coalesce(ReviewState.entered_at, Material.updated_at)


def _waiting_query(filters: QueueFilters) -> Any:
    query = (select(Material).outerjoin(ReviewState, ReviewState.material_id == Material.id)
             .where(_effective_state().in_(list(workflow.QUEUE_STATES))).order_by(_waiting_since(), Material.id))
    if filters.subject:
        query = query.where(Material.subject == filters.subject)
    if filters.school_id:
        query = query.where(Material.school_id == filters.school_id)
    if filters.min_age_days:
        query = query.where(_waiting_since() <= utcnow() - timedelta(days=filters.min_age_days))
    return query


def _item(actor: Any, material: Material, deadline: timedelta) -> QueueItem:
    state, row = workflow.state_of(material), material.review
    since = row.entered_at if row else material.updated_at
    age = utcnow() - since
    claimed = row and row.claim_expires_at and row.claim_expires_at > utcnow()
    claimed_by = row.claimed_by_id if claimed else None
    return QueueItem(material, state, since, age.days, age > deadline, claimed_by,
                     bool(claimed_by and claimed_by != getattr(actor, "id", None)))


@guarded("review.queue")
def waiting_for(actor: Any, filters: Optional[QueueFilters] = None) -> list[QueueItem]:
    """The items waiting for the actor's decision, oldest first."""
    require(actor, "review.queue")
    filters = filters or QueueFilters()
    query = _waiting_query(filters).where(Material.owner_id != getattr(actor, "id", None))
    # The department's queue is the department step; the school step is for the schools where the
    # actor holds a school role (the department admin may take it too, but not as a queue).
    steps = []
    if actor.role_codes() & {Role.DEPT_REVIEWER.value, Role.DEPT_ADMIN.value}:
        steps.append(_effective_state() == "school_approved")
    schools = schools_where(actor, Role.SCHOOL_REVIEWER, Role.SCHOOL_ADMIN)
    if schools:
        steps.append(and_(Material.school_id.in_(schools), _effective_state() == "submitted"))
    query = query.where(or_(*steps)) if steps else query.where(false())
    deadline = timedelta(days=settings.get("review.deadline_days"))
    items = []
    for material in db.session.scalars(query.limit(_LIMIT * 4)):
        if filters.grade and filters.grade not in (material.grades or []):
            continue
        if can(actor, "review.decide", material):
            items.append(_item(actor, material, deadline))
        if len(items) >= _LIMIT:
            break
    return items


@guarded("review.escalations")
def escalations(actor: Any) -> list[QueueItem]:
    """Overdue items: every school's for the department admin, their schools' for a school admin."""
    require(actor, "review.escalations")
    deadline = timedelta(days=settings.get("review.deadline_days"))
    query = _waiting_query(QueueFilters()).where(_waiting_since() < utcnow() - deadline)
    if Role.DEPT_ADMIN.value not in actor.role_codes():
        query = query.where(Material.school_id.in_(schools_where(actor, Role.SCHOOL_ADMIN)))
    return [_item(actor, m, deadline) for m in db.session.scalars(query.limit(_LIMIT))]


@guarded("review.queue")
def decide_many(actor: Any, material_ids: list[int], action: str, reason: str = "") -> list[tuple[int, Optional[str]]]:
    """Apply one decision to several items; each succeeds or fails on its own (a refused item is
    left unchanged). Returns (id, None) or (id, the reason it was refused)."""
    require(actor, "review.queue")
    if action not in workflow.DECISIONS:
        raise workflow.IllegalTransition(_l("Thao tác không hợp lệ."))
    results: list[tuple[int, Optional[str]]] = []
    for material_id in dict.fromkeys(material_ids):
        material = db.session.get(Material, material_id)
        try:
            if material is None:
                raise NotFound(_l("Không tìm thấy học liệu."))
            review.perform(actor, material, action, reason)
        except DomainError as error:
            db.session.rollback()
            results.append((material_id, str(error.message)))
        else:
            results.append((material_id, None))
    return results
