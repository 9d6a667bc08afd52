"""The searches of the load benchmark: a few hundred realistic queries with a Zipf-like popularity.

Built from bench/corpus.py the way teachers search: the judged queries (lesson names typed with
or without diacritics, old or new tone placement), the search benchmark's mix (one-word,
multi-word, filtered, browse-only, deep pages), and for every lesson its name, its first words,
its name without diacritics, and the same narrowed by subject, grade, level, type or series, or
sorted by newest or most downloaded. Popularity: the k-th most popular query is asked with weight
1/k (Zipf, s = 1), the ranks shuffled once with a fixed seed, so popular queries are of every
kind.
"""
from __future__ import annotations

import random
from typing import Any

from bench.corpus import JUDGED, LESSONS, SERIES, TYPES
from bench.search_bench import query_mix
from search.vietnamese import fold

LEVELS = {"1": "TIEU_HOC", "2": "TIEU_HOC", "3": "TIEU_HOC", "4": "TIEU_HOC", "5": "TIEU_HOC", "6": "THCS",
          "7": "THCS", "8": "THCS", "9": "THCS", "10": "THPT", "11": "THPT", "12": "THPT"}


def _lesson_queries(rng: random.Random) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for subject, grades, lesson, _vocab in LESSONS:
        name = lesson.split(":")[-1].strip().lower()
        words = name.split()
        grade = grades[0]
        found += [
            {"q": name},
            {"q": fold(name)},
            {"q": " ".join(words[:2])},
            {"q": " ".join(words[:3]), "subject": subject},
            {"q": fold(" ".join(words[:2])), "grade": grade},
            {"q": " ".join(words[:2]), "level": LEVELS[grade]},
            {"q": name, "type": rng.choice(TYPES)},
            {"subject": subject, "grade": grade},
            {"q": fold(name), "series": rng.choice(SERIES)[0], "grade": grade},
            {"q": " ".join(words[:2]), "sort": rng.choice(["newest", "downloads"])},
        ]
    return found


def queries(count: int = 300, seed: int = 2026) -> tuple[list[dict[str, Any]], list[float]]:
    """`count` distinct queries (as /search arguments) and their Zipf weights."""
    rng = random.Random(seed)
    pool = [{"q": q, **filters} for q, _lesson, filters in JUDGED]
    pool += [{k: (",".join(v) if isinstance(v, list) else v) for k, v in args.items()} for args in query_mix()]
    pool += _lesson_queries(rng)
    distinct: dict[tuple, dict[str, Any]] = {}
    for args in pool:
        distinct.setdefault(tuple(sorted(args.items())), args)
    chosen = list(distinct.values())
    rng.shuffle(chosen)
    chosen = chosen[:count]
    return chosen, [1 / rank for rank in range(1, len(chosen) + 1)]


def describe(chosen: list[dict[str, Any]], weights: list[float]) -> str:
    """One line on the mix: how many queries, share of requests that are filtered, top 10 share."""
    total = sum(weights)
    filtered = sum(w for args, w in zip(chosen, weights) if set(args) - {"q", "page", "sort"}) / total
    return (f"{len(chosen)} distinct queries, Zipf s=1: the 10 most popular are {sum(weights[:10]) / total:.0%} "
            f"of searches; {filtered:.0%} of searches carry filters")
