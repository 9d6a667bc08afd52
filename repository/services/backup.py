"""Backup and restore of a whole deployment (`flask --app app backup DIR` / `restore DIR`).

Rules:
- A backup is one consistent snapshot of every table (repository/backup/snapshot.py) plus the
  list of every object the file rows point to, with size and SHA-256; `with_objects` also copies
  the objects. It writes nothing to the database, so it can run against a read-only replica. The
  directory must be new or empty; manifest.json is written last, so a backup cut short has none.
- A restore goes onto an empty deployment only: it refuses a database with any row. It brings
  an empty schema to the backup's revision first (refusing a schema newer than the backup), loads
  every table in one transaction, checks every row count, resets PostgreSQL's sequences, then
  migrates to this code's head if the backup is older, and rebuilds the search index.
- Objects are checked before the database is touched: copied back from the backup (each checked
  against its SHA-256; an object already in the store is never overwritten), or, for a backup
  without copies, required to be in the store already (size; with `verify_objects` SHA-256).
- Only the command-line operator may do either: a backup holds every account's password hash.
"""
from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from repository.backup import files, objects, schema, snapshot, tables
from repository.config import PROJECT_DIR
from repository.errors import Conflict, DomainError, ValidationError
from repository.extensions import db, object_store
from repository.models import utcnow
from repository.permissions import require
from repository.services import audit, guarded, search_index
from repository.services.materials import StoreUnavailable
from storage import StorageError

SHOWN = 20  # object problems named in a message; the rest are counted
MANIFEST_KEYS = ("revision", "database", "created_at", "tables", "objects")


@dataclass
class BackupReport:
    directory: Path
    revision: str
    tables: list[tuple[str, int]] = field(default_factory=list)
    objects: objects.ObjectReport = field(default_factory=objects.ObjectReport)

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.tables)


@dataclass
class RestoreReport:
    revision: str
    tables: list[tuple[str, int]] = field(default_factory=list)
    objects: objects.ObjectReport = field(default_factory=objects.ObjectReport)
    missing_at_backup: int = 0  # objects already missing when the backup was taken
    upgraded_to: str | None = None
    index: str = ""
    index_error: str = ""  # the rows are restored; only `search reindex` remains to be run

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.tables)


# --- backup ----------------------------------------------------------------------------------

@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """An unreachable or refusing object store is a refusal with the store's own (safe) message."""
    try:
        yield
    except StorageError as error:
        raise StoreUnavailable(_l("Kho lưu trữ tệp: %(reason)s", reason=str(error))) from error


def _new_directory(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ValidationError(_l("Thư mục %(dir)s đã có dữ liệu; hãy chọn một thư mục mới hoặc trống.",
                                 dir=str(directory)))
    directory.mkdir(parents=True, exist_ok=True)


def _code_version() -> str | None:
    """The git commit of the running code, when it runs from a checkout (for the manifest only)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True,
                              timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _dump(directory: Path) -> tuple[str, list[dict[str, Any]]]:
    """Write every table from one snapshot; return the snapshot's revision and table entries."""
    with snapshot.consistent_connection(db.engine, directory) as conn:
        revision = snapshot.revision(conn)
        if revision is None:
            raise ValidationError(_l("Cơ sở dữ liệu chưa có lược đồ (chưa chạy `flask db upgrade`)."))
        return revision, tables.dump(conn, snapshot.data_tables(conn), directory)


@guarded("backup.create")
def create_backup(actor: Any, directory: Path, *, with_objects: bool = False) -> BackupReport:
    """Write a consistent backup of the database and the object list (and objects) to `directory`."""
    require(actor, "backup.create")
    _new_directory(directory)
    started = utcnow()
    revision, entries = _dump(directory)
    files_table = next(e for e in entries if e["name"] == "material_files")
    with _store_errors():
        object_report, objects_entry = objects.back_up(object_store(), directory, files_table, with_objects)
    files.write_manifest(directory, {
        "format": files.FORMAT, "created_at": started.isoformat(), "database": db.engine.dialect.name,
        "revision": revision, "code_head": schema.head(), "code_version": _code_version(),
        "tables": entries, "objects": objects_entry,
    })
    return BackupReport(directory, revision, [(e["name"], e["rows"]) for e in entries], object_report)


# --- restore: checking the backup ------------------------------------------------------------

def _inside(directory: Path, name: Any) -> Path:
    path = (directory / str(name)).resolve()
    if not path.is_relative_to(directory.resolve()):
        raise ValidationError(_l("Bản sao lưu không hợp lệ: đường dẫn %(name)s nằm ngoài thư mục.", name=str(name)))
    return path


def _check_file(directory: Path, name: Any, digest: Any) -> None:
    path = _inside(directory, name)
    if not path.is_file():
        raise ValidationError(_l("Bản sao lưu thiếu tệp %(name)s.", name=str(name)))
    if files.sha256_of(path) != digest:
        raise ValidationError(_l("Tệp %(name)s của bản sao lưu bị hỏng (SHA-256 không khớp).", name=str(name)))


def _manifest(directory: Path) -> dict[str, Any]:
    """The backup's manifest, once every file it lists is present and intact."""
    try:
        manifest = files.read_manifest(directory) if directory.is_dir() else None
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict):
        raise ValidationError(_l("%(dir)s không phải một bản sao lưu hoàn chỉnh (không đọc được manifest.json).",
                                 dir=str(directory)))
    if manifest.get("format") != files.FORMAT:
        raise ValidationError(_l("Bản sao lưu có định dạng %(found)s; phiên bản này đọc định dạng %(known)s.",
                                 found=manifest.get("format"), known=files.FORMAT))
    try:
        absent = [key for key in MANIFEST_KEYS if key not in manifest]
        if absent:
            raise KeyError(absent[0])
        for entry in manifest["tables"] + [manifest["objects"]]:
            _check_file(directory, entry["file"], entry["sha256"])
    except (KeyError, TypeError) as error:
        raise ValidationError(_l("Bản sao lưu không hợp lệ: manifest.json thiếu mục %(item)s.", item=str(error)))
    return manifest


# --- restore: preparing the target -----------------------------------------------------------

def _first_nonempty(conn: sa.Connection) -> str | None:
    for table in snapshot.data_tables(conn):
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
            return table.name
    return None


def _prepare_schema(revision: str) -> None:
    """Refuse a non-empty database; bring an empty one to the backup's revision."""
    if not schema.known(revision):
        raise ValidationError(_l("Bản sao lưu ở phiên bản lược đồ %(rev)s mà mã nguồn này không có "
                                 "(bản sao lưu của một phiên bản mới hơn?).", rev=revision))
    with db.engine.connect() as conn:
        current, occupied = snapshot.revision(conn), _first_nonempty(conn)
        unversioned = current is None and bool(snapshot.data_tables(conn))
    if unversioned:
        raise Conflict(_l("Cơ sở dữ liệu đích có bảng nhưng không có phiên bản lược đồ (alembic_version); hãy "
                          "khôi phục vào một cơ sở dữ liệu chưa có bảng nào."))
    if occupied:
        raise Conflict(_l("Cơ sở dữ liệu đích không trống (bảng %(table)s có dữ liệu); chỉ khôi phục vào một "
                          "hệ thống mới, chưa có dữ liệu.", table=occupied))
    if current == revision:
        return
    if not schema.is_ancestor(current, revision):
        raise Conflict(_l("Lược đồ của cơ sở dữ liệu đích (%(current)s) mới hơn bản sao lưu (%(rev)s); hãy "
                          "khôi phục vào một cơ sở dữ liệu chưa có bảng nào.", current=current, rev=revision))
    schema.upgrade(revision)


def _target_tables(conn: sa.Connection, manifest: dict[str, Any]) -> dict[str, sa.Table]:
    """The target's tables, once they match the backup's tables and columns exactly."""
    found = {t.name: t for t in snapshot.data_tables(conn)}
    listed = {e["name"]: e for e in manifest["tables"]}
    differing = sorted(set(found) ^ set(listed)) or sorted(
        name for name in listed if set(listed[name]["columns"]) != {c.name for c in found[name].columns})
    if differing:
        raise ValidationError(_l("Bảng của bản sao lưu khác lược đồ đích: %(tables)s.", tables=", ".join(differing)))
    return found


def _object_problems(report: objects.ObjectReport) -> None:
    if not report.problems:
        return
    keys = ([str(_l("thiếu %(key)s", key=k)) for k in report.missing[:SHOWN]]
            + [str(_l("khác SHA-256 %(key)s", key=k)) for k in report.mismatched[:SHOWN]])[:SHOWN]
    more = report.problems - len(keys)
    raise Conflict(_l("%(count)d đối tượng lưu trữ không khớp bản sao lưu: %(keys)s%(more)s. Khôi phục từ "
                      "một bản sao lưu có --with-objects, hoặc chép kho lưu trữ trước.",
                      count=report.problems, keys="; ".join(keys),
                      more=str(_l(" (và %(more)d nữa)", more=more)) if more > 0 else ""))


def _objects(directory: Path, manifest: dict[str, Any], verify: bool) -> objects.ObjectReport:
    store = object_store()
    try:
        with _store_errors():
            if manifest["objects"].get("with_objects"):
                report = objects.restore(store, directory)
            else:
                report = objects.check_store(store, directory, verify)
    except (ValueError, KeyError, TypeError) as error:  # a key that is not a valid key, a field missing
        raise ValidationError(_l("Danh sách đối tượng của bản sao lưu không hợp lệ: %(error)s", error=str(error)))
    _object_problems(report)
    return report


# --- restore: loading --------------------------------------------------------------------------

@contextlib.contextmanager
def _loading(table: str) -> Iterator[None]:
    """A row the target refuses, or a file that does not decode, names its table."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        detail = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise ValidationError(_l("Không ghi được bảng %(table)s vào cơ sở dữ liệu đích: %(error)s",
                                 table=table, error=detail))
    except (ValueError, KeyError, TypeError, OSError) as error:
        raise ValidationError(_l("Bản sao lưu không hợp lệ ở bảng %(table)s: %(error)s", table=table, error=str(error)))


def _load(directory: Path, manifest: dict[str, Any]) -> list[tuple[str, int]]:
    """Insert every table in one transaction; any failure or wrong count rolls all of it back."""
    loaded = []
    with db.engine.begin() as conn:
        found = _target_tables(conn, manifest)
        ordered = snapshot.ordered(found.values())
        for entry in manifest["tables"]:
            with _loading(entry["name"]):
                tables.load(conn, found[entry["name"]], entry, directory, ordered)
        tables.reset_sequences(conn, ordered)
        for entry in manifest["tables"]:
            got = tables.count(conn, found[entry["name"]])
            if got != entry["rows"]:
                raise ValidationError(_l("Bảng %(table)s: %(got)d dòng sau khi khôi phục, bản sao lưu có %(rows)d.",
                                         table=entry["name"], got=got, rows=entry["rows"]))
            loaded.append((entry["name"], got))
    return loaded


def _missing_at_backup(directory: Path) -> int:
    return sum(1 for entry in files.read_lines(directory / files.OBJECTS_LIST) if entry.get("missing"))


@guarded("backup.restore")
def restore_backup(actor: Any, directory: Path, *, verify_objects: bool = False) -> RestoreReport:
    """Restore the backup in `directory` onto this (empty) deployment and rebuild its index."""
    require(actor, "backup.restore")
    manifest = _manifest(directory)
    revision = manifest["revision"]
    _prepare_schema(revision)
    with db.engine.connect() as conn:
        _target_tables(conn, manifest)  # before any object is copied
    report = RestoreReport(revision, objects=_objects(directory, manifest, verify_objects),
                           missing_at_backup=_missing_at_backup(directory))
    report.tables = _load(directory, manifest)
    head = schema.head()
    if head and head != revision:
        schema.upgrade(head)  # the data follows this code's migrations, as after `db upgrade`
        report.upgraded_to = head
    audit.record(actor, "backup.restored", source=manifest["database"], created_at=manifest["created_at"],
                 revision=revision, rows=report.rows, objects=report.objects.objects)
    db.session.commit()
    try:
        report.index = search_index.rebuild(actor)
    except (DomainError, OSError) as error:  # a full disk: restoring again would be refused, reindexing works
        report.index_error = str(error)
    return report
