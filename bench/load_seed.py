"""Seed a reusable deployment for the load benchmark (bench/load.py): database, local storage and
search index for N materials, built once under a cache folder and reused while its marker says
it holds the same N.

Everything goes through the application's own services, as an operator at the command line
(SystemActor): migrations, the province's communes/wards, 1,600 schools and one teacher account
per school (CSV imports), the teachers the load signs in with passwords and personal access
tokens, and the materials through the bulk JSON Lines import (bench/corpus.py metadata, small
real PDFs stored and checked like any upload). Two bench shortcuts, both applied before the index
is built: each file's search text is the corpus row's ~55-word excerpt, marked processed
(running thumbnails and text extraction for 100,000 files would take hours and is not what the
load measures), and each material gets the corpus row's download count (the "most downloaded"
order and relevance tie-breaks need a realistic spread).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from bench.corpus import LESSONS, Row, generate

SCHOOLS = 1600
PASSWORD = "Tai#Lieu2026"
OPEN_LICENCES = ("CC_BY_4", "CC_BY_SA_4", "CC0")
# A realistic mix of school types (the corpus ignores a school's level when tagging grades).
SCHOOL_TYPES = ("TH",) * 9 + ("THCS",) * 7 + ("THPT", "THPT", "TH_THCS", "THCS_THPT")
UID_NAMESPACE = uuid.UUID("6f1b1f7e-2f4c-4c55-9a55-6c6f61642d62")
MARKER = "seeded.json"
SEED_VERSION = 1


@dataclass(frozen=True)
class Deployment:
    """Where one seeded deployment lives: its environment is what the server and workers get."""

    folder: Path
    database_url: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "INSTANCE_PATH": str(self.folder / "instance"),
            "STORAGE_BACKEND": "local",
            "STORAGE_DIR": str(self.folder / "storage"),
            "SEARCH_INDEX_DIR": str(self.folder / "index"),
            "SEARCH_APPLY": "worker",
            "PROCESSING": "worker",
            "SECRET_KEY": "bench-load-secret-key-not-for-production",
        }

    @property
    def plan_path(self) -> Path:
        return self.folder / "plan.json"


def school_code(n: int) -> str:
    return f"TRUONG{n:04d}"


def owner_email(n: int) -> str:
    return f"gv{n:04d}@truong{n:04d}.bench.ninhbinh.edu.vn"


def teacher_email(n: int) -> str:
    return f"gv.tai{n:03d}@bench.ninhbinh.edu.vn"


def status_of(n: int) -> str:
    """85% published; the rest spread over the states before publication."""
    return {0: "draft", 1: "submitted", 2: "school_approved"}.get(n % 20, "published")


def material_uid(n: int) -> str:
    return str(uuid.uuid5(UID_NAMESPACE, f"load-{n}"))


def is_seeded(deployment: Deployment, materials: int) -> bool:
    marker = deployment.folder / MARKER
    if not marker.exists() or not deployment.plan_path.exists():
        return False
    found = json.loads(marker.read_text())
    return found.get("materials") == materials and found.get("version") == SEED_VERSION


# --- database ------------------------------------------------------------------------------

def recreate_database(url: str) -> None:
    """Drop and create the PostgreSQL database named in `url` (a SQLite file is just removed)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database or "").unlink(missing_ok=True)
        return
    import psycopg

    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


# --- files -------------------------------------------------------------------------------

def lesson_pdfs(folder: Path, variants: int = 3) -> list[list[str]]:
    """A few real one-page PDFs per lesson; returns, per lesson, their paths relative to `folder`."""
    from repository.demo_files import pdf_file

    (folder / "files").mkdir(parents=True, exist_ok=True)
    paths: list[list[str]] = []
    for index, (_subject, _grades, lesson, vocab) in enumerate(LESSONS):
        mine = []
        for variant in range(variants):
            name = f"files/bai-{index:02d}-{variant}.pdf"
            pdf_file(folder / name, lesson, [f"Tài liệu số {variant + 1}", vocab, "Kho học liệu số dùng chung"])
            mine.append(name)
        paths.append(mine)
    return paths


def upload_pdfs(folder: Path, count: int) -> list[dict[str, str]]:
    """`count` distinct small PDFs for the load's uploads (distinct, so none is flagged as a copy),
    each with the metadata its upload sends."""
    from repository.demo_files import pdf_file

    folder.mkdir(parents=True, exist_ok=True)
    uploads = []
    for n in range(count):
        subject, grades, lesson, vocab = LESSONS[n % len(LESSONS)]
        path = folder / f"tai-len-{n:04d}.pdf"
        pdf_file(path, lesson, [f"Bản tải lên số {n}", vocab])
        uploads.append({"path": str(path), "title": f"Phiếu học tập: {lesson} ({n})", "subject": subject,
                        "grade": grades[0]})
    return uploads


def jsonl_lines(rows: list[Row], pdfs: list[list[str]]) -> Iterator[str]:
    now = datetime.now().replace(microsecond=0)
    for n, row in enumerate(rows):
        line = {"title": row.title, "description": row.description, "subject": row.subject,
                "grades": list(row.grades), "school": school_code(row.school), "owner": owner_email(row.school),
                "file": pdfs[row.lesson][n % len(pdfs[row.lesson])], "type": row.material_type,
                "series": row.series, "licence": row.licence, "status": status_of(n),
                "created_at": (now - timedelta(days=row.age_days)).isoformat(), "uid": material_uid(n)}
        yield json.dumps(line, ensure_ascii=False)


# --- seeding through the services ---------------------------------------------------------

def bulk_import(deployment: Deployment, source: Path, lines: list[str], jobs: int) -> int:
    """`flask --app app materials import` as an operator runs it, on `jobs` parts of the file at
    once: the import is bound by database round trips (about ten per line), not by one core."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    processes = []
    for job in range(jobs):
        part = source / f"materials-{job}.jsonl"
        part.write_text("\n".join(lines[job::jobs]) + "\n", encoding="utf-8")
        processes.append(subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "materials", "import",
                                           str(part)], cwd=root, env={**os.environ, **deployment.env},
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    imported = 0
    for process in processes:
        out, err = process.communicate()
        if process.returncode:
            raise RuntimeError(f"materials import failed ({process.returncode}): {err[-2000:]}")
        imported += int(out.split()[2])  # "Đã nhập N học liệu; ..."
    return imported


def _schools_csv(unit_codes: list[str]) -> bytes:
    lines = ["code,name,type,unit_code"]
    for n in range(SCHOOLS):
        kind = SCHOOL_TYPES[n % len(SCHOOL_TYPES)]
        lines.append(f"{school_code(n)},Trường {kind} số {n + 1},{kind},{unit_codes[n % len(unit_codes)]}")
    return ("\n".join(lines) + "\n").encode()


def _owners_csv() -> bytes:
    lines = ["email,full_name,school_code,roles"]
    lines += [f"{owner_email(n)},Giáo viên {n + 1},{school_code(n)},teacher" for n in range(SCHOOLS)]
    return ("\n".join(lines) + "\n").encode()


def _people(actor: Any, teachers: int) -> list[dict[str, str]]:
    """Schools, their authors, and `teachers` active accounts with a password and an API token."""
    from repository.extensions import db
    from repository.models import AdminUnit
    from repository.services import exchange, schools, tokens, users

    schools.load_units(actor, 37)
    db.session.commit()
    codes = sorted(db.session.scalars(db.select(AdminUnit.code).where(AdminUnit.kind != "department")))
    exchange.import_schools_file(actor, _schools_csv(codes), "schools.csv")
    exchange.import_users_file(actor, _owners_csv(), "users.csv")
    db.session.commit()
    people = []
    for n in range(teachers):
        data = users.UserInput(teacher_email(n), f"Giáo viên tải lên {n + 1}", school_code(n * 7 % SCHOOLS), "",
                               ["teacher"])
        user, _link = users.create_user(actor, data, password=PASSWORD)
        _token, raw = tokens.create_token(actor, user, "load bench")
        people.append({"email": user.email, "password": PASSWORD, "token": raw})
    db.session.commit()
    return people


def _bench_shortcuts(rows: list[Row]) -> None:
    """Search text and download counts from the corpus, keyed by each line's uid (see the module
    docstring for why); written with plain UPDATEs, before the index is built from the database."""
    from sqlalchemy import bindparam, update

    from repository.extensions import db
    from repository.models import Material, MaterialFile

    ids = dict(db.session.execute(db.select(Material.uid, Material.id)).all())
    materials, files = Material.__table__, MaterialFile.__table__
    counts = update(materials).where(materials.c.id == bindparam("mid")).values(download_count=bindparam("downloads"))
    texts = (update(files).where(files.c.material_id == bindparam("mid"))
             .values(extracted_text=bindparam("text"), state="ready"))
    batch = 5000
    for start in range(0, len(rows), batch):
        chunk = [(ids[material_uid(n)], rows[n]) for n in range(start, min(start + batch, len(rows)))]
        connection = db.session.connection()
        connection.execute(counts, [{"mid": mid, "downloads": row.downloads} for mid, row in chunk])
        connection.execute(texts, [{"mid": mid, "text": row.text} for mid, row in chunk])
        db.session.commit()


def _downloadable() -> list[list[int]]:
    """[material id, file id, downloads] of every published material under an open licence: what
    anonymous visitors may open and download."""
    from repository.extensions import db
    from repository.models import Material, MaterialFile

    query = (db.select(Material.id, MaterialFile.id, Material.download_count)
             .join(MaterialFile, MaterialFile.material_id == Material.id)
             .where(Material.status == "published", Material.licence.in_(OPEN_LICENCES),
                    MaterialFile.is_current.is_(True)).order_by(Material.id))
    return [list(row) for row in db.session.execute(query)]


def seed(deployment: Deployment, materials: int, teachers: int, uploads: int, jobs: int = 2,
         log: Any = print) -> None:
    """Build the deployment from nothing and write its plan (what the load draws from)."""
    import shutil

    from flask_migrate import upgrade

    from repository.permissions import SystemActor
    from repository.services import search_index

    if deployment.folder.exists():
        shutil.rmtree(deployment.folder)
    deployment.folder.mkdir(parents=True)
    recreate_database(deployment.database_url)
    os.environ.update(deployment.env)
    from app import create_app

    app = create_app()
    actor = SystemActor()
    rows = list(generate(materials, schools=SCHOOLS))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        people = _people(actor, teachers)
        log(f"seed: schools, {SCHOOLS} authors and {teachers} teachers in {time.perf_counter() - started:.0f} s")
        source = deployment.folder / "import"
        pdfs = lesson_pdfs(source)
        (source / "materials.jsonl").write_text("\n".join(jsonl_lines(rows, pdfs)) + "\n", encoding="utf-8")
        started = time.perf_counter()
        imported = bulk_import(deployment, source, list(jsonl_lines(rows, pdfs)), jobs)
        seconds = time.perf_counter() - started
        log(f"seed: bulk import of {imported:,} materials in {seconds:.0f} s ({imported / seconds:,.0f} lines/s, "
            f"{jobs} `materials import` processes)")
        _bench_shortcuts(rows)
        started = time.perf_counter()
        search_index.rebuild(actor)
        log(f"seed: search index built in {time.perf_counter() - started:.0f} s")
        plan = {"people": people, "downloadable": _downloadable(),
                "uploads": upload_pdfs(deployment.folder / "uploads", uploads)}
        from repository.extensions import db

        db.engine.dispose()
    deployment.plan_path.write_text(json.dumps(plan))
    (deployment.folder / MARKER).write_text(json.dumps({"materials": materials, "version": SEED_VERSION,
                                                        "database_url": deployment.database_url}))
