"""Apply the search change log to one index directory, from that directory's own cursor.

The cursor (cursor.json in the generation directory) is the highest log id L below which every
row has been applied, plus the ids above L already applied. On PostgreSQL, transactions commit
out of sequence order: row 101 can be visible while row 100 is not yet committed. So ids above
L are tracked one by one, and a hole below the highest applied id is waited for; only a hole
older than GAP_SECONDS (a rolled-back transaction burns its sequence number) is given up on.
Applying a row re-reads the material's current state, so applying a row twice is harmless:
the cursor is saved after the Whoosh commit, and a crash in between only repeats work.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from whoosh.index import LockError

from repository.models import SearchChange

log = logging.getLogger(__name__)
CURSOR_FILE = "cursor.json"
GAP_SECONDS = 600
BATCH = 2000


@dataclass
class Cursor:
    low: int = 0
    seen: set[int] = field(default_factory=set)
    gaps: dict[int, float] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> "Cursor":
        """The saved cursor; a missing or damaged one starts from the beginning of the log, which
        only repeats work (applying a row twice is harmless)."""
        try:
            data = json.loads((directory / CURSOR_FILE).read_text())
            return cls(int(data["low"]), {int(i) for i in data["seen"]},
                       {int(k): float(v) for k, v in data["gaps"].items()})
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("search cursor in %s unreadable (%s); applying the whole log again", directory, error)
            return cls()

    def save(self, directory: Path) -> None:
        data = {"low": self.low, "seen": sorted(self.seen), "gaps": self.gaps}
        temporary = directory / f".{CURSOR_FILE}.{os.getpid()}"
        temporary.write_text(json.dumps(data))
        os.replace(temporary, directory / CURSOR_FILE)

    def mark(self, ids: Iterable[int], now: float) -> None:
        """Record applied ids and move `low` over every contiguous or timed-out id."""
        self.seen.update(i for i in ids if i > self.low)
        while self.seen:
            following = self.low + 1
            if following in self.seen:
                self.seen.discard(following)
                self.gaps.pop(following, None)
                self.low = following
                continue
            first_noticed = self.gaps.setdefault(following, now)
            if now - first_noticed < GAP_SECONDS:
                break
            log.warning("search log id %s never committed; skipping it", following)
            self.gaps.pop(following)
            self.low = following


def pending(session: Session, cursor: Cursor) -> list[tuple[int, int]]:
    """(log id, material id) rows above the cursor that it has not applied, oldest first."""
    rows = session.execute(
        select(SearchChange.id, SearchChange.material_id)
        .where(SearchChange.id > cursor.low).order_by(SearchChange.id)
        .limit(BATCH + len(cursor.seen))
    ).all()
    return [(r[0], r[1]) for r in rows if r[0] not in cursor.seen][:BATCH]


def start_cursor(session: Session) -> Cursor:
    """Where a freshly built index starts: after every row old enough to be surely committed
    (and so surely reflected in the materials the build reads afterwards)."""
    horizon = time.time() - GAP_SECONDS
    from datetime import datetime, timezone

    cutoff = datetime.fromtimestamp(horizon, timezone.utc).replace(tzinfo=None)
    low = session.scalar(select(func.max(SearchChange.id)).where(SearchChange.at < cutoff))
    return Cursor(low=int(low or 0))


def apply_pending(directory: Path, index: Any, session: Session,
                  write_docs: Callable[[Any, Session, set[int]], None],
                  lock_timeout: float = 30.0) -> int:
    """Apply every pending row to the index in `directory`; return how many rows were applied.

    `write_docs(writer, session, material_ids)` updates or deletes the documents of those
    materials. Raises whoosh LockError if another writer holds the index past `lock_timeout`.
    """
    applied = 0
    while True:
        if not pending(session, Cursor.load(directory)):
            return applied
        writer = index.writer(timeout=lock_timeout, limitmb=128)
        try:
            cursor = Cursor.load(directory)  # re-read under the lock: another applier may have run
            rows = pending(session, cursor)
            write_docs(writer, session, {material_id for _, material_id in rows})
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        cursor.mark((log_id for log_id, _ in rows), time.time())
        cursor.save(directory)
        session.rollback()  # end the read transaction so the next round sees new commits
        applied += len(rows)
        if not rows:
            return applied


__all__ = ["Cursor", "apply_pending", "pending", "start_cursor", "LockError"]
