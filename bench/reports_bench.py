"""Contribution reports at real scale: the province report and one school's matrix.

Builds a province like Ninh Bình's (129 communes/wards, 1,600 schools in the real mix of types,
46,000 teachers, 300,000 materials with their approval intervals) straight into the tables with
bulk inserts, then times, on SQLite and on PostgreSQL:
- the province report (repository.services.reports.contributions, as the department sees it),
- one school's matrix page data (school_matrix, with and without its monthly trend),
- the single raw SQL aggregate under the report (the grouped count over contribution_facts),
and prints the ratio report / raw aggregate and the number of SQL statements of each.

    .venv/bin/python -u bench/reports_bench.py                 # both databases, full size
    .venv/bin/python -u bench/reports_bench.py --db sqlite --materials 30000 --teachers 5000
PostgreSQL: a database `bench_reports` on 127.0.0.1:5432 (created if missing).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Schools by type, from the department's figures of 1/7/2025 (DOMAIN.md §4), scaled to 1,600.
TYPES = [("MN", 503), ("TH", 488), ("THCS", 471), ("THPT", 110), ("GDNN_GDTX", 25), ("TH_THCS", 3)]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports"
BATCH = 5000


def _make_pg_database() -> None:
    exists = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                             "SELECT 1 FROM pg_database WHERE datname = 'bench_reports'"],
                            capture_output=True, text=True).stdout.strip()
    if exists:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "bench_reports"], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "bench_reports"], check=True)


def _insert(table: Any, rows: list[dict[str, Any]]) -> None:
    from repository.extensions import db

    for start in range(0, len(rows), BATCH):
        db.session.execute(table.insert(), rows[start:start + BATCH])
    db.session.commit()


def seed(n_schools: int, n_teachers: int, n_materials: int, rng: random.Random) -> dict[str, Any]:
    """The province, inserted with bulk statements (the facts as the session hook would write them)."""
    from repository import curriculum
    from repository.extensions import db
    from repository.models import (AdminUnit, ContributionFact, Material, RoleAssignment, School, User,
                                   SchoolElectives)
    from repository.permissions import SystemActor
    from repository.reports import cells
    from repository.services import schools as school_service, users

    system = SystemActor()
    dept = school_service.department_unit()
    _insert(AdminUnit.__table__, [{"code": f"{14000 + i}", "name": f"Xã Mẫu {i}", "kind": "commune",
                                   "province_code": 37, "active": True, "created_at": datetime(2025, 7, 1)}
                                  for i in range(129)])
    units = list(db.session.scalars(db.select(AdminUnit.id).where(AdminUnit.id != dept.id)))
    scale = n_schools / sum(n for _, n in TYPES)
    school_rows = []
    for kind, count in TYPES:
        reports_to_dept = curriculum.school_type(kind).reports_to != "UBND_XA"
        for i in range(max(1, round(count * scale))):
            unit = rng.choice(units)
            school_rows.append({"code": f"{kind}{i:04d}", "name": f"Trường {kind} số {i}", "school_type": kind,
                                "unit_id": unit, "reports_to_id": dept.id if reports_to_dept else unit,
                                "active": True, "created_at": datetime(2025, 7, 1), "updated_at": datetime(2025, 7, 1)})
    _insert(School.__table__, school_rows)
    all_schools = list(db.session.scalars(db.select(School)))
    _insert(SchoolElectives.__table__, [{"school_id": s.id, "school_year": "2026-2027",
                                         "subjects": ["VAT_LI", "HOA_HOC", "SINH_HOC", "TIN_HOC"],
                                         "updated_at": datetime(2026, 9, 1)}
                                        for s in all_schools if s.school_type == "THPT"])
    admin, _ = users.create_user(system, users.UserInput("admin@bench.ninhbinh.edu.vn", "Quản trị", "", "",
                                                         ["dept_admin"]), password="Bench#Report2026")
    weights = [len(school_service.effective_grades(s)) for s in all_schools]
    owner_school = rng.choices(all_schools, weights=weights, k=n_teachers)
    first_user = (db.session.scalar(db.select(db.func.max(User.id))) or 0) + 1
    _insert(User.__table__, [{"id": first_user + i, "email": f"gv{i}@bench.ninhbinh.edu.vn", "full_name": f"Giáo viên {i}",
                              "school_id": s.id, "status": "active", "must_change_password": False,
                              "session_token": uuid.uuid4().hex, "created_at": datetime(2025, 8, 1),
                              "updated_at": datetime(2025, 8, 1)} for i, s in enumerate(owner_school)])
    _insert(RoleAssignment.__table__, [{"user_id": first_user + i, "role": "teacher", "school_id": s.id, "subjects": [],
                                        "levels": [], "granted_at": datetime(2025, 8, 1)}
                                       for i, s in enumerate(owner_school)])
    on = datetime(2026, 9, 5).date()
    required = {s.id: cells.required_cells(school_service.effective_grades(s), on,
                                           ["VAT_LI", "HOA_HOC", "SINH_HOC", "TIN_HOC"]) for s in all_schools}
    start = datetime(2025, 9, 1)
    material_rows, fact_rows = [], []
    first_material = 1
    for n in range(n_materials):
        owner = rng.randrange(n_teachers)
        school = owner_school[owner]
        cell = rng.choice(required[school.id]) if required[school.id] else None
        subject, grade = (cell.subject, cell.grade) if cell else ("TOAN", "6")
        opened = start + timedelta(minutes=rng.randrange(455 * 24 * 60))  # Sep 2025 .. Nov 2026
        published = opened + timedelta(days=rng.randrange(1, 20)) if rng.random() < 0.7 else None
        ended = opened + timedelta(days=rng.randrange(1, 60)) if rng.random() < 0.04 else None
        status = "retracted" if ended else ("published" if published else "school_approved")
        mid = first_material + n
        material_rows.append({"id": mid, "title": f"Bài giảng {n}", "description": "", "subject": subject,
                              "grades": [grade], "material_type": "BAI_GIANG_DIEN_TU", "licence": "CC_BY_4",
                              "language": "vi", "school_id": school.id, "owner_id": first_user + owner,
                              "status": status, "approved_at": opened, "view_count": 0, "download_count": 0,
                              "created_at": opened - timedelta(days=1), "updated_at": opened, "uid": str(uuid.uuid4())})
        fact_rows.append({"material_id": mid, "school_id": school.id, "owner_id": first_user + owner,
                          "subject": subject, "grade": grade, "school_approved_at": opened, "published_at": published,
                          "ended_at": ended, "duplicate": rng.random() < 0.01, "main": True})
    _insert(Material.__table__, material_rows)
    _insert(ContributionFact.__table__, fact_rows)
    from sqlalchemy import text
    if db.engine.dialect.name == "postgresql":
        for table in ("materials", "users", "schools", "admin_units"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        db.session.execute(text("ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
    db.session.commit()
    busiest = max(all_schools, key=lambda s: sum(1 for o in owner_school if o.id == s.id) if s.school_type == "THCS" else -1)
    return {"admin_id": admin.id, "school_id": busiest.id, "schools": len(all_schools)}


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, int]:
    """Median milliseconds over `repeat` runs after one warm-up, and the statements of one run."""
    from sqlalchemy import event

    from repository.extensions import db

    run()
    seen: list[int] = []
    listener = lambda *args: seen.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        db.session.expire_all()
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    samples = []
    for _ in range(repeat):
        db.session.expire_all()
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), len(seen)


def measure(url: str, args: argparse.Namespace, work: Path) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from repository.extensions import db
    from repository.models import School, User
    from repository.reports import figures
    from repository.services import reports

    app = create_app({"DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url, "SEARCH_INDEX_DIR": str(work / "index"),
                      "PROCESSING": "worker", "SEARCH_APPLY": "worker", "STORAGE_DIR": str(work / "storage")})
    with app.app_context():
        upgrade()
        began = time.perf_counter()
        made = seed(args.schools, args.teachers, args.materials, random.Random(2026))
        print(f"  seeded {made['schools']:,} schools, {args.teachers:,} teachers, {args.materials:,} materials "
              f"in {time.perf_counter() - began:.0f} s")
        admin = db.session.get(User, made["admin_id"])
        school = db.session.get(School, made["school_id"])
        when = reports.resolve("2026-2027", "month:2026-11")
        win = figures.window(when.rules, when.calendar, when.period)
        province_ms, province_q = timed(lambda: reports.contributions(admin, "2026-2027", "month:2026-11"), args.repeat)
        raw_ms, raw_q = timed(lambda: figures.cell_counts(win, None), args.repeat)
        matrix_ms, matrix_q = timed(lambda: reports.school_matrix(admin, school, "2026-2027", "month:2026-11",
                                                                   with_trend=False), args.repeat)
        trend_ms, trend_q = timed(lambda: reports.school_matrix(admin, school, "2026-2027", "month:2026-11"),
                                  args.repeat)
        report = reports.contributions(admin, "2026-2027", "month:2026-11")
        print(f"  province report:          {province_ms:8.1f} ms  ({province_q} SQL statements; "
              f"{report.total.schools_meeting_target} of {report.total.schools_in_target} schools meet the target, "
              f"coverage {report.total.coverage:.1%})")
        print(f"  raw SQL aggregate:        {raw_ms:8.1f} ms  ({raw_q} statement)  -> report / raw = "
              f"{province_ms / raw_ms:.2f}")
        print(f"  school matrix:            {matrix_ms:8.1f} ms  ({matrix_q} SQL statements)")
        print(f"  school matrix + trend:    {trend_ms:8.1f} ms  ({trend_q} SQL statements)")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--schools", type=int, default=1600)
    parser.add_argument("--teachers", type=int, default=46_000)
    parser.add_argument("--materials", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        work = Path(tmp)
        os.environ["INSTANCE_PATH"] = str(work / "instance")
        if args.db in ("sqlite", "both"):
            print("SQLite:")
            measure(f"sqlite:///{work / 'reports.sqlite3'}", args, work)
        if args.db in ("postgresql", "both"):
            print("PostgreSQL:")
            _make_pg_database()
            measure(PG_URL, args, work)


if __name__ == "__main__":
    main()
