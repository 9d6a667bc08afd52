"""Run one search against a Whoosh searcher: matching, visibility, facets, sort, page.

Measured on 100,000 materials (bench/search_bench.py, TECH-NOTES §1.6), the cost of a search is
Python work per matching document, so each step does as little of it as possible:
- The matching set is computed per segment as sorted docnum arrays (numpy). A term's postings
  (docnums and weights, deleted documents included) are read once per segment and kept in an LRU
  cache keyed by the segment alone: a segment's postings never change. Its live documents are
  those postings less the segment's deleted ones, cached under the segment and its
  live-document count, so a new deletion (every re-indexed material leaves one behind in the
  segment that held it) costs one numpy filter, not another read of the postings. Required
  words, visibility clauses and filters are set operations on these arrays; the total and every
  facet count are exact.
- Facet counts and the newest / most-downloaded / title sorts are numpy operations over column
  arrays read once per segment from Whoosh's column readers.
- Relevance ranks groups (by how many signals a document matches: words typed with diacritics,
  adjacent words contiguous in the title) and, within a group, by Whoosh's BM25F score of the
  query words, computed only for that group's documents (see _ranked) with numpy from the cached
  postings' weights and Whoosh's own statistics (idf, average field length, each document's
  field length): the same numbers Whoosh's scorer gives, without decoding posting blocks again
  for every search.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from whoosh.matching.wrappers import FilterMatcher

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
NO_WEIGHTS = np.empty(0, dtype=np.float32)
SCORED = "text"  # the one field whose weights rank documents
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

    @property
    def public(self) -> "Visibility":
        """The publication clause alone: what everyone signed in (or everyone anonymous) sees."""
        return Visibility(published=self.published, open_only=self.open_only)

    @property
    def personal(self) -> "Visibility":
        """The clauses beyond publication: a person's school, review queue and own materials."""
        return Visibility(published=False, approved_schools=self.approved_schools,
                          submitted_schools=self.submitted_schools,
                          all_school_approved=self.all_school_approved, owner=self.owner)


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


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The docnums in both sorted arrays, sorted. A lookup table over the docnum range is linear;
    numpy's intersect1d sorts the two arrays joined, which cost most of a search's set work."""
    if not len(a) or not len(b):
        return EMPTY
    return a[np.isin(a, b, kind="table")]


class SegmentCache:
    """Per-segment arrays: postings, live docsets and column values. A live docset's key holds the
    segment id and its live-document count, so new deletions in a segment make new keys (old ones
    age out). Postings and column values are indexed by document number and deletions do not
    change them, so theirs is the segment id alone: an index change only costs the arrays of the
    new segment. Bounded by entries (a search needs one per query word and segment, and an index
    that commits every second has a dozen small segments) and by the integers held (~4 bytes each)."""

    def __init__(self, max_items: int = 50_000, max_ints: int = 24_000_000) -> None:
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

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Every posting of a term in this segment, deleted documents included: sorted docnums and,
        for the scored field, their weights (term frequencies)."""
        def make() -> tuple[np.ndarray, np.ndarray]:
            if (fieldname, text) not in self.reader:
                return EMPTY, NO_WEIGHTS
            matcher = self.reader.postings(fieldname, text)
            if isinstance(matcher, FilterMatcher):  # the reader's filter of its deleted documents
                matcher = matcher.child
            if fieldname != SCORED:
                return np.fromiter(matcher.all_ids(), dtype=np.int32), NO_WEIGHTS
            ids, weights = [], []
            while matcher.is_active():
                ids.append(matcher.id())
                weights.append(matcher.weight())
                matcher.next()
            return np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32)
        return self.cache.get(self.reader, ("postings", fieldname, text), make,
                              lambda v: len(v[0]) + len(v[1]), live=False)

    def live(self) -> Optional[np.ndarray]:
        """Which docnums are live (a boolean per docnum), or None when none is deleted."""
        if self.reader.doc_count() == self.reader.doc_count_all():
            return None

        def make() -> np.ndarray:
            mask = np.zeros(self.reader.doc_count_all(), dtype=bool)
            mask[self.every()] = True
            return mask
        return self.cache.get(self.reader, ("live",), make, lambda v: len(v) // 4)

    def term(self, fieldname: str, text: str) -> np.ndarray:
        """The live documents holding a term."""
        ids = self.postings(fieldname, text)[0]
        live = self.live()
        if live is None:
            return ids
        return self.cache.get(self.reader, ("term", fieldname, text), lambda: ids[live[ids]], len)

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
            clauses.append(_intersect(published, self.term("open", "1"))
                           if v.open_only else published)
        for status, schools in (("school_approved", v.approved_schools), ("submitted", v.submitted_schools)):
            if schools:
                clauses.append(_intersect(self.term("status", status), self.any_of("school", schools)))
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
            result = _intersect(result, other)
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


def _score(searcher: Any, words: tuple[QueryWord, ...], parts: list[tuple[_Segment, np.ndarray]],
           depth: int) -> list[int]:
    """The best `depth` of the given documents (global docnums) by Whoosh's BM25F score of the
    query words, ties to the lower docnum as Whoosh's own collector breaks them. Only the query
    words are scored: a group's documents already match the same number of signals. Every
    document given holds every word (the matching set is their intersection)."""
    weighting = searcher.weighting
    b, k1 = weighting.B, weighting.K1
    average = searcher.avg_field_length(SCORED) or 1
    idf = [searcher.idf(SCORED, w.folded) for w in words]
    scores, docnums = [], []
    for segment, docs in parts:
        if not len(docs):
            continue
        lengths = np.array([segment.reader.doc_field_length(int(d), SCORED, 1) for d in docs], dtype=np.float64)
        norm = k1 * ((1 - b) + b * lengths / average)
        total = np.zeros(len(docs), dtype=np.float64)
        for word, word_idf in zip(words, idf):
            ids, weights = segment.postings(SCORED, word.folded)
            tf = weights[np.searchsorted(ids, docs)].astype(np.float64)
            total += word_idf * ((tf * (k1 + 1)) / (tf + norm))
        scores.append(total)
        docnums.append(docs.astype(np.int64) + segment.offset)
    if not scores:
        return []
    score, docnum = np.concatenate(scores), np.concatenate(docnums)
    order = np.lexsort((docnum, -score))[:depth]
    return [int(d) for d in docnum[order]]


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
    hits = [sum((np.isin(docs, segment.term("text", term), kind="table").astype(np.int8)
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


def narrowed(searcher: Any, criteria: Criteria, visibility: Visibility, cache: SegmentCache) -> Visibility:
    """`visibility.public` when the personal clauses add no match to the public ones, else
    `visibility`: the same answer, but one that everyone with the same public part shares (a
    teacher's own drafts and their school's unpublished materials rarely match a given query)."""
    public = visibility.public
    if visibility == public:
        return visibility
    for leaf, offset in searcher.leaf_searchers():
        segment = _Segment(leaf, offset, cache)
        extra = segment.matching(criteria, visibility.personal)
        if len(extra) and len(np.setdiff1d(extra, segment.visible(public), assume_unique=True)):
            return visibility
    return public


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
