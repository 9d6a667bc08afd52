"""Materials: creation with files, editing, new file versions, deletion, viewing and downloading.

Rules: the author's school is recorded at creation and never changes; every file passes
repository.filecheck before it is stored; object keys are generated here, the original name is
metadata only; a failure of the object store leaves no row, and a failed database write removes
the objects it stored. A file whose SHA-256 already exists elsewhere is flagged as a duplicate.
"""
from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from repository import curriculum, filecheck
from repository.errors import DomainError, NotFound, ValidationError
from repository.extensions import db, object_store
from repository.fields import clean_text
from repository.models import (
    FileState,
    Material,
    MaterialFile,
    MaterialStatus,
    PendingUpload,
    Role,
    School,
    User,
)
from repository.permissions import require, schools_where
from repository.services import audit, guarded, processing, unguarded
from storage import StorageError, new_key
from search import changelog

# Language of a material's content (code -> its own name, as shown in the form).
LANGUAGES = {"vi": "Tiếng Việt", "en": "English", "fr": "Français", "ru": "Русский", "zh": "中文",
             "ja": "日本語", "ko": "한국어", "de": "Deutsch"}


class StoreUnavailable(DomainError):
    status = 503


@dataclass
class MaterialInput:
    """The metadata fields of the upload form, the API and the bulk import."""

    title: str
    subject: str
    grades: list[str]
    material_type: str = "KHAC"
    licence: str = "CC_BY_4"
    description: str = ""
    topic: str = ""
    series: str = ""
    language: str = "vi"


@dataclass
class Upload:
    """A received file: a local path (the spooled request body) and the name typed. The web
    request hashes the body while spooling it; other callers leave the digest to the service."""

    path: Path
    filename: str
    sha256: Optional[str] = None
    streaming: Any = None  # a StreamingUpload already sending the file's parts to the store


@dataclass
class StoredObject:
    key: str
    size: int
    sha256: str


@dataclass
class CleanMaterial:
    title: str
    subject: str
    grades: list[str]
    material_type: str
    licence: str
    description: str
    topic: Optional[str]
    series: Optional[str]
    language: str


def _invalid(name: str, message: Any) -> ValidationError:
    return ValidationError(message, field_errors={name: [message]})


@unguarded("pure validation of typed metadata against data/; callers check the policy")
def validate_material_input(data: MaterialInput) -> CleanMaterial:
    """Normalise and check the metadata; raises ValidationError naming the first bad field."""
    title = clean_text(data.title, "title", _l("Tiêu đề"), max_length=500) or ""
    description = (data.description or "").strip()
    if len(description) > 20_000:
        raise _invalid("description", _l("Mô tả dài quá 20.000 ký tự."))
    subject = curriculum.resolve_subject(data.subject or "")
    if subject is None and data.subject in curriculum.preschool_domains():
        subject = data.subject
    if subject is None:
        raise _invalid("subject", _l("Môn học không hợp lệ: %(value)s", value=data.subject))
    given = {str(g).strip() for g in data.grades or [] if str(g).strip()}
    bad = sorted(g for g in given if not curriculum.is_grade_code(g))
    if not given or bad:
        raise _invalid("grades", _l("Lớp/nhóm tuổi không hợp lệ: %(value)s", value=", ".join(bad) or "-"))
    order = [g.code for g in curriculum.grades()]
    grades = sorted(given, key=order.index)
    if data.material_type not in curriculum.material_types():
        raise _invalid("material_type", _l("Loại học liệu không hợp lệ: %(value)s", value=data.material_type))
    if data.licence not in {lic.code for lic in curriculum.licences()}:
        raise _invalid("licence", _l("Giấy phép không hợp lệ: %(value)s", value=data.licence))
    series = (data.series or "").strip() or None
    if series and series not in {s.code for s in curriculum.textbook_series()}:
        raise _invalid("series", _l("Bộ sách không hợp lệ: %(value)s", value=series))
    if data.language not in LANGUAGES:
        raise _invalid("language", _l("Ngôn ngữ không hợp lệ: %(value)s", value=data.language))
    topic = clean_text(data.topic, "topic", _l("Chủ đề/bài học"), required=False)
    return CleanMaterial(title, subject, grades, data.material_type, data.licence, description, topic, series,
                         data.language)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _mark_in_flight(keys: list[str]) -> None:
    """Commit the keys as uploads in flight before any byte is written, so that `check` knows
    an object without a row yet is not an orphan."""
    db.session.add_all([PendingUpload(object_key=key) for key in keys])
    db.session.commit()


def _put(key: str, upload: Upload, mime_type: str) -> StoredObject:
    """Store a spooled upload by path (S3 reads its parts in parallel, none buffered in memory)."""
    sha256 = upload.sha256 or _sha256_of(upload.path)
    started = time.perf_counter()
    try:
        if upload.streaming is not None:
            size = upload.streaming.complete(upload.path.stat().st_size)
        else:
            size = object_store().put_file(key, upload.path, content_type=mime_type)
    except StorageError as error:
        raise StoreUnavailable(_l("Không lưu được tệp: %(reason)s", reason=str(error))) from error
    seconds = time.perf_counter() - started
    current_app.logger.info("stored %s: %d bytes in %.2f s (%.1f MiB/s)", key, size, seconds,
                            size / 1048576 / max(seconds, 1e-6))
    return StoredObject(key, size, sha256)


def _remove_objects(keys: list[str]) -> None:
    """Best effort: what cannot be removed now is an orphan that `check --repair` removes later."""
    for key in keys:
        try:
            object_store().delete(key)
        except StorageError:
            current_app.logger.warning("could not remove object %s after a failed write", key)


@unguarded("building block of the upload services, which check the policy first")
def check_uploads(uploads: list[Upload]) -> list[filecheck.CheckedFile]:
    """Run every file check on every upload; the first refusal names its file."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    checked = []
    for upload in uploads:
        filecheck.check_filename(upload.filename)
        checked.append(filecheck.check_file(upload.path, upload.filename, max_bytes=limit))
    return checked


def _duplicate_of(sha256: str, material_id: Optional[int]) -> Optional[MaterialFile]:
    """The earliest file with the same content in another material, if any."""
    query = select(MaterialFile).where(MaterialFile.sha256 == sha256)
    if material_id is not None:
        query = query.where(MaterialFile.material_id != material_id)
    return db.session.scalar(query.order_by(MaterialFile.id).limit(1))


@unguarded("building block of the upload services, which check the policy first")
def file_row(upload: Upload, checked: filecheck.CheckedFile, stored: StoredObject, actor: Any,
              material_id: Optional[int] = None, version: int = 1) -> MaterialFile:
    """The row of a stored file, flagged when the same content exists in another material."""
    earlier = _duplicate_of(stored.sha256, material_id)
    return MaterialFile(
        version=version, original_name=filecheck.check_filename(upload.filename), extension=checked.extension,
        object_key=stored.key, size=stored.size, sha256=stored.sha256, mime_type=checked.mime_type,
        kind=checked.kind, state=FileState.UPLOADED.value, text_flags=[],
        duplicate_of_id=earlier.id if earlier else None, uploaded_by_id=getattr(actor, "id", None),
    )


@unguarded("building block of the upload services, which check the policy first")
def store_all(uploads: list[Upload], checked: list[filecheck.CheckedFile]) -> list[StoredObject]:
    """Store every upload under a new key, or none: a store failure removes what was written."""
    keys = [u.streaming.key if u.streaming is not None else new_key("materials") for u in uploads]
    _mark_in_flight(keys)
    stored: list[StoredObject] = []
    try:
        for key, upload, check in zip(keys, uploads, checked):
            stored.append(_put(key, upload, check.mime_type))
    except StoreUnavailable:
        _remove_objects([s.key for s in stored])
        _forget_pending(keys)
        raise
    return stored


def _forget_pending(keys: list[str]) -> None:
    if keys:
        db.session.execute(PendingUpload.__table__.delete().where(PendingUpload.object_key.in_(keys)))
        db.session.commit()


@unguarded("building block of the upload services, which check the policy first")
@contextmanager
def rows_or_no_objects(keys: list[str]) -> Iterator[None]:
    """Write rows for stored objects inside this block; it commits them (dropping the in-flight
    marks). If anything in the block or the commit fails, the objects are removed: no orphan."""
    try:
        yield
        db.session.execute(PendingUpload.__table__.delete().where(PendingUpload.object_key.in_(keys)))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _remove_objects(keys)
        _forget_pending(keys)
        raise


def _author_school(actor: Any) -> School:
    """The school a teacher's material is credited to: their own school, where they teach."""
    teaching = schools_where(actor, Role.TEACHER)
    school_id = actor.school_id if actor.school_id in teaching else min(teaching)
    return db.session.get(School, school_id)


@guarded("material.create")
def create_material(actor: Any, data: MaterialInput, uploads: list[Upload]) -> Material:
    """Create a draft material with its files, credited to the author's school."""
    require(actor, "material.create")
    clean = validate_material_input(data)
    if not uploads:
        raise _invalid("files", _l("Hãy chọn ít nhất một tệp."))
    checked = check_uploads(uploads)
    stored = store_all(uploads, checked)
    with rows_or_no_objects([s.key for s in stored]):
        material = Material(title=clean.title, description=clean.description, subject=clean.subject,
                            grades=clean.grades, topic=clean.topic, series=clean.series,
                            material_type=clean.material_type, licence=clean.licence, language=clean.language,
                            school_id=_author_school(actor).id, owner_id=actor.id, status=MaterialStatus.DRAFT.value)
        material.files = [file_row(u, c, s, actor) for u, c, s in zip(uploads, checked, stored)]
        db.session.add(material)
        db.session.flush()
        audit.record(actor, "material.created", material, files=len(stored))
    processing.after_upload([f.id for f in material.files])
    return material


@guarded("material.edit")
def update_material(actor: Any, material: Material, data: MaterialInput) -> Material:
    """Change a draft's (or a returned material's) metadata; the school stays the same."""
    require(actor, "material.edit", material)
    clean = validate_material_input(data)
    fields = ("title", "description", "subject", "grades", "topic", "series", "material_type", "licence", "language")
    changed = [name for name in fields if getattr(material, name) != getattr(clean, name)]
    for name in changed:
        setattr(material, name, getattr(clean, name))
    if changed:
        audit.record(actor, "material.updated", material, fields=changed)
    db.session.commit()
    return material


@guarded("material.edit")
def replace_file(actor: Any, material: Material, old: MaterialFile, upload: Optional[Upload]) -> MaterialFile:
    """Upload a new version of one of the material's files; the old version stays in its history.
    A new version of an approved material is reviewed again while the approved one stays visible."""
    revising = material.status in ("school_approved", "published")
    if revising:
        require(actor, "material.revise", material)
    else:
        require(actor, "material.edit", material)
    if old.material_id != material.id or not old.is_current:
        raise NotFound(_l("Không tìm thấy tệp."))
    if upload is None:
        raise _invalid("file", _l("Hãy chọn tệp cho phiên bản mới."))
    checked = check_uploads([upload])
    stored = store_all([upload], checked)[0]
    notices: list = []
    with rows_or_no_objects([stored.key]):
        approved_ids = [f.id for f in material.current_files]
        new = file_row(upload, checked[0], stored, actor, material.id, version=old.version + 1)
        new.replaces_id = old.id
        old.is_current = False
        material.files.append(new)
        db.session.flush()
        audit.record(actor, "material.file_replaced", material, old_file=old.id, new_file=new.id)
        if revising:
            from repository.services import review  # the workflow builds on this module

            notices = review.start_revision(actor, material, approved_ids)
    if notices:
        from repository.services import notifications

        notifications.deliver(notices)
    processing.after_upload([new.id])
    return new


@guarded("material.delete")
def delete_material(actor: Any, material: Material) -> None:
    """Delete a draft with every file version; the objects go after the rows are gone."""
    require(actor, "material.delete", material)
    keys = [k for f in material.files for k in (f.object_key, f.thumbnail_key, f.preview_key) if k]
    audit.record(actor, "material.deleted", material, title=material.title)
    from repository.services import review  # the workflow builds on this module

    review.forget_material(material.id)
    db.session.delete(material)
    db.session.commit()
    _remove_objects(keys)


@guarded("material.view")
def get_material(actor: Any, material_id: int) -> Material:
    material = db.session.get(Material, material_id)
    if material is None:
        raise NotFound(_l("Không tìm thấy học liệu."))
    require(actor, "material.view", material)
    return material


@guarded("material.view")
def get_file(actor: Any, material: Material, file_id: int) -> MaterialFile:
    require(actor, "material.view", material)
    found = next((f for f in material.files if f.id == file_id), None)
    if found is None:
        raise NotFound(_l("Không tìm thấy tệp."))
    return found


def _increment(material: Material, column: Any) -> int:
    """An atomic +1 in SQL, so concurrent requests never lose a count; returns the new count."""
    # updated_at is kept: a view or a download does not change the material (OAI datestamps,
    # search stamps and "my materials" order depend on it).
    return int(db.session.scalar(update(Material).where(Material.id == material.id)
                                 .values({column: column + 1, Material.updated_at: Material.updated_at})
                                 .returning(column)) or 0)


@guarded("material.view")
def count_view(actor: Any, material: Material) -> None:
    """Counted per material only: no record of who viewed it."""
    require(actor, "material.view", material)
    _increment(material, Material.view_count)
    db.session.commit()


@guarded("material.view")
def count_download(actor: Any, material: Material) -> None:
    """Counted per material only: no record of who downloaded it."""
    require(actor, "material.view", material)
    count = _increment(material, Material.download_count)
    changelog.download_counted(db.session, material.id, count)
    db.session.commit()


@guarded("material.list_own")
def list_own(actor: User) -> list[Material]:
    require(actor, "material.list_own")
    query = select(Material).where(Material.owner_id == actor.id).order_by(Material.updated_at.desc())
    return list(db.session.scalars(query))
