"""The audit trail: one row per consequential action, written in the caller's transaction."""
from __future__ import annotations

from typing import Any

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


@guarded("audit.view")
def list_events(actor: Any, *, action: str | None = None, limit: int = 200) -> list[AuditEvent]:
    """The newest audit events, optionally of one action."""
    require(actor, "audit.view")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(min(limit, 1000))
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))
