"""Per-thread searchers that, when the index changed, reopen only the segments that changed.

Opening a segment reader copies the segment's term and posting files into memory (this Whoosh
reads a memory-mapped file through BytesIO), about 110 MB for 100,000 materials: with one
searcher per thread and an index commit every second, reopening everything cost more CPU than
the searches. A commit usually adds a small segment and leaves the large ones as they were.

Rule: a segment reader is reused only when the new table of contents lists the same segment
with the same number of deleted documents (Whoosh only ever adds deletions to a segment, so an
equal count is an equal set); any other segment is opened afresh, and old readers no longer
used are closed. (Whoosh's own `reader(reuse=...)` matches segments by id alone, so a document
replaced by a commit would still be found in its old form, and it re-adds merged-away segments.)
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Optional

from whoosh.reading import MultiReader, SegmentReader
from whoosh.searching import Searcher

from search.index import IndexMissing, live_dir, open_dir

OPEN_ATTEMPTS = 5


def _leaves(searcher: Optional[Searcher]) -> dict[str, Any]:
    """segment id -> this searcher's reader of it."""
    if searcher is None:
        return {}
    return {r.segment().segment_id(): r for r, _offset in searcher.reader().leaf_readers() if r.segment() is not None}


def reopen(index: Any, previous: Optional[Searcher]) -> Searcher:
    """A searcher over the index's latest generation, reusing `previous`'s unchanged segment
    readers; `previous` must not be used afterwards (its other readers are closed)."""
    old = _leaves(previous)
    toc = index._read_toc()
    readers, kept = [], set()
    for segment in toc.segments:
        reader = old.get(segment.segment_id())
        if reader is not None and reader.segment().deleted_count() == segment.deleted_count():
            kept.add(segment.segment_id())
        else:
            reader = SegmentReader(index.storage, toc.schema, segment, generation=toc.generation)
        readers.append(reader)
    for segment_id, reader in old.items():
        if segment_id not in kept:
            reader.close()
    if len(readers) == 1:
        combined = readers[0]
    else:
        combined = MultiReader(readers, generation=toc.generation)
    return Searcher(combined, fromindex=index)


class SearcherPool:
    """Per-thread searchers over the live generation of one index root; a searcher whose index
    changed reopens only the changed segments (see the module rules)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()

    def close(self) -> None:
        cached = getattr(self._local, "entry", None)
        if cached is not None:
            self._local.entry = None
            cached[1].close()

    def searcher(self) -> Searcher:
        """A current searcher for this thread; raises IndexMissing when there is no index."""
        path = live_dir(self.root)
        if path is None:
            raise IndexMissing(f"no search index under {self.root}")
        cached = getattr(self._local, "entry", None)
        if cached is not None and cached[0] == path and cached[1].up_to_date():
            return cached[1]
        # Another generation (a rebuild) shares no segments with this one.
        previous = cached[1] if cached is not None and cached[0] == path else None
        if cached is not None and previous is None:
            cached[1].close()
        self._local.entry = None  # never keep a searcher whose readers may have been closed
        searcher = _open(path, previous)
        self._local.entry = (path, searcher)
        return searcher


def _open(path: Path, previous: Optional[Searcher]) -> Searcher:
    """Open, retrying while a concurrent commit removes the files just listed (its new table of
    contents is then there to read); a directory that still cannot be opened is IndexMissing."""
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return reopen(open_dir(path), previous)
        except (IndexMissing, FileNotFoundError) as error:
            previous = None  # reopen() may have closed some of its readers: open everything again
            if attempt == OPEN_ATTEMPTS - 1:
                raise IndexMissing(f"search index in {path} cannot be opened: {error}") from error
            time.sleep(0.01 * (attempt + 1))
        except Exception as error:  # whoosh raises several unrelated types for damaged files
            raise IndexMissing(str(error)) from error
    raise AssertionError("unreachable")
