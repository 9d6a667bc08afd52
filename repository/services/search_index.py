"""Operating the search index: rebuild, apply the change log, prune it, compare with the DB.

A write to the index that the disk refuses (full, or over a size limit) is a 503 with the reason,
never a traceback: the live index and the log are left as they were, so running the same command
again once there is room finishes the work."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterator

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert

from repository.errors import DomainError
from repository.extensions import db
from repository.models import SearchChange, utcnow
from repository.permissions import require
from repository.services import guarded
from search import service_index

# Rows older than this are pruned by the worker; an index whose cursor fell further behind
# than that is rebuilt instead of being caught up.
LOG_RETENTION = timedelta(days=30)


class IndexWriteFailed(DomainError):
    status = 503


@contextmanager
def _index_writes() -> Iterator[None]:
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        raise IndexWriteFailed(_l("Không ghi được chỉ mục tìm kiếm (%(reason)s). Hãy kiểm tra dung lượng đĩa và "
                                  "quyền ghi của thư mục chỉ mục rồi chạy lại lệnh; chỉ mục đang dùng không bị ảnh "
                                  "hưởng.", reason=reason)) from error


@dataclass
class IndexReport:
    documents: int = 0
    materials: int = 0
    missing: list[int] = field(default_factory=list)  # in the database, not in the index
    extra: list[int] = field(default_factory=list)  # in the index, not in the database
    stale: list[int] = field(default_factory=list)  # indexed from an older state
    damaged: str = ""  # why the live index could not be read, if it could not
    rebuilt: bool = False  # repair rebuilt a damaged index
    repaired: int = 0

    @property
    def problems(self) -> int:
        unrepaired_damage = 1 if self.damaged and not self.rebuilt else 0
        return len(self.missing) + len(self.extra) + len(self.stale) + unrepaired_damage


@guarded("search.manage")
def rebuild(actor: Any) -> str:
    """Build a fresh index generation from the database and switch to it atomically."""
    require(actor, "search.manage")
    with _index_writes():
        return str(service_index().rebuild())


@guarded("search.manage")
def apply_log(actor: Any) -> int:
    """Apply pending change-log rows to this host's index; return how many were applied."""
    require(actor, "search.manage")
    with _index_writes():
        return service_index().apply()


@guarded("search.manage")
def prune_log(actor: Any) -> int:
    """Delete change-log rows older than LOG_RETENTION; return how many were deleted."""
    require(actor, "search.manage")
    result = db.session.execute(delete(SearchChange).where(SearchChange.at < utcnow() - LOG_RETENTION))
    db.session.commit()
    return int(result.rowcount or 0)


@guarded("search.manage")
def check_index(actor: Any, *, repair: bool = False) -> IndexReport:
    """Compare every material with its index document; with `repair`, log the differing ones
    again and apply the log, which rewrites or deletes exactly those documents. A live index that
    cannot be read (damaged files, a broken `current` link) is reported as damaged; `repair`
    rebuilds it from the database first."""
    require(actor, "search.manage")
    index = service_index()
    damage = index.damage(thorough=True)
    if damage and not repair:
        return IndexReport(damaged=damage)
    with _index_writes():
        if damage:
            index.rebuild()
        index.apply()
        report = _compare(index)
        report.damaged, report.rebuilt = damage or "", bool(damage)
        if repair and report.problems:
            ids = report.missing + report.extra + report.stale
            db.session.execute(insert(SearchChange), [{"material_id": i} for i in ids])
            db.session.commit()  # the commit hook applies inline; apply again for worker mode
            index.apply()
            report.repaired = len(ids)
    return report


def _compare(index: Any) -> IndexReport:
    expected = index.expected_stamps()
    indexed = index.indexed_stamps()
    report = IndexReport(documents=len(indexed), materials=len(expected))
    report.missing = sorted(set(expected) - set(indexed))
    report.extra = sorted(set(indexed) - set(expected))
    report.stale = sorted(i for i in set(expected) & set(indexed) if expected[i] != indexed[i])
    return report
