"""Run one search against a Whoosh searcher: matching, visibility, facets, sort, page.

Measured on 100,000 materials (bench/search_bench.py, TECH-NOTES §1.6), the cost of a search is
Python work per matching document, so each step does as little of it as possible:
- The matching set is computed per segment as sorted docnum arrays (numpy): one array per term,
  read once from the term's postings (Whoosh's public `postings().all_ids()`, deleted documents
  excluded) and kept in an LRU cache keyed by segment and its live-document count, so a changed
  segment never serves a stale array. Required words, visibility clauses and filters are set
  operations on these arrays; the total and every facet count are exact.
- Facet counts and the newest / most-downloaded / title sorts are numpy operations over column
  arrays read once per segment from Whoosh's column readers.
- Relevance ranks groups (by how many signals a document matches: words typed with diacritics,
  adjacent words contiguous in the title) and, within a group, by Whoosh's own BM25F score of
  the query words, computed only for that group's documents (see _ranked).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from whoosh import query as Q
from whoosh.collectors import TopCollector
from whoosh.matching import ListMatcher, NullMatcher

from search.analysis import BIGRAM_JOINER, QueryWord

FACETS = ("subject", "grade", "type", "series", "level", "school", "topic")
MULTI_FACETS = {"grade": "grade_list", "level": "level_list"}
SORTS: dict[str, Optional[tuple[str, bool]]] = {
    "relevance": None,
    "newest": ("created", True),
    "downloads": ("downloads", True),
    "title": ("title_key", False),
}
EMPTY = np.empty(0, dtype=np.int32)
# The most documents of one relevance group that are scored one by one (see _ranked).
CANDIDATES = 100


@dataclass(frozen=True)
class Visibility:
    """Which materials a caller may see in search (built by repository.permissions).

    A document is visible when any clause holds: published (and, for anonymous callers, under
    an open licence); school_approved at one of `approved_schools`; submitted at one of
    `submitted_schools`; school_approved anywhere when `all_school_approved`; or owned by `owner`.
    """

    published: bool = True
    open_only: bool = False
    approved_schools: frozenset[int] = frozenset()
    submitted_schools: frozenset[int] = frozenset()
    all_school_approved: bool = False
    owner: Optional[int] = None


@dataclass(frozen=True)
class Criteria:
    words: tuple[QueryWord, ...]
    filters: tuple[tuple[str, tuple[str, ...]], ...]  # (field, values ORed), fields ANDed
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facets: tuple[str, ...] = FACETS


@dataclass
class Found:
    total: int
    ids: list[int]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class SegmentCache:
    """Per-segment arrays: term docsets and column values. A docset's key holds the segment id and
    its live-document count, so new deletions in a segment make new keys (old ones age out).
    Column values are indexed by document number and deletions do not change them, so theirs is
    the segment id alone: an index change only costs the arrays of the new segment."""

    def __init__(self, max_items: int = 4096, max_ints: int = 24_000_000) -> None:
        self._data: OrderedDict[tuple, Any] = OrderedDict()
        self._sizes: dict[tuple, int] = {}
        self._total = 0
        self._max_items, self._max_ints = max_items, max_ints
        self._lock = threading.Lock()

    @staticmethod
    def segment_key(reader: Any, live: bool = True) -> tuple:
        segment = reader.segment()
        name = segment.segment_id() if segment is not None else id(reader)
        return (name, reader.doc_count()) if live else (name, None)

    def get(self, reader: Any, key: tuple, make: Callable[[], Any], size: Callable[[Any], int],
            live: bool = True) -> Any:
        full = self.segment_key(reader, live) + key
        with self._lock:
            if full in self._data:
                self._data.move_to_end(full)
                return self._data[full]
        value = make()
        with self._lock:
            if full not in self._data:
                self._data[full] = value
                self._sizes[full] = size(value)
                self._total += self._sizes[full]
            while len(self._data) > self._max_items or self._total > self._max_ints:
                old, _ = self._data.popitem(last=False)
                self._total -= self._sizes.pop(old)
        return value


class _Segment:
    """One segment's view for a search: docset algebra, facet counts, column sorts."""

    def __init__(self, searcher: Any, offset: int, cache: SegmentCache) -> None:
        self.searcher, self.offset, self.cache = searcher, offset, cache
        self.reader = searcher.reader()

    def term(self, fieldname: str, text: str) -> np.ndarray:
        def make() -> np.ndarray:
            if (fieldname, text) not in self.reader:
                return EMPTY
            return np.fromiter(self.reader.postings(fieldname, text).all_ids(), dtype=np.int32)
        return self.cache.get(self.reader, ("term", fieldname, text), make, len)

    def any_of(self, fieldname: str, values: Any) -> np.ndarray:
        values = tuple(sorted(str(v) for v in values))
        if len(values) == 1:
            return self.term(fieldname, values[0])
        return self.cache.get(self.reader, ("any", fieldname, values), lambda: np.unique(np.concatenate(
            [self.term(fieldname, v) for v in values] or [EMPTY])), len)

    def every(self) -> np.ndarray:
        return self.cache.get(self.reader, ("every",),
                              lambda: np.fromiter(self.reader.all_doc_ids(), dtype=np.int32), len)

    def visible(self, v: Visibility) -> np.ndarray:
        return self.cache.get(self.reader, ("visible", v), lambda: self._visible(v), len)

    def _visible(self, v: Visibility) -> np.ndarray:
        clauses: list[np.ndarray] = []
        if v.published:
            published = self.term("status", "published")
            clauses.append(np.intersect1d(published, self.term("open", "1"), assume_unique=True)
                           if v.open_only else published)
        for status, schools in (("school_approved", v.approved_schools), ("submitted", v.submitted_schools)):
            if schools:
                clauses.append(np.intersect1d(self.term("status", status), self.any_of("school", schools),
                                              assume_unique=True))
        if v.all_school_approved:
            clauses.append(self.term("status", "school_approved"))
        if v.owner is not None:
            clauses.append(self.term("owner", str(v.owner)))
        return np.unique(np.concatenate(clauses)) if clauses else EMPTY

    def matching(self, criteria: Criteria, visibility: Visibility) -> np.ndarray:
        sets = [self.term("text", w.folded) for w in criteria.words] or [self.every()]
        sets.append(self.visible(visibility))
        sets += [self.any_of(name, values) for name, values in criteria.filters if values]
        sets.sort(key=len)
        result = sets[0]
        for other in sets[1:]:
            if not len(result):
                break
            result = np.intersect1d(result, other, assume_unique=True)
        return result

    def column(self, name: str) -> np.ndarray:
        def make() -> np.ndarray:
            values = list(self.reader.column_reader(name)) if self.reader.has_column(name) else []
            return np.array(values, dtype=object if name == "title_key" else np.int64)
        return self.cache.get(self.reader, ("column", name), make, len, live=False)

    def codes(self, facet: str) -> tuple[np.ndarray, list[str]]:
        """Single-valued facet: per-document code and the code -> value table."""
        def make() -> tuple[np.ndarray, list[str]]:
            values = list(self.reader.column_reader(facet)) if self.reader.has_column(facet) else []
            table, inverse = np.unique(np.array(values, dtype=object), return_inverse=True) if values \
                else (np.array([], dtype=object), np.empty(0, dtype=np.int64))
            return inverse.astype(np.int32), [str(t) for t in table]
        return self.cache.get(self.reader, ("codes", facet), make, lambda v: len(v[0]), live=False)

    def matrix(self, facet: str) -> tuple[np.ndarray, list[str]]:
        """Multi-valued facet: a documents x values 0/1 matrix and the value table."""
        def make() -> tuple[np.ndarray, list[str]]:
            column = MULTI_FACETS[facet]
            raw = [v.decode().split() for v in self.reader.column_reader(column)] \
                if self.reader.has_column(column) else []
            table = sorted({value for values in raw for value in values})
            index = {value: i for i, value in enumerate(table)}
            grid = np.zeros((len(raw), max(1, len(table))), dtype=np.uint8)
            for doc, values in enumerate(raw):
                for value in values:
                    grid[doc, index[value]] = 1
            return grid, table
        return self.cache.get(self.reader, ("matrix", facet), make, lambda v: v[0].size // 4, live=False)

    def count(self, facet: str, docs: np.ndarray) -> dict[str, int]:
        if facet in MULTI_FACETS:
            grid, table = self.matrix(facet)
            sums = grid[docs].sum(axis=0) if len(docs) and table else []
            return {table[i]: int(n) for i, n in enumerate(sums) if n}
        codes, table = self.codes(facet)
        if not table:
            return {}
        counts = np.bincount(codes[docs], minlength=len(table))
        return {table[i]: int(n) for i in np.nonzero(counts)[0] for n in [counts[i]] if table[i]}

    def top_by_column(self, name: str, reverse: bool, docs: np.ndarray, depth: int) -> list[tuple[Any, int]]:
        """The first `depth` documents by a column, as (sort key, global docnum)."""
        values = self.column(name)[docs]
        order = np.argsort(values, kind="stable")
        if reverse:
            order = order[::-1]
        chosen = order[:depth]
        return [(values[i], self.offset + int(docs[i])) for i in chosen]


class _Candidates(Q.Query):
    """Exactly the given documents of each segment, scoring nothing: ANDed first into the text
    query, it makes Whoosh's intersection step only through these documents."""

    def __init__(self, by_reader: dict[int, list[int]]) -> None:
        self.by_reader = by_reader

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def estimate_size(self, ixreader: Any) -> int:
        return len(self.by_reader.get(id(ixreader), ()))

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        ids = self.by_reader.get(id(searcher.reader()))
        return ListMatcher(ids, all_weights=1.0) if ids else NullMatcher()


def _score(searcher: Any, words: tuple[QueryWord, ...], parts: list[tuple[_Segment, np.ndarray]],
           depth: int) -> list[int]:
    """Whoosh's scores for the given documents only; the best `depth` global docnums."""
    by_reader = {id(segment.reader): docs.tolist() for segment, docs in parts if len(docs)}
    if not by_reader:
        return []
    collector = TopCollector(limit=depth, usequality=False, replace=0)
    # Only the query words are scored: a group's documents already match the same number of
    # signals, and each extra term would cost a posting-list skip per document.
    required = [Q.Term("text", w.folded) for w in words]
    searcher.search_with_collector(Q.And([_Candidates(by_reader)] + required), collector)
    return [docnum for _, docnum in collector.results().top_n]


def signals(words: tuple[QueryWord, ...]) -> list[str]:
    """The ranking signals of a query: each word typed with diacritics (its accented key) and each
    pair of adjacent words (their bigram); the analyzer makes both for titles only."""
    terms = [w.accented for w in words if w.accented]
    return terms + [a.folded + BIGRAM_JOINER + b.folded for a, b in zip(words, words[1:])]


def _most_downloaded(group: list[tuple[_Segment, np.ndarray]], limit: int) -> list[tuple[_Segment, np.ndarray]]:
    """The `limit` most downloaded documents of a group spread over segments."""
    chosen = np.array(_sorted(group, ("downloads", True), limit), dtype=np.int64)
    return [(segment, docs[np.isin(docs.astype(np.int64) + segment.offset, chosen)]) for segment, docs in group]


def _ranked(searcher: Any, criteria: Criteria, segments: list[tuple[_Segment, np.ndarray]], depth: int) -> list[int]:
    """Relevance order, as the search issue defines it: documents matching more of the query's
    signals (a word typed with its diacritics; adjacent words contiguous in the title) come
    first; within such a group, Whoosh's BM25F score of the query words decides. Groups are scored only until the page is
    full. A group larger than CANDIDATES is first cut to its CANDIDATES most downloaded
    documents: its members match the query equally well in the title, and scoring thousands of
    them one by one in Python would cost a second for a difference nobody could see."""
    terms = signals(criteria.words)
    hits = [sum((np.isin(docs, segment.term("text", term), assume_unique=True).astype(np.int8)
                 for term in terms), np.zeros(len(docs), dtype=np.int8))
            for segment, docs in segments]
    levels = sorted({int(v) for h in hits for v in np.unique(h)}, reverse=True)
    top: list[int] = []
    for level in levels:
        group = [(segment, docs[h == level]) for (segment, docs), h in zip(segments, hits)]
        limit = max(CANDIDATES, depth)
        if sum(len(docs) for _, docs in group) > limit:
            group = _most_downloaded(group, limit)
        top += _score(searcher, criteria.words, group, depth - len(top))
        if len(top) >= depth:
            break
    return top


def _sorted(segments: list[tuple[_Segment, np.ndarray]], sort: tuple[str, bool], depth: int) -> list[int]:
    name, reverse = sort
    merged: list[tuple[Any, int]] = []
    for segment, docs in segments:
        merged += segment.top_by_column(name, reverse, docs, depth)
    merged.sort(key=lambda item: (item[0], -item[1] if reverse else item[1]), reverse=reverse)
    return [docnum for _, docnum in merged[:depth]]


def run(searcher: Any, criteria: Criteria, visibility: Visibility, cache: SegmentCache) -> Found:
    """Search, count facets over every match, and return one page of material ids."""
    depth = criteria.page * criteria.per_page
    segments = []
    for leaf, offset in searcher.leaf_searchers():
        segment = _Segment(leaf, offset, cache)
        segments.append((segment, segment.matching(criteria, visibility)))
    total = sum(len(docs) for _, docs in segments)
    facets: dict[str, dict[str, int]] = {}
    for facet in criteria.facets:
        counts: dict[str, int] = {}
        for segment, docs in segments:
            for value, n in segment.count(facet, docs).items():
                counts[value] = counts.get(value, 0) + n
        facets[facet] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    sort = SORTS[criteria.sort] if criteria.words else (SORTS[criteria.sort] or SORTS["newest"])
    if not total:
        top: list[int] = []
    elif sort is None:
        top = _ranked(searcher, criteria, segments, depth)
    else:
        top = _sorted(segments, sort, depth)
    page = top[(criteria.page - 1) * criteria.per_page: depth]
    ids = [int(searcher.stored_fields(docnum)["id"]) for docnum in page]
    return Found(total=total, ids=ids, facets=facets)
