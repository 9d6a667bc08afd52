"""Write a search change-log row in the same transaction as every change that affects search.

A session hook sees every flushed Material, MaterialFile and ReviewState (which files are
public during a revision), so no service can forget to tell the index. After the transaction commits, the embedded default applies the log at once
(SEARCH_APPLY=inline); with SEARCH_APPLY=worker a `flask --app app search worker` does it.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, insert
from sqlalchemy.orm import Session

from repository.models import Material, MaterialFile, ReviewState, SearchChange

log = logging.getLogger(__name__)
PENDING_KEY = "search_changed"
# Material columns whose change does not affect any indexed field.
_UNINDEXED = frozenset({"view_count"})


def _affects_index(material: Material) -> bool:
    state = inspect(material)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in _UNINDEXED)


def _changed_material_ids(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Material) and obj.id is not None:
            if obj in session.dirty and not _affects_index(obj):
                continue
            ids.add(obj.id)
        elif isinstance(obj, (MaterialFile, ReviewState)) and obj.material_id is not None:
            ids.add(obj.material_id)  # files, and which of them are public during a revision
    return ids


def _after_flush(session: Session, flush_context: Any) -> None:
    ids = _changed_material_ids(session)
    if ids:
        session.connection().execute(insert(SearchChange), [{"material_id": i} for i in sorted(ids)])
        session.info[PENDING_KEY] = True


def _after_commit(session: Session) -> None:
    if not session.info.pop(PENDING_KEY, False) or not has_app_context():
        return
    if current_app.config.get("SEARCH_APPLY", "inline") != "inline":
        return
    from search import service_index

    service_index().apply_soon()


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(PENDING_KEY, None)


def download_counted(session: Session, material_id: int, new_count: int) -> None:
    """Log a download-count change for the "most downloaded" sort, but only at small counts and
    at every tenth download: re-indexing on every download would put an index commit behind
    each one, and an order accurate to a tenth is what the sort needs."""
    if new_count <= 10 or new_count % 10 == 0:
        session.execute(insert(SearchChange).values(material_id=material_id))
        session.info[PENDING_KEY] = True


def install() -> None:
    """Register the hooks once for every SQLAlchemy session."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
