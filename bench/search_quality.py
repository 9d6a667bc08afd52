"""Relevance of search on the judged query set: nDCG@10 and the share of queries whose best
answer (a material made from the named lesson) is in the top 3.

Used by bench/search_bench.py (over its full corpus, through the search service) and by
tests/search/test_relevance.py (a smaller corpus, straight through the engine, with a floor).
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Callable, Sequence

from bench.corpus import JUDGED, LESSONS, Row
from search.analysis import WORD, folded_key, query_words


def _keys(text: str) -> set[str]:
    return {folded_key(w) for w in WORD.findall(text)}


def _dcg(gains: Sequence[int]) -> float:
    return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def evaluate(rows: Sequence[Row], top_ids: Callable[[str, dict[str, str]], list[int]]) -> dict[str, float]:
    """`rows[i]` is material id i + 1; `top_ids(query, filters)` returns the top 10 ids."""
    row_keys = [_keys(f"{r.title} {r.description} {r.text}") for r in rows]
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_subject[r.subject].append(i)
    ndcgs, top3 = [], 0
    for query, lesson, filters in JUDGED:
        query_keys = {w.folded for w in query_words(query)}

        def gain(i: int) -> int:
            r = rows[i]
            if filters.get("subject") not in (None, r.subject) or filters.get("grade") not in (None, *r.grades):
                return 0
            if r.lesson == lesson:
                return 2
            same_subject = LESSONS[r.lesson][0] == LESSONS[lesson][0]
            return 1 if same_subject and query_keys <= row_keys[i] else 0

        ideal = sorted((gain(i) for i in by_subject[LESSONS[lesson][0]]), reverse=True)[:10]
        found = [gain(material_id - 1) for material_id in top_ids(query, filters)[:10]]
        ndcgs.append(_dcg(found) / _dcg(ideal) if _dcg(ideal) else 0.0)
        top3 += 2 in found[:3]
    return {"queries": len(JUDGED), "ndcg@10": sum(ndcgs) / len(ndcgs), "best_in_top3": top3 / len(JUDGED)}
