"""`backup DIR` / `restore DIR`: a deployment restored from a backup is the same deployment.

Every test makes real materials through the services (uploaded PDFs, thumbnails and text made
by the processing service, the review workflow, a revision, a merged school), backs up with the
real command and restores onto a freshly created database: SQLite -> SQLite, PostgreSQL ->
PostgreSQL, and across (SQLite -> PostgreSQL, PostgreSQL -> SQLite) when TEST_DATABASE_URL is set.
The comparison reads both databases independently of the backup code: every row of every table,
SQL NULL told apart from JSON null, every object's bytes, search results and `check`.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from repository.backup import snapshot
from repository.cli_backup import backup as backup_command, restore as restore_command
from repository.errors import PermissionDenied
from repository.extensions import db, object_store
from repository.models import Material, MaterialFile, School, User
from repository.permissions import SystemActor
from repository.services import backup as backup_service
from repository.services import materials, processing, review, schools
from repository.services import search as search_service
from tests.helpers import make_app
from tests.repository.review_support import make_material, pdf_upload, published, school_approved, submitted

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
TARGETS = ["sqlite"] + (["postgresql"] if PG_URL or os.environ.get("REQUIRE_POSTGRES") == "1" else [])
RESTORE_EVENT = "backup.restored"


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Make an empty database (no tables) of a kind; PostgreSQL ones are dropped afterwards."""
    created: list[str] = []

    def create(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:8]}.sqlite3'}"
        if not PG_URL:
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        name = f"kho_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _admin(f'CREATE DATABASE "{name}"')
        created.append(name)
        return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield create
    for name in created:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(statement: str) -> None:
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def apps() -> Iterator[Callable[..., Any]]:
    """Build further apps (restore targets); their connections are closed afterwards."""
    made: list[Any] = []

    def build(url: str, **overrides: Any) -> Any:
        made.append(make_app(url, **overrides))
        return made[-1]

    yield build
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _folder(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


def _invoke(app: Any, command: Any, *args: Any) -> Any:
    """Run a command against `app` (its own app context, not the test's)."""
    with app.app_context():
        return app.test_cli_runner().invoke(command, [str(a) for a in args])


def _check(app: Any) -> Any:
    with app.app_context():
        return app.test_cli_runner().invoke(args=["check", "--checksums"])


def _backup(app: Any, directory: Path, *options: str) -> Path:
    result = _invoke(app, backup_command, directory, *options)
    assert result.exit_code == 0, result.output
    return directory


def _restore(app: Any, directory: Path, *options: str) -> Any:
    result = _invoke(app, restore_command, directory, *options)
    assert result.exit_code == 0, result.output
    return result


# --- a deployment with something of everything -------------------------------------------------

def _populate(world: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Materials in every review state, a revision under review (a file replacing an older one),
    a problem report with its notifications, and a school merged into a newer one (a row that
    points forward in its own table); then processing makes thumbnails and text."""
    made = {
        "published": published(world, tmp_path, title="Phương trình bậc hai", lines=["Nghiệm kép", "Delta"]),
        "approved": school_approved(world, tmp_path, title="Hệ phương trình", lines=["Phép thế"]),
        "submitted": submitted(world, tmp_path, title="Hình học không gian", lines=["Hình chóp"]),
        "draft": make_material(world["teacher2"], tmp_path, title="Lịch sử địa phương Ninh Bình",
                               lines=["Cố đô Hoa Lư"]),
    }
    old = made["published"].files[0]
    materials.replace_file(world["teacher"], made["published"], old,
                           pdf_upload(tmp_path, "Phương trình bậc hai (sửa)"))
    review.report_problem(world["teacher2"], made["published"], "error", "Sai đáp số bài 2.")
    newer = schools.save_school(SystemActor(), None,
                                schools.SchoolInput("THCS03", "Trường THCS Gia Sinh", "THCS", "14464"))
    schools.merge_school(SystemActor(), world["thcs2"], newer)
    # A JSON column holds SQL NULL or a JSON null; both read as None, so both must be kept apart.
    db.session.execute(sa.update(School).where(School.code == "THCS01").values(grades_override=sa.null()))
    db.session.execute(sa.update(School).where(School.code == "THPT01").values(grades_override=sa.JSON.NULL))
    db.session.commit()
    assert processing.process_pending() == 5
    return made


@pytest.fixture
def populated(app: Any, world: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return _populate(world, _folder(tmp_path / "uploads"))


# --- reading a deployment independently of the backup code ------------------------------------

SQL_NULL = "<SQL NULL>"


def _rows(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table by primary key; JSON columns as (parsed value or SQL_NULL)."""
    found: dict[str, list[dict[str, Any]]] = {}
    metadata = sa.MetaData()
    with engine.connect() as conn:
        metadata.reflect(bind=conn)
        for table in metadata.tables.values():
            if table.name == "alembic_version":
                continue
            columns = [sa.cast(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c for c in table.columns]
            query = sa.select(*columns).order_by(*table.primary_key.columns)
            json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
            found[table.name] = [
                {k: (SQL_NULL if v is None else json.loads(v)) if k in json_columns else v for k, v in row.items()}
                for row in conn.execute(query).mappings()]
    return found


def _without_restore_event(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    events = rows["audit_events"]
    restored = [e for e in events if e["action"] == RESTORE_EVENT]
    assert len(restored) == 1, "the restore is written to the audit trail once"
    return {**rows, "audit_events": [e for e in events if e["action"] != RESTORE_EVENT]}


def _objects(app: Any) -> dict[str, bytes]:
    """Every object a file row points to, with its bytes."""
    with app.app_context():
        store = object_store()
        keys = [k for row in db.session.execute(sa.select(MaterialFile.object_key, MaterialFile.thumbnail_key,
                                                                MaterialFile.preview_key)) for k in row if k]
        found = {}
        for key in keys:
            with store.open(key) as stream:
                found[key] = stream.read()
        return found


def _search_state(app: Any) -> list[Any]:
    """What people find: anonymous visitors, the department reviewer and the school reviewer
    (who also sees the school's submissions), by a word and by browsing."""
    with app.app_context():
        people = [None] + [db.session.scalar(sa.select(User).where(User.email == email))
                           for email in ("duyet@so.ninhbinh.edu.vn", "totruong@thcs1.ninhbinh.edu.vn")]
        state = []
        for person in people:
            # by title: distinct titles give one order, where relevance and date can tie (and a
            # tie follows the order documents entered the index, which a rebuild changes)
            for query in (search_service.SearchInput(sort="title"),
                          search_service.SearchInput(q="phuong trinh", sort="title")):
                page = search_service.search(person, query)
                state.append((page.total, [hit.material.uid for hit in page.hits], page.facets))
        return state


# --- the round trip ------------------------------------------------------------------------------

@pytest.mark.parametrize("target_kind", TARGETS)
def test_a_restored_deployment_has_every_row_object_and_search_result_of_the_original(
        app: Any, populated: dict[str, Any], tmp_path: Path, target_kind: str,
        fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    directory = _backup(app, tmp_path / "backup", "--with-objects")
    target = apps(fresh_database(target_kind))

    output = _restore(target, directory).output

    assert "Đã dựng lại chỉ mục tìm kiếm" in output
    source_rows = _rows(db.engine)
    with target.app_context():
        target_rows = _without_restore_event(_rows(db.engine))
    assert source_rows.keys() == target_rows.keys()
    assert {"materials", "material_files", "review_states", "contribution_facts"} <= source_rows.keys()
    for table in source_rows:
        assert target_rows[table] == source_rows[table], f"table {table} differs after the restore"
    assert any(row["replaces_id"] for row in target_rows["material_files"])
    assert any(row["successor_id"] and row["successor_id"] > row["id"] for row in target_rows["schools"])

    objects = _objects(target)
    assert objects == _objects(app)
    with target.app_context():
        for row in db.session.scalars(sa.select(MaterialFile)):
            assert hashlib.sha256(objects[row.object_key]).hexdigest() == row.sha256
            assert row.thumbnail_key in objects  # processing made one for every PDF
    assert _search_state(target) == _search_state(app)
    checked = _check(target)
    assert checked.exit_code == 0, checked.output
    assert "Không có điểm không nhất quán" in checked.output


def test_the_restored_deployment_keeps_working(app: Any, populated: dict[str, Any], tmp_path: Path,
                                                fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    """New rows get fresh ids (PostgreSQL's sequences moved past the restored ones) and are found."""
    directory = _backup(app, tmp_path / "backup", "--with-objects")
    target = apps(fresh_database(db.engine.dialect.name), PROCESSING="inline")
    _restore(target, directory)
    with target.app_context():
        teacher = db.session.scalar(sa.select(User).where(User.email == "giaovien@thcs1.ninhbinh.edu.vn"))
        highest = db.session.scalar(sa.select(sa.func.max(Material.id)))
        material = make_material(teacher, _folder(tmp_path / "after"), title="Bất phương trình sau khôi phục")
        assert material.id == highest + 1
        assert material.files[0].id > max(r.id for r in db.session.scalars(sa.select(MaterialFile))
                                           if r.material_id != material.id)
        found = search_service.search(teacher, search_service.SearchInput(q="bat phuong trinh sau khoi phuc"))
        assert [hit.material.id for hit in found.hits] == [material.id]


def test_report_figures_survive_a_restore(app: Any, populated: dict[str, Any], tmp_path: Path,
                                          fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    """The contribution facts come back as they were and agree with the restored audit trail, and
    every report figure (per school, per unit, the province) of this month and of the school year
    is the same on the restored deployment."""
    from repository.permissions import SystemActor
    from repository.reports import facts
    from repository.services import reports

    def figures() -> list[dict[str, Any]]:
        return [reports.contributions(SystemActor(), None, period).as_json() for period in (None, "schoolyear:" + (
            reports.resolve(None, None).rules.school_year))]

    directory = _backup(app, tmp_path / "backup")
    source_facts = _rows(db.engine)["contribution_facts"]
    assert source_facts, "the populated deployment has approved materials, so it has facts"
    source_figures = figures()
    assert source_figures[0]["total"]["approved_materials"] > 0
    target = apps(fresh_database(db.engine.dialect.name), STORAGE_DIR=app.config["STORAGE_DIR"])
    _restore(target, directory)
    with target.app_context():
        assert _rows(db.engine)["contribution_facts"] == source_facts
        assert facts.stale(db.session) == []
        assert figures() == source_figures


# --- consistency while the application writes ---------------------------------------------------

def test_the_backup_is_one_snapshot_while_the_application_writes(
        app: Any, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    """A material created and committed while the backup reads its first table is in none of its
    tables: not the material, not its file, not its audit row. So the restored rows fit together."""
    from repository.backup import tables

    make_material(world["teacher"], tmp_path, title="Trước khi sao lưu")
    before = {name: len(rows) for name, rows in _rows(db.engine).items()}
    original_rows = tables._rows
    written: list[int] = []

    def rows_then_write(conn: Any, table: sa.Table) -> Iterator[dict[str, Any]]:
        if not written:  # the snapshot is open: commit a whole material through the app meanwhile
            written.append(make_material(world["teacher"], tmp_path, title="Trong lúc sao lưu").id)
        return original_rows(conn, table)

    monkeypatch.setattr(tables, "_rows", rows_then_write)
    directory = _backup(app, tmp_path / "backup", "--with-objects")
    monkeypatch.undo()

    manifest = json.loads((directory / "manifest.json").read_text())
    assert written and {t["name"]: t["rows"] for t in manifest["tables"]} == before
    assert _rows(db.engine)["materials"][-1]["id"] == written[0]  # it was committed, after all
    target = apps(fresh_database(db.engine.dialect.name))
    _restore(target, directory)
    assert _check(target).exit_code == 0


def test_the_snapshot_connection_does_not_see_later_commits(app: Any, world: dict[str, Any]) -> None:
    with snapshot.consistent_connection(db.engine, Path(app.instance_path)) as conn:
        seen = conn.execute(sa.select(sa.func.count()).select_from(School.__table__)).scalar()
        schools.save_school(SystemActor(), None, schools.SchoolInput("THCS09", "Trường THCS Mới", "THCS", "14464"))
        again = conn.execute(sa.select(sa.func.count()).select_from(School.__table__)).scalar()
    assert seen == again == db.session.scalar(sa.select(sa.func.count(School.id))) - 1


# --- refusals ----------------------------------------------------------------------------------

@pytest.fixture
def small_backup(app: Any, world: dict[str, Any], tmp_path: Path) -> Path:
    make_material(world["teacher"], _folder(tmp_path / "uploads"), title="Đề kiểm tra")
    return _backup(app, tmp_path / "backup", "--with-objects")


def test_restore_refuses_a_database_that_has_rows(app: Any, small_backup: Path) -> None:
    before = _rows(db.engine)
    result = _invoke(app, restore_command, small_backup)
    assert result.exit_code == 1
    assert "không trống" in result.output
    assert _rows(db.engine) == before


def test_restore_refuses_an_incomplete_or_damaged_backup(small_backup: Path, fresh_database: Callable[[str], str],
                                                         apps: Callable[..., Any]) -> None:
    target = apps(fresh_database("sqlite"))
    table_file = next((small_backup / "tables").glob("*_materials.jsonl.gz"))
    good = table_file.read_bytes()
    table_file.write_bytes(gzip.compress(gzip.decompress(good).replace("Đề kiểm tra".encode(), "Đề bị sửa".encode())))
    damaged = _invoke(target, restore_command, small_backup)
    assert damaged.exit_code == 1 and "bị hỏng" in damaged.output and table_file.name in damaged.output
    table_file.write_bytes(good)
    (small_backup / "manifest.json").unlink()
    incomplete = _invoke(target, restore_command, small_backup)
    assert incomplete.exit_code == 1 and "không phải một bản sao lưu hoàn chỉnh" in incomplete.output
    with target.app_context(), db.engine.connect() as conn:
        assert snapshot.revision(conn) is None  # nothing was touched


def test_restore_refuses_a_damaged_object_before_touching_the_database(
        small_backup: Path, fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    copied = next(p for p in (small_backup / "objects").rglob("*") if p.is_file())
    data = bytearray(copied.read_bytes())
    data[-1] ^= 0xFF
    copied.write_bytes(bytes(data))
    target = apps(fresh_database("sqlite"))
    result = _invoke(target, restore_command, small_backup)
    assert result.exit_code == 1
    assert "khác SHA-256" in result.output and copied.relative_to(small_backup / "objects").as_posix() in result.output
    with target.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Material.id))) == 0


def test_an_object_missing_at_backup_time_is_named_and_the_rest_still_restores(
        app: Any, world: dict[str, Any], tmp_path: Path, fresh_database: Callable[[str], str],
        apps: Callable[..., Any]) -> None:
    kept = make_material(world["teacher"], _folder(tmp_path / "uploads"), title="Còn tệp").files[0]
    lost = make_material(world["teacher"], _folder(tmp_path / "uploads"), title="Mất tệp").files[0]
    object_store().delete(lost.object_key)
    result = _invoke(app, backup_command, tmp_path / "backup", "--with-objects")
    assert result.exit_code == 1  # written, but a scheduled backup must not look fine
    assert f"thiếu trong kho lưu trữ: {lost.object_key}" in result.output
    assert (tmp_path / "backup" / "manifest.json").is_file()

    target = apps(fresh_database("sqlite"))
    output = _restore(target, tmp_path / "backup").output
    assert "1 đối tượng đã thiếu ngay khi sao lưu" in output
    checked = _check(target)
    assert checked.exit_code == 1 and f"missing: {lost.object_key}" in checked.output
    assert kept.object_key not in checked.output


def test_an_index_that_cannot_be_built_leaves_the_rows_restored_and_says_to_reindex(
        small_backup: Path, tmp_path: Path, fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")
    target = apps(fresh_database("sqlite"), SEARCH_INDEX_DIR=str(blocker / "index"))
    result = _invoke(target, restore_command, small_backup)
    assert result.exit_code == 1
    assert "chưa dựng được chỉ mục" in result.output and "search reindex" in result.output
    with target.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Material.id))) == 1


def test_backup_refuses_a_directory_that_has_files(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    directory = tmp_path / "used"
    directory.mkdir()
    (directory / "keep.txt").write_text("không được ghi đè")
    result = _invoke(app, backup_command, directory)
    assert result.exit_code == 1 and "đã có dữ liệu" in result.output
    assert [p.name for p in directory.iterdir()] == ["keep.txt"]


def test_only_the_command_line_operator_may_back_up_or_restore(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        backup_service.create_backup(world["dept_admin"], tmp_path / "b")
    with pytest.raises(PermissionDenied):
        backup_service.restore_backup(world["dept_admin"], tmp_path)
    assert not (tmp_path / "b").exists()


# --- schema revisions (SQLite: the logic does not depend on the database) -----------------------

OLD_REVISION = "0006_material_uid"


def _old_deployment(url: str, apps: Callable[..., Any]) -> Any:
    """A deployment still at an older migration, with one administrative unit."""
    old = apps(url)
    with old.app_context():
        upgrade(revision=OLD_REVISION)
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO admin_units (id, code, name, kind, active, created_at) "
                                 "VALUES (7, 'SO_GDDT', 'Sở GDĐT', 'department', true, '2025-09-01 08:00:00')"))
    return old


def test_an_older_backup_is_restored_at_its_revision_then_migrated(
        tmp_path: Path, fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    old = _old_deployment(fresh_database("sqlite"), apps)
    directory = _backup(old, tmp_path / "backup")
    assert json.loads((directory / "manifest.json").read_text())["revision"] == OLD_REVISION
    target = apps(fresh_database("sqlite"))
    output = _restore(target, directory).output
    with target.app_context(), db.engine.connect() as conn:
        config = target.extensions["migrate"].migrate.get_config()
        assert snapshot.revision(conn) == ScriptDirectory.from_config(config).get_current_head() != OLD_REVISION
        assert db.session.execute(sa.text("SELECT id, code FROM admin_units")).all() == [(7, "SO_GDDT")]
    assert "Đã nâng lược đồ lên" in output


def test_restore_refuses_a_schema_newer_than_the_backup(
        tmp_path: Path, fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    directory = _backup(_old_deployment(fresh_database("sqlite"), apps), tmp_path / "backup")
    target = apps(fresh_database("sqlite"))
    with target.app_context():
        upgrade()  # an empty deployment of the current version
    result = _invoke(target, restore_command, directory)
    assert result.exit_code == 1 and "mới hơn bản sao lưu" in result.output


# --- a backup without the objects: the store must already hold them ----------------------------

def test_a_backup_without_objects_restores_onto_the_same_store_and_verify_reads_every_object(
        app: Any, populated: dict[str, Any], tmp_path: Path, fresh_database: Callable[[str], str],
        apps: Callable[..., Any]) -> None:
    directory = _backup(app, tmp_path / "backup")
    assert not (directory / "objects").exists()
    listed = [json.loads(line) for line in gzip.open(directory / "objects.jsonl.gz")]
    assert {e["kind"] for e in listed} == {"original", "thumbnail"}
    assert all(e["size"] and len(e["sha256"]) == 64 for e in listed)
    store_dir = app.config["STORAGE_DIR"]

    altered = next(e for e in listed if e["kind"] == "original")
    path = object_store().local_path(altered["key"])
    good = path.read_bytes()
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))  # same size: only reading tells
    refused = _invoke(apps(fresh_database("sqlite"), STORAGE_DIR=store_dir), restore_command, directory,
                      "--verify-objects")
    assert refused.exit_code == 1 and f"khác SHA-256 {altered['key']}" in refused.output
    path.write_bytes(good)

    target = apps(fresh_database(db.engine.dialect.name), STORAGE_DIR=store_dir)
    _restore(target, directory, "--verify-objects")
    assert _check(target).exit_code == 0


def test_a_backup_without_objects_is_refused_where_an_object_is_missing(
        app: Any, populated: dict[str, Any], tmp_path: Path, fresh_database: Callable[[str], str],
        apps: Callable[..., Any]) -> None:
    directory = _backup(app, tmp_path / "backup")
    empty_store = apps(fresh_database("sqlite"))
    result = _invoke(empty_store, restore_command, directory)
    assert result.exit_code == 1 and "thiếu materials/" in result.output


def test_on_s3_the_manifest_is_verified_against_the_bucket(
        app: Any, world: dict[str, Any], tmp_path: Path, s3_endpoint: str, app_with: Callable[..., Any],
        fresh_database: Callable[[str], str], apps: Callable[..., Any]) -> None:
    bucket = f"kho-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    s3 = {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": bucket}
    source = app_with(**s3)
    with source.app_context():
        teacher = db.session.scalar(sa.select(User).where(User.email == "giaovien@thcs1.ninhbinh.edu.vn"))
        make_material(teacher, _folder(tmp_path / "uploads"), title="Bài giảng trên S3")
        processing.process_pending()
    directory = _backup(source, tmp_path / "backup")
    target = apps(fresh_database(db.engine.dialect.name), **s3)
    output = _restore(target, directory, "--verify-objects").output
    assert "2 đã kiểm tra, 0 đã chép" in output  # the upload and its thumbnail, read from the bucket
    assert _check(target).exit_code == 0
