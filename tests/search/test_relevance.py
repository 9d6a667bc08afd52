"""Ranking quality on the judged Vietnamese query set, with a floor (figures: bench/search_bench.py)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from whoosh.filedb.filestore import RamStorage

from bench.corpus import generate
from bench.search_quality import evaluate
from search.analysis import query_words
from search.documents import levels_of
from search.engine import SegmentCache, Criteria, Visibility, run
from search.schema import build_schema, document
from repository.models import utcnow

NDCG_FLOOR = 0.93
TOP3_FLOOR = 0.95


@pytest.fixture(scope="module")
def corpus_index():
    rows = list(generate(4000, schools=50, seed=7))
    index = RamStorage().create_index(build_schema())
    writer = index.writer()
    for n, r in enumerate(rows, start=1):
        material = SimpleNamespace(id=n, title=r.title, description=r.description, topic=None, status="published",
                                   owner_id=1, subject=r.subject, material_type=r.material_type, series=r.series,
                                   school_id=r.school, grades=list(r.grades), created_at=utcnow(), updated_at=utcnow(),
                                   download_count=r.downloads)
        writer.add_document(**document(material, levels_of(list(r.grades)), True, r.text))
    writer.commit()
    return rows, index


def test_judged_queries_rank_the_named_lesson_first(corpus_index):
    rows, index = corpus_index
    segments = SegmentCache()

    def top_ids(query: str, filters: dict[str, str]) -> list[int]:
        criteria = Criteria(words=tuple(query_words(query)), filters=tuple((k, (v,)) for k, v in filters.items()),
                            per_page=10, facets=())
        with index.searcher() as searcher:
            return run(searcher, criteria, Visibility(), segments).ids

    figures = evaluate(rows, top_ids)
    assert figures["queries"] >= 60
    assert figures["ndcg@10"] >= NDCG_FLOOR, figures
    assert figures["best_in_top3"] >= TOP3_FLOOR, figures


@pytest.mark.parametrize("text, filters", [("phuong trinh bac hai", ()), ("hoc sinh", (("grade", ("6", "9")),)),
                                           ("", (("subject", ("TOAN",)),)), ("tế bào", (("type", ("VIDEO", "BAI_KIEM_TRA")),)),
                                           ("zzzz", ())])
def test_matching_set_and_facets_equal_whoosh_own_evaluation(corpus_index, text, filters):
    """The engine's set arithmetic gives exactly the documents Whoosh's own query finds."""
    from collections import Counter

    from whoosh import query as Q

    _, index = corpus_index
    words = tuple(query_words(text))
    criteria = Criteria(words=words, filters=filters, per_page=10)
    clauses = [Q.Term("text", w.folded) for w in words] or [Q.Every()]
    clauses += [Q.Or([Q.Term(name, v) for v in values]) for name, values in filters]
    with index.searcher() as searcher:
        expected = set(searcher.docs_for_query(Q.And(clauses)))
        found = run(searcher, criteria, Visibility(), SegmentCache())
        subjects = Counter(searcher.stored_fields(d)["id"] and searcher.reader().column_reader("subject")[d]
                           for d in expected)
    assert found.total == len(expected)
    assert found.facets["subject"] == dict(subjects)
    assert len(found.ids) == min(10, len(expected))
