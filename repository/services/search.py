"""Search and browse: one entry point for the search page, the browse page and the JSON API.

Visibility comes from repository.permissions.search_visibility and is applied inside the index
query, so totals, facet counts and pages only ever contain what the caller may see.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from repository import curriculum
from repository.errors import AuthenticationFailed, ValidationError
from repository.extensions import db
from repository.models import Material, School
from repository.permissions import search_visibility
from repository.services import unguarded
from search import documents, service_index
from search.analysis import QueryWord, query_words
from search.engine import FACETS, SORTS, Criteria, Visibility
from search.highlight import highlight
from search.schema import TEXT_CHARS

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
MAX_PAGE = 500
MAX_QUERY_CHARS = 2000
FILTERS = ("subject", "grade", "type", "series", "level", "school", "topic")


@dataclass(frozen=True)
class SearchInput:
    """A search as typed or clicked: free text, filter codes (several values of one filter are
    ORed), sort, page. Built from request arguments by `parse`."""

    q: str = ""
    subject: tuple[str, ...] = ()
    grade: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    level: tuple[str, ...] = ()
    school: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


@dataclass
class Hit:
    material: Material
    highlights: dict[str, Markup]


@dataclass
class SearchPage:
    query: SearchInput
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def _number(raw: Optional[str], name: str, default: int, highest: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= highest:
        raise ValidationError(_l("Tham số %(name)s phải là số nguyên từ 1 đến %(max)s.", name=name, max=highest),
                              field_errors={name: [_l("Giá trị không hợp lệ.")]})
    return value


def _known_codes() -> dict[str, set[str]]:
    return {
        "subject": {s.code for s in curriculum.subjects()} | set(curriculum.preschool_domains()),
        "grade": {g.code for g in curriculum.grades()},
        "type": set(curriculum.material_types()),
        "series": {s.code for s in curriculum.textbook_series()},
        "level": {lv.code for lv in curriculum.levels()},
    }


def _codes(args: Any, name: str, known: Optional[set[str]]) -> tuple[str, ...]:
    values: list[str] = []
    for raw in args.getlist(name):
        values += [v.strip() for v in str(raw).split(",") if v.strip()]
    if known is not None:
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ValidationError(_l("Mã không hợp lệ cho bộ lọc %(name)s: %(codes)s", name=name, codes=", ".join(unknown[:5])),
                                  field_errors={name: [_l("Mã không có trong danh mục.")]})
    return tuple(dict.fromkeys(values))


@unguarded("parses request arguments; performs no action")
def parse(args: Any) -> SearchInput:
    """Read a SearchInput from request arguments; bad sort/page values are a 422 with a message.
    Free text is never an error: it is cut to 2,000 characters and read as words."""
    sort = (args.get("sort") or "relevance").strip()
    if sort not in SORTS:
        raise ValidationError(_l("Cách sắp xếp không hợp lệ; dùng một trong: %(sorts)s", sorts=", ".join(SORTS)),
                              field_errors={"sort": [_l("Giá trị không hợp lệ.")]})
    known = _known_codes()
    return SearchInput(
        q=str(args.get("q") or "")[:MAX_QUERY_CHARS],
        **{name: _codes(args, name, known.get(name)) for name in FILTERS},
        sort=sort,
        page=_number(args.get("page"), "page", 1, MAX_PAGE),
        per_page=_number(args.get("per_page"), "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )


def _school_ids(codes: Iterable[str]) -> tuple[str, ...]:
    codes = list(codes)
    if not codes:
        return ()
    ids = db.session.scalars(select(School.id).where(School.code.in_(codes))).all()
    return tuple(str(i) for i in sorted(ids)) or ("-1",)  # unknown schools match nothing


def _criteria(query: SearchInput, words: list[QueryWord], facets: tuple[str, ...]) -> Criteria:
    filters = [(name, getattr(query, name)) for name in ("subject", "grade", "type", "series", "level", "topic")]
    filters.append(("school", _school_ids(query.school)))
    return Criteria(words=tuple(words), filters=tuple((n, v) for n, v in filters if v), sort=query.sort,
                    page=query.page, per_page=query.per_page, facets=facets)


def _hydrate(ids: list[int], words: list[QueryWord]) -> list[Hit]:
    rows = db.session.scalars(select(Material).where(Material.id.in_(ids))
                              .options(joinedload(Material.school), selectinload(Material.files))).all()
    by_id = {m.id: m for m in rows}
    texts = documents.extracted_texts(db.session, ids) if words else {}
    hits = []
    for material_id in ids:
        material = by_id.get(material_id)
        if material is None:  # deleted since the index last applied the log
            continue
        marks = {"title": highlight(material.title, words, whole=True),
                 "description": highlight(material.description or "", words),
                 "text": highlight(texts.get(material_id, "")[:TEXT_CHARS], words)}
        hits.append(Hit(material, {k: v for k, v in marks.items() if v is not None}))
    return hits


def _schools() -> dict[str, tuple[str, str]]:
    """str(id) -> (code, name) of every school, read again only when the schools table changed
    (its row count or latest update): a search's school facet can name all 1,600 schools, and
    reading them for every search cost more than the search."""
    version = tuple(db.session.execute(select(func.count(School.id), func.max(School.updated_at))).one())
    cached = current_app.extensions.get("search_school_labels")
    if cached is None or cached[0] != version:
        rows = db.session.execute(select(School.id, School.code, School.name)).all()
        cached = (version, {str(i): (code, name) for i, code, name in rows})
        current_app.extensions["search_school_labels"] = cached
    return cached[1]


def _labels(facets: dict[str, dict[str, int]]) -> dict[str, dict[str, str]]:
    known = _schools() if facets.get("school") else {}
    schools = [(k, *known[k]) for k in facets.get("school", {}) if k in known]
    return {
        "subject": {s.code: s.name for s in curriculum.subjects()} | curriculum.preschool_domains(),
        "grade": {g.code: g.name for g in curriculum.grades()},
        "type": dict(curriculum.material_types()),
        "series": {s.code: s.name for s in curriculum.textbook_series()},
        "level": {lv.code: lv.name for lv in curriculum.levels()},
        "school": {code: name for _, code, name in schools},
        "school_code": {str(i): code for i, code, _ in schools},
    }


def _by_school_code(facets: dict[str, dict[str, int]], labels: dict[str, dict[str, str]]) -> None:
    codes = labels.pop("school_code")
    facets["school"] = {codes[k]: n for k, n in facets.get("school", {}).items() if k in codes}


@dataclass(frozen=True)
class PreparedSearch:
    """A search made ready once, for the page cache's decision and for the search itself: its
    criteria (with school codes read from the database) and the actor's visibility, narrowed to
    its public part when their own clauses add no match (`narrowed`; engine.narrowed)."""

    query: SearchInput
    words: tuple[QueryWord, ...]
    criteria: Criteria
    visibility: Visibility
    narrowed: bool

    @property
    def public(self) -> Visibility:
        """The publication clause alone (narrowing keeps it): what a shared page may show."""
        return self.visibility.public

    @property
    def shareable(self) -> bool:
        """Everyone with the same public part gets exactly this page (none of their own materials matches)."""
        return self.narrowed and self.visibility == self.public


@unguarded("visibility is applied inside the query by permissions.search_visibility; "
           "anonymous callers are refused here when ANONYMOUS_ACCESS is off")
def prepare(actor: Any, query: SearchInput, facets: tuple[str, ...] = FACETS,
            narrow: Optional[bool] = None) -> PreparedSearch:
    """`query` made ready for `actor`. The visibility is narrowed when `narrow` says so, or by
    default when the result cache is on (answers are cached under it): a pass over the index
    that only a cache profits from."""
    visibility = search_visibility(actor, current_app.config["ANONYMOUS_ACCESS"])
    if visibility is None:
        raise AuthenticationFailed(_l("Vui lòng đăng nhập để tìm kiếm học liệu."))
    index = service_index()
    words = tuple(query_words(query.q))
    criteria = _criteria(query, list(words), facets)
    narrow = index.caches_results if narrow is None else narrow
    if narrow:
        visibility = index.narrowed(criteria, visibility)
    return PreparedSearch(query=query, words=words, criteria=criteria, visibility=visibility, narrowed=narrow)


@unguarded("runs a search prepared, with its visibility, by prepare")
def results(prepared: PreparedSearch, shared: bool = False) -> SearchPage:
    """One page of the materials the prepared visibility shows, with facet counts. With `shared`,
    only its public part: a page that others of the actor's audience will be shown must never
    hold a material of theirs, even one indexed since the search was prepared."""
    visibility = prepared.public if shared else prepared.visibility
    found = service_index().find(prepared.criteria, visibility, narrowed=prepared.narrowed or shared)
    labels = _labels(found.facets)
    facet_counts = {k: dict(v) for k, v in found.facets.items()}
    _by_school_code(facet_counts, labels)
    words = list(prepared.words)
    return SearchPage(query=prepared.query, total=found.total, hits=_hydrate(found.ids, words),
                      facets=facet_counts, labels=labels)


@unguarded("prepare applies the visibility of permissions.search_visibility")
def search(actor: Any, query: SearchInput, facets: tuple[str, ...] = FACETS) -> SearchPage:
    """One page of the materials `actor` may see that match `query`, with facet counts."""
    return results(prepare(actor, query, facets))
