"""Whoosh 2.7.4 against whoosh3 on this project's workload, to choose the pinned distribution.

Both install the package `whoosh`, so each runs in its own interpreter: whoosh3 from .venv, and
Whoosh 2.7.4 installed with `pip install --target` into a temporary folder put first on the path.
Each builds an index of N materials from bench/corpus.py with the project's schema and analyzer
and times the 50-query mix of bench/search_bench.py through search.engine (facets included).

    .venv/bin/python bench/whoosh_distributions.py --materials 30000
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(count: int, folder: str) -> dict:
    """Runs inside the child interpreter."""
    sys.path.insert(0, str(ROOT))
    from types import SimpleNamespace

    import whoosh
    from whoosh import index

    from bench.corpus import generate
    from bench.search_bench import percentile, query_mix
    from search.analysis import query_words
    from search.engine import Criteria, SegmentCache, Visibility, run
    from search.schema import build_schema, document

    ix = index.create_in(folder, build_schema())
    started = time.perf_counter()
    writer = ix.writer(limitmb=256)
    for n, r in enumerate(generate(count), start=1):
        material = SimpleNamespace(id=n, title=r.title, description=r.description, topic=None, status="published",
                                   owner_id=r.school, subject=r.subject, material_type=r.material_type,
                                   series=r.series, school_id=r.school, grades=list(r.grades),
                                   created_at=__import__("datetime").datetime(2026, 1, 1),
                                   updated_at=__import__("datetime").datetime(2026, 1, 1), download_count=r.downloads)
        writer.add_document(**document(material, ["THCS"], True, r.text))
    writer.commit()
    build = count / (time.perf_counter() - started)
    searcher, cache = ix.searcher(), SegmentCache()

    def criteria(args: dict) -> Criteria:
        filters = tuple((k, tuple(v) if isinstance(v, list) else (v,)) for k, v in args.items()
                        if k in ("subject", "grade", "type", "series", "level"))
        return Criteria(words=tuple(query_words(args.get("q", ""))), filters=filters, page=int(args.get("page", 1)))

    mix = query_mix()
    for args in mix:
        run(searcher, criteria(args), Visibility(), cache)
    times = []
    for args in mix:
        samples = []
        for _ in range(3):
            t = time.perf_counter()
            run(searcher, criteria(args), Visibility(), cache)
            samples.append((time.perf_counter() - t) * 1000)
        times.append(statistics.median(samples))
    return {"version": whoosh.versionstring(), "build": build, "p50": percentile(times, 0.5),
            "p95": percentile(times, 0.95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--materials", type=int, default=30_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.materials, args.child)))
        return
    with tempfile.TemporaryDirectory(prefix="whoosh-dists-") as tmp:
        old = Path(tmp) / "whoosh-2.7.4"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(old), "Whoosh==2.7.4"],
                       check=True)
        for label, extra in (("whoosh3 (pinned)", ""), ("Whoosh 2.7.4", str(old))):
            index_dir = Path(tmp) / label.split()[0]
            index_dir.mkdir()
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (extra, str(ROOT)) if p),
                       PYTHONWARNINGS="ignore")
            out = subprocess.run([sys.executable, __file__, "--materials", str(args.materials), "--child",
                                  str(index_dir)], env=env, capture_output=True, text=True, check=True).stdout
            figures = json.loads(out.strip().splitlines()[-1])
            print(f"{label:<18} {figures['version']:<8} build {figures['build']:,.0f} docs/s, "
                  f"p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms ({args.materials:,} materials)")


if __name__ == "__main__":
    main()
