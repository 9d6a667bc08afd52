"""Search at province scale: index build rate, index size, query latency with and without facet
counts, the result cache, and the same corpus and queries on SQLite FTS5 in the same run; plus
nDCG@10 on the judged query set.

Builds a fresh embedded deployment (SQLite database, Whoosh index) in a temporary folder, seeds
N materials from bench/corpus.py across 1,600 schools, builds the index through the same
`SearchIndex.rebuild` that `flask --app app search reindex` runs, then times a fixed mix of 50
queries through `repository.services.search.search`, the function the /search page and the API
call. Run:

    .venv/bin/python bench/search_bench.py --materials 100000 300000
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import JUDGED, LESSONS, Row, generate  # noqa: E402
from bench.search_quality import evaluate  # noqa: E402

ROUNDS = 3
SCHOOLS = 1600


def query_mix() -> list[dict[str, Any]]:
    """50 queries: one-word, multi-word with diacritics, without diacritics, filtered, browse
    (no text, facet counts only) and deep pages."""
    one_word = ["toán", "phuong", "tế", "đạo", "kieu", "axit", "python", "bản", "sóng", "dân"]
    multi = ["phương trình bậc hai", "góc nội tiếp", "truyện Kiều", "định luật Ohm", "cấu trúc tế bào",
             "địa lí dân cư", "hàm số bậc nhất", "thơ Đường luật", "cơ sở dữ liệu", "liên kết hoá học"]
    folded = ["phuong trinh bac hai", "dia ly tu nhien", "khang chien chong my", "dao dong dieu hoa",
              "hoc sinh thao luan nhom", "ma tran de kiem tra", "nguyen ham tich phan", "tam giac bang nhau",
              "vo chong a phu", "thong tin va du lieu"]
    mix = [{"q": q} for q in one_word + multi + folded]
    mix += [{"q": "phuong trinh", "subject": "TOAN"}, {"q": "bài tập", "grade": "9"},
            {"q": "luyen tap", "subject": "NGU_VAN", "grade": "10"}, {"q": "tế bào", "subject": "KHTN"},
            {"q": "kiem tra", "type": "BAI_KIEM_TRA"}, {"q": "địa lí", "grade": ["8", "9"]},
            {"q": "hoc sinh", "series": "KNTT", "grade": "6"}, {"q": "van ban", "subject": "NGU_VAN"},
            {"q": "dien", "subject": ["VAT_LI", "KHTN"]}, {"q": "ôn tập", "level": "THPT"}]
    mix += [{"subject": "TOAN"}, {"grade": "9"}, {"subject": "KHTN", "grade": "8"}, {"type": "VIDEO"}, {}]
    mix += [{"q": q, "page": "25"} for q in ("hoc sinh", "bai tap", "luyện tập", "giao vien", "kiến thức")]
    assert len(mix) == 50
    return mix


def seed(app: Any, rows: list[Row]) -> Any:
    from sqlalchemy import insert

    from repository.extensions import db
    from repository.models import AdminUnit, Material, MaterialFile, Role, RoleAssignment, School, User, utcnow

    with app.app_context():
        db.session.execute(insert(AdminUnit), [{"code": "SO_GDDT", "name": "Sở", "kind": "department"}])
        unit_id = db.session.scalar(db.select(AdminUnit.id))
        db.session.execute(insert(School), [{"code": f"S{n:04d}", "name": f"Trường THCS số {n}", "school_type": "THCS",
                                             "unit_id": unit_id, "reports_to_id": unit_id} for n in range(SCHOOLS)])
        school_ids = list(db.session.scalars(db.select(School.id).order_by(School.id)))
        db.session.execute(insert(User), [{"email": f"gv{n}@bench.vn", "full_name": f"GV {n}", "school_id": sid,
                                           "status": "active", "session_token": f"t{n}"} for n, sid in enumerate(school_ids)])
        user_ids = list(db.session.scalars(db.select(User.id).order_by(User.id)))
        db.session.execute(insert(RoleAssignment), [{"user_id": uid, "role": Role.TEACHER.value, "school_id": sid}
                                                    for uid, sid in zip(user_ids, school_ids)])
        now = utcnow()
        from datetime import timedelta
        for start in range(0, len(rows), 5000):
            chunk = rows[start:start + 5000]
            db.session.execute(insert(Material), [
                {"id": start + i + 1, "title": r.title, "description": r.description, "subject": r.subject,
                 "grades": list(r.grades), "material_type": r.material_type, "series": r.series, "licence": r.licence,
                 "school_id": school_ids[r.school], "owner_id": user_ids[r.school],
                 "status": "published" if (start + i) % 10 else "school_approved", "download_count": r.downloads,
                 "created_at": now - timedelta(days=r.age_days), "updated_at": now}
                for i, r in enumerate(chunk)])
            db.session.execute(insert(MaterialFile), [
                {"material_id": start + i + 1, "original_name": "bai.pdf", "extension": "pdf",
                 "object_key": f"materials/bench/{start + i + 1}", "size": 1000, "sha256": f"{start + i:064d}",
                 "mime_type": "application/pdf", "kind": "pdf", "state": "ready", "extracted_text": r.text}
                for i, r in enumerate(chunk)])
            db.session.commit()
        return user_ids[0]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def time_queries(run: Callable[[dict[str, Any]], Any], mix: list[dict[str, Any]]) -> dict[str, float]:
    for args in mix:  # warm the caches of the operating system and of the column arrays
        run(args)
    per_query = []
    for args in mix:
        samples = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            run(args)
            samples.append((time.perf_counter() - started) * 1000)
        per_query.append(statistics.median(samples))
    return {"p50": percentile(per_query, 0.5), "p95": percentile(per_query, 0.95), "max": max(per_query)}


def whoosh_run(app: Any, actor: Any, facets: tuple[str, ...] | None) -> Callable[[dict[str, Any]], Any]:
    from werkzeug.datastructures import MultiDict

    from repository.services import search

    def run(args: dict[str, Any]) -> Any:
        data = MultiDict()
        for key, value in args.items():
            for v in value if isinstance(value, list) else [value]:
                data.add(key, v)
        query = search.parse(data)
        return search.search(actor, query) if facets is None else search.search(actor, query, facets)
    return run


# --- SQLite FTS5 on the same corpus and queries ---------------------------------------------------

def fts5_build(rows: list[Row], path: Path) -> tuple[sqlite3.Connection, float]:
    from search.analysis import WORD, folded_key
    from search.documents import levels_of

    def folded(text: str) -> str:
        return " ".join(folded_key(w) for w in WORD.findall(text))

    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE docs(id INTEGER PRIMARY KEY, visible INT, subject TEXT, type TEXT, series TEXT, school INT,
                          created INT, downloads INT, title TEXT);
        CREATE TABLE doc_grades(id INT, grade TEXT); CREATE TABLE doc_levels(id INT, level TEXT);
        CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='unicode61 remove_diacritics 2');
    """)
    started = time.perf_counter()
    for n, r in enumerate(rows, start=1):
        conn.execute("INSERT INTO docs VALUES (?,?,?,?,?,?,?,?,?)", (n, 1 if (n - 1) % 10 else 0, r.subject,
                     r.material_type, r.series, r.school, -r.age_days, r.downloads, r.title))
        conn.executemany("INSERT INTO doc_grades VALUES (?,?)", [(n, g) for g in r.grades])
        conn.executemany("INSERT INTO doc_levels VALUES (?,?)", [(n, lv) for lv in levels_of(list(r.grades))])
        conn.execute("INSERT INTO fts(rowid, title, body) VALUES (?,?,?)",
                     (n, folded(r.title), folded(r.description + " " + r.text)))
    conn.executescript("CREATE INDEX g ON doc_grades(id); CREATE INDEX l ON doc_levels(id);"
                       "INSERT INTO fts(fts) VALUES('optimize');")
    conn.commit()
    return conn, len(rows) / (time.perf_counter() - started)


def fts5_run(conn: sqlite3.Connection, facets: bool) -> Callable[[dict[str, Any]], Any]:
    from search.analysis import query_words

    def run(args: dict[str, Any]) -> Any:
        words = query_words(str(args.get("q", "")))
        where, params = ["d.visible = 1"], []
        for name, column in (("subject", "d.subject"), ("type", "d.type"), ("series", "d.series")):
            values = args.get(name)
            if values:
                values = values if isinstance(values, list) else [values]
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                params += values
        for name, table, column in (("grade", "doc_grades", "grade"), ("level", "doc_levels", "level")):
            values = args.get(name)
            if values:
                values = values if isinstance(values, list) else [values]
                where.append(f"d.id IN (SELECT id FROM {table} WHERE {column} IN ({','.join('?' * len(values))}))")
                params += values
        if words:
            match = " AND ".join(f'"{w.folded}"' for w in words)
            source = "fts JOIN docs d ON d.id = fts.rowid"
            where.insert(0, "fts MATCH ?")
            params.insert(0, match)
            order = "bm25(fts, 3.0, 1.0)"
        else:
            source, order = "docs d", "d.created DESC"
        condition = " AND ".join(where)
        page = int(args.get("page", 1))
        top = conn.execute(f"SELECT d.id FROM {source} WHERE {condition} ORDER BY {order} LIMIT 20 OFFSET ?",
                           params + [(page - 1) * 20]).fetchall()
        if facets:
            matched = f"SELECT d.id AS id, d.subject, d.type, d.series, d.school FROM {source} WHERE {condition}"
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS m(id INT, subject, type, series, school)")
            conn.execute("DELETE FROM m")
            conn.execute(f"INSERT INTO m {matched}", params)
            for column in ("subject", "type", "series", "school"):
                conn.execute(f"SELECT {column}, count(*) FROM m GROUP BY {column}").fetchall()
            conn.execute("SELECT g.grade, count(*) FROM m JOIN doc_grades g ON g.id = m.id GROUP BY g.grade").fetchall()
            conn.execute("SELECT l.level, count(*) FROM m JOIN doc_levels l ON l.id = m.id GROUP BY l.level").fetchall()
            conn.execute("SELECT count(*) FROM m").fetchone()
        return top
    return run


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def rebuild_under_search(app: Any, actor: Any, env: dict[str, str]) -> dict[str, float]:
    """`flask --app app search reindex` in its own process, as an operator runs it, while this
    process keeps searching: rate of the rebuild, searches served during it, errors."""
    run = whoosh_run(app, actor, None)
    served, errors = 0, 0
    started = time.perf_counter()
    process = subprocess.Popen([str(ROOT / ".venv/bin/flask"), "--app", "app", "search", "reindex"], env=env,
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with app.app_context():
        while process.poll() is None:
            try:
                run({"q": "phuong trinh"})
                served += 1
            except Exception:
                errors += 1
            time.sleep(0.05)  # a steady trickle of searches, not a second CPU-bound load
    if process.returncode:
        raise RuntimeError(process.stderr.read() if process.stderr else "reindex failed")
    return {"seconds": time.perf_counter() - started, "served": served, "errors": errors}


def bench(count: int, work: Path) -> None:
    os.environ["INSTANCE_PATH"] = str(work / "instance")
    url = f"sqlite:///{work / 'bench.sqlite3'}"
    env = dict(os.environ, DATABASE_URL=url, SEARCH_INDEX_DIR=str(work / "index"), PROCESSING="worker",
               STORAGE_DIR=str(work / "storage"))
    from flask_migrate import upgrade

    from app import create_app
    from repository.extensions import db
    from repository.models import User
    from search import service_index
    from search.index import live_dir

    app = create_app({"DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url, "SEARCH_INDEX_DIR": str(work / "index"),
                      "SEARCH_RESULT_CACHE": 0, "PROCESSING": "worker", "STORAGE_DIR": str(work / "storage")})
    rows = list(generate(count, schools=SCHOOLS))
    with app.app_context():
        upgrade()
    started = time.perf_counter()
    actor_id = seed(app, rows)
    print(f"\n== {count:,} materials (seeded in {time.perf_counter() - started:.0f} s) ==")
    with app.app_context():
        started = time.perf_counter()
        service_index().rebuild()
        build_seconds = time.perf_counter() - started
        size = directory_size(live_dir(service_index().root))
        actor = db.session.get(User, actor_id)
        mix = query_mix()
        with_facets = time_queries(whoosh_run(app, actor, None), mix)
        without_facets = time_queries(whoosh_run(app, actor, ()), mix)
    rebuild = rebuild_under_search(app, actor, env)
    conn, fts_rate = fts5_build(rows, work / "fts.sqlite3")
    fts_facets = time_queries(fts5_run(conn, True), mix)
    fts_plain = time_queries(fts5_run(conn, False), mix)
    print(f"Whoosh build: {count / build_seconds:,.0f} docs/s ({build_seconds:.0f} s), index {size / 2**20:.0f} MiB")
    print(f"`search reindex` (own process) while searching: {count / rebuild['seconds']:,.0f} docs/s, "
          f"{rebuild['served']} searches served during it, {rebuild['errors']} errors")
    print(f"Whoosh via search service, with facets:    p50 {with_facets['p50']:.1f} ms, p95 {with_facets['p95']:.1f} ms,"
          f" max {with_facets['max']:.1f} ms")
    print(f"Whoosh via search service, without facets: p50 {without_facets['p50']:.1f} ms, "
          f"p95 {without_facets['p95']:.1f} ms")
    print(f"SQLite FTS5 build: {fts_rate:,.0f} docs/s; with facets p50 {fts_facets['p50']:.1f} ms, "
          f"p95 {fts_facets['p95']:.1f} ms; without p50 {fts_plain['p50']:.1f} ms, p95 {fts_plain['p95']:.1f} ms")
    print(f"Ratio Whoosh/FTS5 p95 with facets: {with_facets['p95'] / fts_facets['p95']:.2f}; "
          f"without: {without_facets['p95'] / fts_plain['p95']:.2f}")
    cache_app_figures(app, actor, mix)
    quality(app, actor, rows)


def cache_app_figures(app: Any, actor: Any, mix: list[dict[str, Any]]) -> None:
    """The same mix twice with the result cache on: the second pass is all hits."""
    from cachetools import LRUCache

    from search import service_index

    with app.app_context():
        index = service_index()
        index.results = LRUCache(maxsize=1024)
        run = whoosh_run(app, actor, None)
        for args in mix:
            run(args)
        timed = time_queries(run, mix)
        print(f"With the result cache warm: p50 {timed['p50']:.2f} ms, p95 {timed['p95']:.2f} ms "
              f"(hits {index.cache_hits}, misses {index.cache_misses})")
        index.results = None


def quality(app: Any, actor: Any, rows: list[Row]) -> None:
    run = whoosh_run(app, actor, ())

    def top_ids(query: str, filters: dict[str, str]) -> list[int]:
        page = run({"q": query, "per_page": "10", **filters})
        return [hit.material.id for hit in page.hits]

    with app.app_context():
        figures = evaluate(rows, top_ids)
    print(f"Relevance on {figures['queries']} judged queries: nDCG@10 {figures['ndcg@10']:.3f}, "
          f"best answer in top 3: {figures['best_in_top3']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--materials", type=int, nargs="+", default=[100_000, 300_000])
    args = parser.parse_args()
    import whoosh

    print(f"Whoosh distribution: whoosh3 {getattr(whoosh, '__version__', whoosh.versionstring())}; "
          f"judged queries: {len(JUDGED)}, lessons: {len(LESSONS)}")
    for count in args.materials:
        with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
            bench(count, Path(tmp))


if __name__ == "__main__":
    main()
