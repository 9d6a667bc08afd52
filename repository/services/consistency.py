"""Consistency between the database (source of truth for metadata) and the object store (bytes).

Findings: an uploaded object a row points to is missing; an object no row points to (orphan); a
size, or with `checksums` a SHA-256, that differs from the row; a derived object (thumbnail,
rendition) that is missing; a write to the store that was never completed (unfinished: the parts
of an upload whose process was killed); on this host, a spooled request body that outlived its
request (spool, in UPLOAD_TMPDIR when it is set). Objects of uploads still in flight are not
findings, nor is anything younger than the longest allowed upload (UPLOAD_MAX_HOURS) that no
row could claim yet. Repair removes orphans, unfinished writes and spool files older than that and
re-processes files whose derived objects are missing; it never deletes an object a row points to.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from repository.extensions import db, object_store
from repository.models import FileState, MaterialFile, PendingUpload, utcnow
from repository.permissions import require
from repository.services import guarded, processing
from storage import ObjectNotFound, Unfinished

AREAS = ("materials/", "thumbnails/", "previews/")
SPOOL_PATTERN = "upload-*"  # repository.uploads.HashingSpoolFile's temporary files


@dataclass
class Finding:
    kind: str  # missing | orphan | size_mismatch | checksum_mismatch | derived_missing | unfinished | spool
    key: str
    detail: str = ""


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    repaired: list[Finding] = field(default_factory=list)
    objects: int = 0
    files: int = 0
    unfinished: list[Unfinished] = field(default_factory=list)
    spools: list[Path] = field(default_factory=list)


def _sha256(store: Any, key: str) -> str:
    digest = hashlib.sha256()
    with store.open(key) as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _stored_objects(store: Any) -> dict[str, Any]:
    return {info.key: info for area in AREAS for info in store.list(area)}


def _check_rows(store: Any, objects: dict[str, Any], checksums: bool, report: CheckReport) -> set[str]:
    """Compare every file row with its objects; returns every key a row points to."""
    referenced: set[str] = set()
    for row in db.session.scalars(select(MaterialFile).order_by(MaterialFile.id)):
        report.files += 1
        referenced.update(k for k in (row.object_key, row.thumbnail_key, row.preview_key) if k)
        info = objects.get(row.object_key)
        if info is None:
            report.findings.append(Finding("missing", row.object_key, f"file {row.id}"))
            continue
        if info.size != row.size:
            report.findings.append(Finding("size_mismatch", row.object_key, f"{info.size} != {row.size}"))
        elif checksums and _sha256(store, row.object_key) != row.sha256:
            report.findings.append(Finding("checksum_mismatch", row.object_key, f"file {row.id}"))
        for derived in (row.thumbnail_key, row.preview_key):
            if derived and derived not in objects:
                report.findings.append(Finding("derived_missing", derived, f"file {row.id}"))
    return referenced


def _in_flight(grace: timedelta) -> set[str]:
    since = utcnow() - grace
    return set(db.session.scalars(select(PendingUpload.object_key).where(PendingUpload.started_at >= since)))


def _orphans(objects: dict[str, Any], referenced: set[str], grace: timedelta, report: CheckReport) -> list[str]:
    """Orphan findings; returns the keys old enough to remove safely."""
    in_flight = _in_flight(grace)
    cutoff = _cutoff(grace)
    removable = []
    for key, info in objects.items():
        if key in referenced or key in in_flight:
            continue
        report.findings.append(Finding("orphan", key, f"{info.size} bytes"))
        if info.modified <= cutoff:
            removable.append(key)
    return removable


def _cutoff(grace: timedelta) -> datetime:
    return utcnow().replace(tzinfo=timezone.utc) - grace


def _unfinished(store: Any, grace: timedelta, report: CheckReport) -> list[Unfinished]:
    """Writes begun longer ago than any upload may take and never completed: a crash's leftovers."""
    cutoff = _cutoff(grace)
    old = [item for item in store.unfinished() if item.started <= cutoff]
    report.findings.extend(Finding("unfinished", item.key, f"begun {item.started:%Y-%m-%d %H:%M} UTC") for item in old)
    return old


def _stale_spools(grace: timedelta, report: CheckReport) -> list[Path]:
    """Request bodies spooled in UPLOAD_TMPDIR by a process killed mid-upload (a live request
    deletes its own). Only a folder set aside for uploads is searched: the system temp folder
    is shared with other programs and emptied by the system."""
    folder = current_app.config.get("UPLOAD_TMPDIR")
    if not folder:
        return []
    cutoff = _cutoff(grace).timestamp()
    stale = []
    for path in Path(folder).glob(SPOOL_PATTERN):
        try:
            if path.is_file() and path.stat().st_mtime <= cutoff:
                stale.append(path)
        except FileNotFoundError:
            continue  # its request ended meanwhile
    report.findings.extend(Finding("spool", str(path), "left by an interrupted upload") for path in stale)
    return stale


def _repair(store: Any, removable: list[str], report: CheckReport) -> None:
    for key in removable:
        try:
            store.delete(key)
        except ObjectNotFound:
            pass
        report.repaired.append(Finding("orphan", key, "removed"))
    for item in report.unfinished:
        store.discard_unfinished(item)
        report.repaired.append(Finding("unfinished", item.key, "removed"))
    for path in report.spools:
        path.unlink(missing_ok=True)
        report.repaired.append(Finding("spool", str(path), "removed"))
    derived = {f.key for f in report.findings if f.kind == "derived_missing"}
    rows = db.session.scalars(select(MaterialFile).where(
        (MaterialFile.thumbnail_key.in_(derived)) | (MaterialFile.preview_key.in_(derived))))
    for row in list(rows):
        row.state = FileState.UPLOADED.value
        db.session.commit()
        processing.process_file(row.id)
        report.repaired.append(Finding("derived_missing", row.object_key, "re-processed"))
    stale = utcnow() - timedelta(hours=current_app.config["UPLOAD_MAX_HOURS"])
    db.session.execute(PendingUpload.__table__.delete().where(PendingUpload.started_at < stale))
    db.session.commit()


@guarded("storage.check")
def check_storage(actor: Any, *, repair: bool = False, checksums: bool = False) -> CheckReport:
    """Compare database and object store; with `repair`, fix what can be fixed safely."""
    require(actor, "storage.check")
    store = object_store()
    grace = timedelta(hours=current_app.config["UPLOAD_MAX_HOURS"])
    report = CheckReport()
    objects = _stored_objects(store)
    report.objects = len(objects)
    referenced = _check_rows(store, objects, checksums, report)
    removable = _orphans(objects, referenced, grace, report)
    report.unfinished = _unfinished(store, grace, report)
    report.spools = _stale_spools(grace, report)
    if repair:
        _repair(store, removable, report)
    return report
