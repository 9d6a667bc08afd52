"""Write a search change-log row in the same transaction as every change that affects search.

A session hook sees every flushed Material, MaterialFile and ReviewState (which files are
public during a revision), so no service can forget to tell the index. After the transaction commits, the embedded default applies the log at once
(SEARCH_APPLY=inline); with SEARCH_APPLY=worker a `flask --app app search worker` does it.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Optional

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, insert
from sqlalchemy.orm import Session

from repository.models import Material, MaterialFile, ReviewState, SearchChange

log = logging.getLogger(__name__)
PENDING_KEY = "search_changed"
# Material columns whose change does not affect any indexed field.
_UNINDEXED = frozenset({"view_count"})
_clock = time.monotonic  # tests replace it: batching must not depend on how fast a test runs


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


class DownloadBatch:
    """Materials of one process whose download count is due in the index, held back until the
    first of them has waited `seconds`: then all go into the log together. Every logged row
    makes the index replace that material's document, a deletion in a large segment that
    invalidates the search engine's cached docsets of that segment; a batch costs that once."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.since: Optional[float] = None
        self._lock = threading.Lock()

    def add(self, material_id: int, now: float, seconds: float) -> list[int]:
        """Hold `material_id`; return the materials to log now (none until the batch is due)."""
        with self._lock:
            self.ids.add(material_id)
            if self.since is None:
                self.since = now
            if now - self.since < seconds:
                return []
            due, self.ids, self.since = sorted(self.ids), set(), None
            return due


def _download_batch() -> DownloadBatch:
    return current_app.extensions.setdefault("search_download_batch", DownloadBatch())


def download_counted(session: Session, material_id: int, new_count: int) -> None:
    """Log a download-count change for the "most downloaded" sort, but only at small counts and
    at every tenth download: re-indexing on every download would put an index commit behind
    each one, and an order accurate to a tenth is what the sort needs. With
    SEARCH_DOWNLOAD_BATCH_SECONDS > 0 the changes of a process are logged together at most that
    often (a material's count reaches the sort that much later; the batch held by a process that
    stops is lost until the material's next logged change or a reindex)."""
    if not (new_count <= 10 or new_count % 10 == 0):
        return
    seconds = float(current_app.config.get("SEARCH_DOWNLOAD_BATCH_SECONDS") or 0) if has_app_context() else 0.0
    due = _download_batch().add(material_id, _clock(), seconds) if seconds > 0 else [material_id]
    if due:
        session.execute(insert(SearchChange), [{"material_id": i} for i in due])
        session.info[PENDING_KEY] = True


def install() -> None:
    """Register the hooks once for every SQLAlchemy session."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
