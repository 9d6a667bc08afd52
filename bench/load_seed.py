"""Seed a reusable deployment for the load benchmark (bench/load.py): database, local storage and
search index for N materials, built once under a cache folder and reused while its marker says
it holds the same N.

People go through the application's own services, as an operator at the command line
(SystemActor): migrations, the province's communes/wards, 1,600 schools and one teacher account
per school (CSV imports), the teachers the load signs in with passwords and personal access
tokens. The catalogue does not: the bulk import validates and audits line by line (about 20
lines/s, over an hour for 100,000), so the materials are written with multi-row INSERTs of exactly
the rows that import would write (bench/corpus.py metadata; each material's own small real PDF
in the local storage under a unique key, size and SHA-256 right; the `material.imported` audit
row; the contribution facts derived from it), then the search index is built once. `flask --app
app check --checksums` finds the result consistent. Two bench shortcuts: each
file's search text is the corpus row's ~55-word excerpt, marked processed (running thumbnails and
text extraction for 100,000 files would take hours and is not what the load measures), and each
material gets the corpus row's download count (the "most downloaded" order and relevance
tie-breaks need a realistic spread).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.corpus import LESSONS, Row, generate

SCHOOLS = 1600
PASSWORD = "Tai#Lieu2026"
OPEN_LICENCES = ("CC_BY_4", "CC_BY_SA_4", "CC0")
# A realistic mix of school types (the corpus ignores a school's level when tagging grades).
SCHOOL_TYPES = ("TH",) * 9 + ("THCS",) * 7 + ("THPT", "THPT", "TH_THCS", "THCS_THPT")
UID_NAMESPACE = uuid.UUID("6f1b1f7e-2f4c-4c55-9a55-6c6f61642d62")
MARKER = "seeded.json"
SEED_VERSION = 3  # 2: bulk inserts, one distinct PDF per material; 3: the marker names the last seeded id
APPROVED = ("school_approved", "published")
BATCH = 2000  # materials per INSERT batch and transaction


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


def remove_uploads(deployment: Deployment, log: Any = print) -> int:
    """Delete the materials a load run uploaded (every id after the seeded catalogue's last), the
    way their teachers would (services.materials.delete_material: rows, objects, audit), and
    apply the search change log, so that every run starts from the seeded deployment: without
    it the 100 bench teachers gather hundreds of drafts each, their drafts match most queries,
    and later runs measure a catalogue no school has."""
    last_seeded = json.loads((deployment.folder / MARKER).read_text())["last_id"]
    os.environ.update(deployment.env)
    from sqlalchemy import select

    from app import create_app
    from repository.extensions import db
    from repository.models import Material
    from repository.permissions import SystemActor
    from repository.services import materials, search_index

    app = create_app()
    with app.app_context():
        uploaded = db.session.scalars(select(Material).where(Material.id > last_seeded)).all()
        for material in uploaded:
            materials.delete_material(material.owner, material)
        search_index.apply_log(SystemActor())
        db.engine.dispose()
    if uploaded:
        log(f"removed the {len(uploaded):,} materials uploaded by the last run")
    return len(uploaded)


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


def stored_pdf(storage: Path, key: str, row: Row, n: int) -> tuple[int, str]:
    """Write material n's own one-page PDF where the local backend keeps `key`; (size, sha256).
    Each PDF names its material, so no two files share a checksum (none is flagged a copy)."""
    from repository.demo_files import pdf_file

    target = storage / key
    target.parent.mkdir(parents=True, exist_ok=True)
    content = pdf_file(target, LESSONS[row.lesson][2], [f"Học liệu số {n + 1}", LESSONS[row.lesson][3],
                                                         "Kho học liệu số dùng chung"]).read_bytes()
    return len(content), hashlib.sha256(content).hexdigest()


# --- the catalogue, in bulk -----------------------------------------------------------------

@dataclass
class Batch:
    """The rows of a batch of materials, as the bulk import would have written them."""

    materials: list[dict[str, Any]]
    files: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    facts: list[dict[str, Any]]


def batch_rows(rows: list[Row], first: int, storage: Path, schools: dict[str, int], owners: dict[str, int],
               now: datetime) -> Batch:
    """Rows n = first .. first+len(rows)-1 (material and file id n+1): what `materials import` writes
    for a line (the material, its stored file, the `material.imported` audit row and the
    contribution facts the session hook derives from it), plus the two bench shortcuts (the
    corpus's download count and search text, the file marked processed)."""
    out = Batch([], [], [], [])
    for n, row in enumerate(rows, start=first):
        mid, status = n + 1, status_of(n)
        created = now - timedelta(days=row.age_days, minutes=n % 1440)
        approved = created if status in APPROVED else None
        school, owner, uid = schools[school_code(row.school)], owners[owner_email(row.school)], material_uid(n)
        out.materials.append({
            "id": mid, "title": row.title, "description": row.description, "subject": row.subject,
            "grades": list(row.grades), "topic": None, "series": row.series, "material_type": row.material_type,
            "licence": row.licence, "language": "vi", "school_id": school, "owner_id": owner, "status": status,
            "approved_at": approved, "view_count": 0, "download_count": row.downloads, "created_at": created,
            "updated_at": now, "uid": uid})
        key = f"materials/{created.year:04d}/{created.month:02d}/{uuid.uuid5(UID_NAMESPACE, uid).hex}"
        size, sha256 = stored_pdf(storage, key, row, n)
        out.files.append({
            "id": mid, "material_id": mid, "version": 1, "is_current": True, "replaces_id": None,
            "original_name": f"hoc-lieu-{mid:06d}.pdf", "extension": "pdf", "object_key": key, "size": size,
            "sha256": sha256, "mime_type": "application/pdf", "kind": "pdf", "state": "ready",
            "failure_reason": None, "thumbnail_key": None, "preview_key": None, "extracted_text": row.text,
            "text_flags": [], "duplicate_of_id": None, "uploaded_by_id": None, "created_at": now,
            "processed_at": now})
        out.audit.append({"at": now, "actor_id": None, "action": "material.imported", "target_type": "materials",
                          "target_id": mid, "details": {"status": status, "owner": owner, "uid": uid, "via": "cli"}})
        if approved is not None:  # repository.reports.facts: an approved import opens an interval then
            out.facts += [{"material_id": mid, "school_id": school, "owner_id": owner, "subject": row.subject,
                           "grade": grade, "school_approved_at": approved,
                           "published_at": approved if status == "published" else None, "ended_at": None,
                           "duplicate": False, "main": i == 0}
                          for i, grade in enumerate(dict.fromkeys(row.grades))]
    return out


def bulk_catalogue(rows: list[Row], storage: Path, log: Any) -> None:
    """Every material with its file, audit row and facts, by multi-row INSERTs in batches of
    BATCH (one transaction each); then the id sequences are moved past the explicit ids."""
    from sqlalchemy import select, text

    from repository.extensions import db
    from repository.models import AuditEvent, ContributionFact, Material, MaterialFile, School, User

    schools = dict(db.session.execute(select(School.code, School.id)).all())
    owners = dict(db.session.execute(select(User.email, User.id)).all())
    first = db.session.scalar(select(db.func.count(Material.id)))
    if first:
        raise RuntimeError("the bulk seed expects a catalogue without materials")
    db.session.commit()
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    started = time.perf_counter()
    with db.engine.connect() as connection:
        for start in range(0, len(rows), BATCH):
            made = batch_rows(rows[start:start + BATCH], start, storage, schools, owners, now)
            for table, values in ((Material.__table__, made.materials), (MaterialFile.__table__, made.files),
                                  (AuditEvent.__table__, made.audit), (ContributionFact.__table__, made.facts)):
                if values:
                    connection.execute(table.insert(), values)
            connection.commit()
            done = start + len(made.materials)
            if done % (BATCH * 10) == 0 or done == len(rows):
                log(f"seed: {done:,} materials ({done / (time.perf_counter() - started):,.0f}/s)")
        if connection.dialect.name == "postgresql":
            for table in ("materials", "material_files"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
        connection.execute(text("ANALYZE"))
        connection.commit()


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


def seed(deployment: Deployment, materials: int, teachers: int, uploads: int, log: Any = print) -> None:
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
        started = time.perf_counter()
        bulk_catalogue(rows, deployment.folder / "storage", log)
        log(f"seed: {materials:,} materials with their files in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        search_index.rebuild(actor)
        log(f"seed: search index built in {time.perf_counter() - started:.0f} s")
        plan = {"people": people, "downloadable": _downloadable(),
                "uploads": upload_pdfs(deployment.folder / "uploads", uploads)}
        from sqlalchemy import func, select

        from repository.extensions import db
        from repository.models import Material

        last_id = int(db.session.scalar(select(func.max(Material.id))) or 0)
        db.engine.dispose()
    deployment.plan_path.write_text(json.dumps(plan))
    (deployment.folder / MARKER).write_text(json.dumps({"materials": materials, "version": SEED_VERSION,
                                                        "last_id": last_id,
                                                        "database_url": deployment.database_url}))
