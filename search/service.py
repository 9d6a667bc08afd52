"""The search index of one application: building, keeping current, querying, comparing."""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Optional

from cachetools import LRUCache
from sqlalchemy.orm import Session
from whoosh.reading import ReaderClosed

from search import applier, documents, engine
from search.index import CURRENT, IndexMissing, live_dir, new_generation, open_dir, switch_to
from search.pool import SearcherPool

log = logging.getLogger(__name__)
INLINE_LOCK_TIMEOUT = 5.0
INLINE_ATTEMPTS = 3
BUILD_BATCH = 50_000
_clock = time.monotonic  # tests replace it: freshness must not depend on how fast a test runs


def max_age(config: Any, name: str) -> float:
    """Seconds a cached search answer may be served after the index changed (setting `name`).
    0, the default, keeps answers exact: a change is searchable as soon as it is applied. A few
    seconds suit SEARCH_APPLY=worker, where the index trails the database by the worker's
    interval anyway and commits often (every upload, downloads)."""
    return max(0.0, float(config.get(name) or 0))


class SearchIndex:
    """The search index of one application: where it lives, how it is kept current, and how
    it is queried. One instance per app (app.extensions["search"])."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.root = Path(app.config["SEARCH_INDEX_DIR"])
        self.pool = SearcherPool(self.root)
        self.segments = engine.SegmentCache()
        size = int(app.config["SEARCH_RESULT_CACHE"])
        self.results: Optional[LRUCache] = LRUCache(maxsize=size) if size > 0 else None
        self.max_age = max_age(app.config, "SEARCH_RESULT_MAX_AGE")
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0
        self._build_lock = threading.Lock()

    def _session(self) -> Session:
        from repository.extensions import db

        return Session(bind=db.engine)

    # --- keeping the index current -------------------------------------------------------

    def _write_docs(self, writer: Any, session: Session, ids: set[int]) -> None:
        docs = documents.documents_for(session, sorted(ids))
        for material_id in sorted(ids):
            if material_id in docs:
                writer.update_document(**docs[material_id])
            else:
                writer.delete_by_term("id", str(material_id))

    def apply(self, lock_timeout: float = 30.0) -> int:
        """Apply the pending change log to the live index (building it first if it is missing or
        cannot be opened: a rebuild reads everything from the database, so nothing is lost)."""
        path = live_dir(self.root)
        try:
            index = open_dir(path) if path is not None else None
        except IndexMissing:
            log.exception("search index damaged; rebuilding")
            index = None
        if path is None or index is None:
            self.rebuild()
            return 0
        with self._session() as session:
            return applier.apply_pending(path, index, session, self._write_docs, lock_timeout)

    def apply_soon(self) -> None:
        """The embedded default, right after a commit: apply now, retrying while another
        process holds the writer; on failure leave the rows for the next apply (never raise
        into the committed request)."""
        for attempt in range(INLINE_ATTEMPTS):
            try:
                self.apply(lock_timeout=INLINE_LOCK_TIMEOUT)
                return
            except applier.LockError:
                time.sleep(0.05 * (attempt + 1))
            except Exception:  # the log keeps the change; the next apply or `check` repairs it
                log.exception("applying the search change log failed")
                return
        log.warning("search index busy; the change stays in the log for the next apply")

    def rebuild(self) -> Path:
        """Build a complete new generation from the database, catch it up with the log and make
        it live atomically; searches keep using the old generation until the switch."""
        with self._build_lock, self._session() as session:
            cursor = applier.start_cursor(session)
            path, index = new_generation(self.root)
            try:
                self._write_all(index, session)
                cursor.save(path)
                session.rollback()
                applier.apply_pending(path, index, session, self._write_docs)
                switch_to(self.root, path)
            except BaseException:
                # A failed build (a full disk, say) removes its own generation; the live one stays.
                if live_dir(self.root) != path:
                    shutil.rmtree(path, ignore_errors=True)
                raise
            applier.apply_pending(path, index, session, self._write_docs)
            return path

    @staticmethod
    def _write_all(index: Any, session: Session) -> None:
        """Every material, committed in batches: Whoosh spools a writer's postings to temporary
        files in the index folder until commit (about 14 KB per material here), so one writer
        for 300,000 materials needed 4 GB of scratch disk; a batch needs a bounded amount."""
        writer = index.writer(limitmb=256)
        try:
            for n, doc in enumerate(documents.all_documents(session), start=1):
                writer.add_document(**doc)
                if n % BUILD_BATCH == 0:
                    writer.commit(merge=False)
                    writer = index.writer(limitmb=256)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(merge=False)

    def ensure(self) -> None:
        """Build the index when there is none, or when the live one cannot be searched."""
        problem = self.damage()
        if problem is None and live_dir(self.root) is not None:
            return
        if problem:
            log.error("search index damaged (%s); rebuilding", problem)
        self.rebuild()

    def damage(self, thorough: bool = False) -> Optional[str]:
        """Why the live index cannot be used, or None. No index at all is not damage (it was
        never built: the next apply builds it). Opening a searcher loads every segment; with
        `thorough`, every stored document is read too (what `check` compares anyway)."""
        link = self.root / CURRENT
        if not os.path.lexists(link):
            return None
        path = live_dir(self.root)
        if path is None:
            return f"{link} does not lead to an index generation"
        try:
            with open_dir(path).searcher() as searcher:
                if thorough:
                    for _fields in searcher.all_stored_fields():
                        pass
        except Exception as error:  # whoosh raises EOFError, UnpicklingError, struct.error ...
            return f"{path.name}: {type(error).__name__}: {error}"
        return None

    # --- querying --------------------------------------------------------------------------

    def _searcher(self) -> Any:
        try:
            return self.pool.searcher()
        except (IndexMissing, ReaderClosed):
            # A commit by another process removes the previous table of contents, possibly while
            # this thread was opening it, and the pool then still holds the searcher it closed
            # first. A fresh pool opens the new generation; only if that fails is the index missing.
            self.pool = SearcherPool(self.root)
        try:
            return self.pool.searcher()
        except IndexMissing:
            self.ensure()
            return self.pool.searcher()

    def narrowed(self, criteria: engine.Criteria, visibility: engine.Visibility) -> engine.Visibility:
        """The visibility that gives the same answer to `criteria` and is shared by the most
        people (engine.narrowed): the key under which answers and pages can be reused."""
        return engine.narrowed(self._searcher(), criteria, visibility, self.segments)

    @property
    def caches_results(self) -> bool:
        return self.results is not None

    def find(self, criteria: engine.Criteria, visibility: engine.Visibility,
             narrowed: bool = False) -> engine.Found:
        """One search, from the result cache when it holds an answer computed on the live
        generation, or one at most `max_age` seconds old: an index commit every second (downloads,
        uploads) would otherwise empty the cache as fast as it fills. Answers are cached under the
        narrowed visibility, so people whose own materials do not match share them; a caller
        that has `narrowed` it already saves the second pass (the answer is computed with the
        very visibility it is cached under either way, so a stale narrowing is never wrong)."""
        searcher = self._searcher()
        generation = (str(live_dir(self.root)), searcher.reader().generation())
        if self.results is not None and not narrowed:
            visibility = engine.narrowed(searcher, criteria, visibility, self.segments)
        key = (criteria, visibility)
        if self.results is not None:
            with self._cache_lock:
                entry = self.results.get(key)
                if entry is not None and (entry[0] == generation or _clock() - entry[1] <= self.max_age):
                    self.cache_hits += 1
                    return entry[2]
                self.cache_misses += 1
        found = engine.run(searcher, criteria, visibility, self.segments)
        if self.results is not None:
            with self._cache_lock:
                self.results[key] = (generation, _clock(), found)
        return found

    def expected_stamps(self) -> dict[int, str]:
        """material id -> stamp, for every material in the database."""
        with self._session() as session:
            return documents.stamps(session)

    def indexed_stamps(self) -> dict[int, str]:
        """material id -> stamp, for every document in the live index."""
        searcher = self._searcher()
        return {int(fields["id"]): fields.get("stamp", "") for fields in searcher.all_stored_fields()}
