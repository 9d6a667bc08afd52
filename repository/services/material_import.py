"""Bulk import of materials, one material with one file per line: from JSON Lines, or from the
catalogue's CSV export (or that table saved from Excel as .xlsx) in the same columns.

Rules: every line is validated exactly like the upload form (metadata and file checks), by the
same code for both formats; a line's file path is relative to the imported file's folder and may
not leave it; `created_at` without an offset is Asia/Ho_Chi_Minh time; a material imported
approved or published counts as approved then. The import is an administrator's operation and
each material is audited as imported.
- JSON Lines: refused lines are reported by number and reason and the good ones are imported in
  batches (a 100,000-line file need not be perfect to be useful).
- CSV/XLSX: like every CSV import here, all rows or none: every row is checked first and, if any
  is refused, nothing is written and every refused row is reported by its line (the header is
  line 1). List cells (`grades`) are written as the export writes them, items separated by '|'.

A line may carry the material's stable `uid` (as the catalogue export writes it): a uid this
deployment already holds is skipped and reported, not imported again (and not a refusal), so
re-importing an export is a no-op; a new uid is kept on the imported material. The export's
`identifier` (the source deployment's OAI identifier) is accepted and ignored.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from repository import csvfiles, spreadsheets
from repository.errors import DomainError, ImportRejected, ValidationError
from repository.extensions import db
from repository.models import Material, MaterialStatus, User
from repository.permissions import require
from repository.services import audit, guarded, materials, schools

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
REQUIRED = ("title", "subject", "grades", "school", "owner", "file")
OPTIONAL = ("description", "type", "series", "licence", "topic", "language", "status", "created_at", "uid",
            "identifier")
KNOWN = set(REQUIRED) | set(OPTIONAL)
TABLE_SUFFIXES = (".csv", ".xlsx")
APPROVED = {MaterialStatus.SCHOOL_APPROVED.value, MaterialStatus.PUBLISHED.value}
BATCH = 200


@dataclass
class BulkResult:
    imported: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)
    # Lines whose uid this deployment already holds: not imported again, and not an error.
    skipped: list[tuple[int, str]] = field(default_factory=list)
    file_ids: list[int] = field(default_factory=list)


def _bad(message: Any) -> ValidationError:
    return ValidationError(message)


def _created_at(value: Any) -> Optional[datetime]:
    """ISO 8601; naive means Vietnam time. Stored as naive UTC like every timestamp."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise _bad(_l("created_at không đúng ISO 8601: %(value)s", value=value)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_ZONE)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


class AlreadyPresent(Exception):
    """The line's uid names a material this deployment already holds."""


def _uid(value: Any) -> Optional[str]:
    """The canonical lower-case form of a UUID given as text; None when the line carries none."""
    if value in (None, ""):
        return None
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):  # not text, or text that is no UUID
        raise _bad(_l("uid phải là một UUID (ví dụ 123e4567-e89b-12d3-a456-426614174000): %(value)s",
                      value=value)) from None


def _check_uid(record: dict[str, Any], seen: dict[str, int]) -> Optional[str]:
    """Refuse a malformed uid or one repeated in the file; skip one this deployment already holds."""
    uid = _uid(record.get("uid"))
    if uid is None:
        return None
    if uid in seen:
        raise _bad(_l("uid %(value)s đã có ở dòng %(line)s của tệp.", value=uid, line=seen[uid]))
    existing = db.session.scalar(select(Material.title).where(Material.uid == uid))
    if existing is not None:
        raise AlreadyPresent(str(_l("Đã có học liệu uid %(value)s (“%(title)s”); bỏ qua, không nhập lại.",
                                    value=uid, title=existing)))
    return uid


def _file_path(base: Path, value: Any) -> Path:
    if value in (None, ""):  # e.g. the export of a material that has no current file
        raise _bad(_l("Chưa có đường dẫn tệp (file)."))
    relative = Path(str(value))
    target = (base / relative).resolve()
    if relative.is_absolute() or not target.is_relative_to(base.resolve()):
        raise _bad(_l("Đường dẫn tệp phải nằm trong thư mục của tệp nhập: %(value)s", value=value))
    if not target.is_file():
        raise _bad(_l("Không tìm thấy tệp: %(value)s", value=value))
    return target


def _owner(email: Any, school_id: int) -> User:
    owner = db.session.scalar(select(User).where(User.email == str(email or "").strip().lower()))
    if owner is None:
        raise _bad(_l("Không tìm thấy người dùng %(value)s", value=email))
    if owner.school_id != school_id:
        raise _bad(_l("Người dùng %(value)s không thuộc trường của học liệu.", value=email))
    return owner


def _json_record(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise _bad(_l("Dòng không phải JSON hợp lệ: %(reason)s", reason=error.msg)) from None
    if not isinstance(record, dict):
        raise _bad(_l("Mỗi dòng phải là một đối tượng JSON."))
    return record


def _table_record(row: dict[str, str]) -> dict[str, Any]:
    """A table row as the record a JSON line would be: an empty optional cell is an absent key, and
    `grades` is a list ('8|9', as the export writes it)."""
    if "__error__" in row:
        raise _bad(row["__error__"])
    record: dict[str, Any] = {key: value for key, value in row.items() if value != "" or key in REQUIRED}
    record["grades"] = csvfiles.split_list(row.get("grades", ""))
    return record


def _parse(record: dict[str, Any], base: Path,
           seen: dict[str, int]) -> tuple[dict[str, Any], materials.CleanMaterial, materials.Upload, User]:
    """The shared validation of one line, whatever file it came from."""
    missing = [k for k in REQUIRED if k not in record]
    unknown = sorted(set(record) - KNOWN)
    if missing or unknown:
        raise _bad(_l("Thiếu khóa: %(missing)s. Khóa không dùng được: %(unknown)s.",
                      missing=", ".join(missing) or "-", unknown=", ".join(unknown) or "-"))
    # Before the metadata and file checks: a material already here is skipped whatever the line says.
    record["uid"] = _check_uid(record, seen)
    if not isinstance(record["grades"], list):
        raise _bad(_l("grades phải là một danh sách."))
    status = record.get("status") or MaterialStatus.DRAFT.value
    if status not in {s.value for s in MaterialStatus}:
        raise _bad(_l("Trạng thái không hợp lệ: %(value)s", value=status))
    school = schools.school_by_code(str(record["school"]))
    if school is None:
        raise _bad(_l("Không tìm thấy trường có mã %(value)s", value=record["school"]))
    clean = materials.validate_material_input(materials.MaterialInput(
        title=record["title"], subject=str(record["subject"]), grades=[str(g) for g in record["grades"]],
        material_type=record.get("type") or "KHAC", licence=record.get("licence") or "CC_BY_4",
        description=record.get("description") or "", topic=record.get("topic") or "",
        series=record.get("series") or "", language=record.get("language") or "vi"))
    upload = materials.Upload(_file_path(base, record["file"]), Path(str(record["file"])).name)
    record.update(status=status, school_id=school.id, created=_created_at(record.get("created_at")))
    return record, clean, upload, _owner(record["owner"], school.id)


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8-sig") as source:
        for number, line in enumerate(source, start=1):
            if line.strip():
                yield number, line


def _table_rows(table: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a normalised table; a header that is not the catalogue's refuses the whole file."""
    return csvfiles.read_rows(table, REQUIRED, OPTIONAL)


@dataclass
class _Line:
    number: int
    record: dict[str, Any]
    clean: materials.CleanMaterial
    upload: materials.Upload
    owner: User
    checked: Any


def _material(actor: Any, line: _Line, stored: materials.StoredObject) -> Material:
    clean, record = line.clean, line.record
    material = Material(title=clean.title, description=clean.description, subject=clean.subject, grades=clean.grades,
                        topic=clean.topic, series=clean.series, material_type=clean.material_type,
                        licence=clean.licence, language=clean.language, school_id=record["school_id"],
                        owner_id=line.owner.id, status=record["status"])
    if record["uid"] is not None:
        material.uid = record["uid"]
    if record["created"] is not None:
        material.created_at = record["created"]
    if record["status"] in APPROVED:
        material.approved_at = material.created_at
    material.files = [materials.file_row(line.upload, line.checked, stored, actor)]
    return material


def _import_batch(actor: Any, batch: list[_Line], result: BulkResult) -> None:
    """Store the batch's files, then write its rows in one transaction; a failure refuses the batch."""
    try:
        stored = materials.store_all([line.upload for line in batch], [line.checked for line in batch])
    except DomainError as error:
        result.refused.extend((line.number, str(error)) for line in batch)
        return
    made = []
    try:
        with materials.rows_or_no_objects([obj.key for obj in stored]):
            for line, obj in zip(batch, stored):
                material = _material(actor, line, obj)
                db.session.add(material)
                made.append(material)
            db.session.flush()
            for material, line in zip(made, batch):
                audit.record(actor, "material.imported", material, status=line.record["status"], owner=line.owner.id,
                             uid=material.uid)
    except SQLAlchemyError as error:
        result.refused.extend((line.number, f"database: {error.__class__.__name__}") for line in batch)
        return
    result.imported += len(made)
    result.file_ids.extend(f.id for material in made for f in material.files)
    for material in made:  # keep the identity map small over 100,000 lines
        for stored_file in material.files:
            db.session.expunge(stored_file)
        db.session.expunge(material)


def _checked_lines(lines: Iterable[tuple[int, Any]], to_record: Callable[[Any], dict[str, Any]], base: Path,
                   result: BulkResult) -> Iterator[_Line]:
    """Every line that passes the checks; the others are added to `result` as refused or skipped."""
    seen: dict[str, int] = {}  # uid -> line accepted with it, so a uid repeated in the file is refused
    for number, raw in lines:
        try:
            record, clean, upload, owner = _parse(to_record(raw), base, seen)
            checked = materials.check_uploads([upload])[0]
        except AlreadyPresent as skipped:
            result.skipped.append((number, str(skipped)))
            continue
        except DomainError as error:
            result.refused.append((number, str(error)))
            continue
        if record["uid"] is not None:
            seen[record["uid"]] = number
        yield _Line(number, record, clean, upload, owner, checked)


def _import_lines(actor: Any, lines: Iterator[_Line], result: BulkResult) -> BulkResult:
    batch: list[_Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= BATCH:
            _import_batch(actor, batch, result)
            batch = []
    if batch:
        _import_batch(actor, batch, result)
    result.refused.sort()
    return result


@guarded("material.import")
def import_jsonl(actor: Any, path: Path) -> BulkResult:
    """Import every good line of `path`; refused lines are listed with their number and reason, lines
    whose uid is already here are listed as skipped."""
    require(actor, "material.import")
    result = BulkResult()
    return _import_lines(actor, _checked_lines(_jsonl_lines(path), _json_record, path.parent, result), result)


@guarded("material.import")
def import_table(actor: Any, path: Path) -> BulkResult:
    """Import the rows of a catalogue CSV (or XLSX) export: all or none. Every row is checked first;
    any refused row raises ImportRejected listing each one, and nothing is written. Rows whose uid is
    already here are skipped, as in JSON Lines. Only what changes between the check and the write (a
    file removed meanwhile, the object store failing) can still refuse a batch, as in JSON Lines."""
    require(actor, "material.import")
    table = spreadsheets.normalised_csv(path.read_bytes(), path.name)  # Excel's protecting apostrophes removed
    trial = BulkResult()
    for _line in _checked_lines(_table_rows(table), _table_record, path.parent, trial):
        pass  # checking only: the rows are read again to be written, so checked lines never pile up
    if trial.refused:
        raise ImportRejected(_l("Không nhập học liệu nào: %(n)d dòng có lỗi.", n=len(trial.refused)),
                             sorted(trial.refused))
    result = BulkResult()
    return _import_lines(actor, _checked_lines(_table_rows(table), _table_record, path.parent, result), result)


@guarded("material.import")
def import_catalogue(actor: Any, path: Path) -> BulkResult:
    """The bulk import of `path` in its format: a .csv or .xlsx table, otherwise JSON Lines."""
    require(actor, "material.import")
    if path.suffix.lower() in TABLE_SUFFIXES:
        return import_table(actor, path)
    return import_jsonl(actor, path)
