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


@pytest.fixture(scope="module")
def segmented_index():
    """Three segments, one with deleted documents: what a live index looks like after commits."""
    rows = list(generate(1500, schools=20, seed=11))
    index = RamStorage().create_index(build_schema())
    for part in range(3):
        writer = index.writer()
        for n, r in enumerate(rows[part * 500:(part + 1) * 500], start=part * 500 + 1):
            material = SimpleNamespace(id=n, title=r.title, description=r.description, topic=None, status="published",
                                       owner_id=1, subject=r.subject, material_type=r.material_type, series=r.series,
                                       school_id=r.school, grades=list(r.grades), created_at=utcnow(),
                                       updated_at=utcnow(), download_count=r.downloads)
            writer.add_document(**document(material, levels_of(list(r.grades)), True, r.text))
        writer.commit(merge=False)
    writer = index.writer()
    for n in range(1, 1500, 7):
        writer.delete_by_term("id", str(n))
    writer.commit(merge=False)
    return index


@pytest.mark.parametrize("text", ["phuong trinh bac hai", "tế bào", "hoc sinh", "bai", "dinh luat"])
def test_scores_rank_documents_exactly_as_whoosh_bm25f_does(segmented_index, text):
    """The engine's numpy BM25F over its cached postings orders documents as Whoosh's own scorer
    does (deleted documents never scored, ties to the lower docnum)."""
    from whoosh import query as Q

    from search.engine import _score, _Segment

    words = tuple(query_words(text))
    criteria = Criteria(words=words, filters=(), facets=())
    cache = SegmentCache()
    with segmented_index.searcher() as searcher:
        assert len(searcher.leaf_searchers()) == 3 and searcher.doc_count() < searcher.doc_count_all()
        expected = [hit.docnum for hit in searcher.search(Q.And([Q.Term("text", w.folded) for w in words]), limit=40)]
        parts = [(segment, segment.matching(criteria, Visibility()))
                 for segment in (_Segment(leaf, offset, cache) for leaf, offset in searcher.leaf_searchers())]
        found = _score(searcher, words, parts, 40)
    assert len(expected) >= 5
    assert found == expected
