"""The audit trail: one row per consequential action, written in the caller's transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select

from repository.extensions import db
from repository.models import AuditEvent
from repository.permissions import require
from repository.services import guarded, unguarded


@unguarded("writes the trail of an action its caller has already authorised")
def record(actor: Any, action: str, target: Any = None, **details: Any) -> AuditEvent:
    """Add an audit row for `action` by `actor` on `target`; the caller's commit persists it."""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        target_type=type(target).__tablename__ if hasattr(target, "__tablename__") else None,
        target_id=getattr(target, "id", None),
        details={k: v for k, v in details.items() if v is not None},
    )
    if getattr(actor, "is_system", False):
        event.details["via"] = "cli"
    db.session.add(event)
    return event


@dataclass
class AuditFilters:
    """Search criteria of the audit page; empty fields do not filter."""

    action: str = ""
    actor_id: Optional[int] = None
    target_type: str = ""
    target_id: Optional[int] = None
    since: Optional[datetime] = None
    until: Optional[datetime] = None


@guarded("audit.view")
def list_events(actor: Any, *, action: str | None = None, limit: int = 200,
                filters: Optional[AuditFilters] = None) -> list[AuditEvent]:
    """The newest audit events matching the filters (an action prefix such as "review." works)."""
    require(actor, "audit.view")
    filters = filters or AuditFilters(action=action or "")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(min(limit, 1000))
    if filters.action:
        exact = not filters.action.endswith(".")
        query = query.where(AuditEvent.action == filters.action if exact
                            else AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id is not None:
        query = query.where(AuditEvent.target_id == filters.target_id)
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    return list(db.session.scalars(query))
