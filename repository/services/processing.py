"""Work done on a stored file after its row commits: thumbnail, PDF rendition, text for search.

Rules: processing is idempotent and can be re-run at any time (it rewrites the same derived
objects); a failure marks the file failed with its reason and never touches the upload itself.
With PROCESSING=inline it starts right after an upload commits, through the job queue
(repository/jobs.py: in the request without REDIS_URL, by `flask --app app jobs worker` with it);
with PROCESSING=worker the command `flask --app app materials process` does it.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Optional

from flask import current_app
from sqlalchemy import select

from repository import jobs, processing
from repository.extensions import db, object_store
from repository.models import FileState, MaterialFile, utcnow
from repository.services import near_duplicates, unguarded
from storage import StorageError, new_key

OFFICE_KINDS = {"document", "presentation", "spreadsheet"}
TEXT_LIMIT = 200_000  # characters kept in the database for indexing


def _fetch(key: str, workdir: Path, name: str) -> Path:
    """A local file with the upload's extension (parsers such as openpyxl go by the name): a
    link to the object on the local backend, a downloaded copy otherwise."""
    target = workdir / name
    local = object_store().local_path(key)
    if local is not None:
        target.symlink_to(local)
        return target
    with object_store().open(key) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    return target


def _save(path: Path, existing_key: Optional[str], area: str, content_type: str) -> str:
    key = existing_key or new_key(area)
    with path.open("rb") as stream:
        object_store().put(key, stream, content_type=content_type)
    return key


def _derive(row: MaterialFile, src: Path, workdir: Path) -> None:
    """Make the rendition, the thumbnail and the text; each one idempotent."""
    pdf_source = src if row.kind == "pdf" else None
    if row.kind in OFFICE_KINDS and processing.libreoffice_available():
        rendition = processing.pdf_rendition(src, workdir / "rendition", extension=row.extension)
        if rendition is not None:
            row.preview_key = _save(rendition, row.preview_key, "previews", "application/pdf")
            pdf_source = rendition
    thumb = workdir / "thumb.jpg"
    thumb_made = (processing.make_thumbnail(pdf_source, "pdf", thumb) if pdf_source is not None
                  else processing.make_thumbnail(src, row.kind, thumb))
    if thumb_made:
        row.thumbnail_key = _save(thumb, row.thumbnail_key, "thumbnails", "image/jpeg")
    if row.kind in OFFICE_KINDS | {"pdf", "text"}:
        extracted = processing.extract_text(src, row.kind, row.extension)
        if "unsupported_format" in extracted.flags and pdf_source is not None and pdf_source != src:
            # Legacy .doc/.ppt/.xls: read the text of their PDF rendition instead.
            extracted = processing.extract_text(pdf_source, "pdf", "pdf")
        row.extracted_text = extracted.text[:TEXT_LIMIT]
        row.text_flags = list(extracted.flags)


@unguarded("runs after the upload committed, for a file already accepted; no actor is involved")
def process_file(file_id: int) -> MaterialFile:
    """(Re)make the derived data of one file and mark it ready, or failed with the reason."""
    row = db.session.get(MaterialFile, file_id)
    if row is None:
        raise LookupError(file_id)
    with tempfile.TemporaryDirectory(prefix="process-", dir=current_app.config.get("UPLOAD_TMPDIR") or None) as tmp:
        workdir = Path(tmp)
        try:
            src = _fetch(row.object_key, workdir, f"original.{row.extension}")
            _derive(row, src, workdir)
        except (processing.ProcessingFailed, StorageError, OSError) as error:
            row.state, row.failure_reason = FileState.FAILED.value, str(error)[:1000]
        else:
            row.state, row.failure_reason = FileState.READY.value, None
    row.processed_at = utcnow()
    db.session.commit()
    # The text is known now: compare the material with the repository (issue 5, review flags).
    near_duplicates.fingerprint(row.material_id)
    return row


@unguarded("the processing worker's loop; it acts on stored files, not for a person")
def process_pending(limit: int = 100) -> int:
    """Process files still waiting (state uploaded); returns how many were processed."""
    query = select(MaterialFile.id).where(MaterialFile.state == FileState.UPLOADED.value)
    ids = list(db.session.scalars(query.order_by(MaterialFile.id).limit(limit)))
    for file_id in ids:
        process_file(file_id)
    return len(ids)


@unguarded("the job queued after an upload committed, for a file already accepted; no actor is involved")
def process_uploaded(file_id: int) -> None:
    """Process a file still waiting; a file deleted or processed since the job was queued is left
    alone (a queued job can run late, or twice)."""
    row = db.session.get(MaterialFile, file_id)
    if row is not None and row.state == FileState.UPLOADED.value:
        process_file(file_id)


@unguarded("called by upload services after their own policy check and commit")
def after_upload(file_ids: list[int]) -> None:
    """With PROCESSING=inline, one job per file (run now without REDIS_URL, queued with it);
    with PROCESSING=worker the files wait for `flask materials process`."""
    if current_app.config["PROCESSING"] == "inline":
        for file_id in file_ids:
            jobs.enqueue("repository.services.processing.process_uploaded", file_id)
