"""The object side of a backup: the manifest of every object a file row points to, copies of
the objects (optional), and checking or copying them back on restore.

The list is read from the snapshot's own material_files rows, so it names exactly the objects
the backed-up database needs. Objects are immutable under their keys except derived ones, which
re-processing may rewrite in place: whatever bytes are read are the ones listed and copied.
An original's size and SHA-256 come from its row (computed at upload; `check --checksums`
re-reads them) unless its bytes are copied, when they are hashed on the way; a derived object
(thumbnail, rendition) has no checksum in the database, so it is always read and hashed.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from repository.backup import files
from storage import ObjectNotFound
from storage.keys import check_key

DERIVED = (("thumbnail_key", "thumbnail", "image/jpeg"), ("preview_key", "preview", "application/pdf"))
KEPT = 1000  # keys kept per kind of problem (a whole empty store would be millions); the rest are counted


@dataclass
class ObjectReport:
    """What happened to the objects: counts, and (the first KEPT) keys with a problem."""

    objects: int = 0
    bytes: int = 0
    copied: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    missing_count: int = 0
    mismatched_count: int = 0

    def miss(self, key: str) -> None:
        self.missing_count += 1
        if len(self.missing) < KEPT:
            self.missing.append(key)

    def mismatch(self, key: str) -> None:
        self.mismatched_count += 1
        if len(self.mismatched) < KEPT:
            self.mismatched.append(key)

    @property
    def problems(self) -> int:
        return self.missing_count + self.mismatched_count


def listed(directory: Path, files_table: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The objects the dumped material_files rows point to, without copies of the row data."""
    for row in files.read_lines(directory / files_table["file"]):
        yield {"key": row["object_key"], "kind": "original", "file_id": row["id"], "size": row["size"],
               "sha256": row["sha256"], "content_type": row["mime_type"]}
        for column, kind, content_type in DERIVED:
            if row.get(column):
                yield {"key": row[column], "kind": kind, "file_id": row["id"], "size": None, "sha256": None,
                       "content_type": content_type}


def _copy_hashing(source: BinaryIO, out: BinaryIO | None) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(files.CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
    return size, digest.hexdigest()


def _read(store: Any, key: str, target: Path | None) -> tuple[int, str]:
    """Hash an object, writing it to `target` when given; raises ObjectNotFound."""
    with store.open(key) as source:
        if target is None:
            return _copy_hashing(source, None)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            return _copy_hashing(source, out)


def _backed_up(store: Any, item: dict[str, Any], directory: Path, with_objects: bool,
               report: ObjectReport) -> dict[str, Any]:
    key = check_key(item["key"])
    if item["kind"] == "original" and not with_objects:
        return item
    target = directory / files.OBJECTS_DIR / key if with_objects else None
    try:
        size, digest = _read(store, key, target)
    except ObjectNotFound:
        report.miss(key)
        return {**item, "missing": True}
    if item["sha256"] is not None and (digest != item["sha256"] or size != item["size"]):
        report.mismatch(key)  # the copy keeps the bytes as they are; the row is unchanged
    if with_objects:
        report.copied += 1
    return {**item, "size": size, "sha256": digest}


def back_up(store: Any, directory: Path, files_table: dict[str, Any],
            with_objects: bool) -> tuple[ObjectReport, dict[str, Any]]:
    """Write the object list (and the objects, `with_objects`); return the report and the
    manifest entry of the list. Streamed row by row: no set of keys is kept, since every key
    belongs to one row (object_key is unique; derived keys are made per row), and a key listed
    twice would only be checked twice."""
    report = ObjectReport()

    def entries() -> Iterator[dict[str, Any]]:
        for item in listed(directory, files_table):
            entry = _backed_up(store, item, directory, with_objects, report)
            report.objects += 1
            report.bytes += entry["size"] or 0
            yield entry

    count, digest = files.write_lines(directory / files.OBJECTS_LIST, entries())
    return report, {"file": files.OBJECTS_LIST, "count": count, "sha256": digest, "with_objects": with_objects}


def _present(store: Any, entry: dict[str, Any], verify: bool) -> bool:
    """Whether the store holds the object as listed: same size, and with `verify` same SHA-256."""
    try:
        if verify:
            return _read(store, entry["key"], None) == (entry["size"], entry["sha256"])
        return store.size(entry["key"]) == entry["size"]
    except ObjectNotFound:
        return False


def check_store(store: Any, directory: Path, verify: bool) -> ObjectReport:
    """A restore without copies: every listed object must already be in the store."""
    report = ObjectReport()
    for entry in files.read_lines(directory / files.OBJECTS_LIST):
        if entry.get("missing"):
            continue
        report.objects += 1
        if not _present(store, {**entry, "key": check_key(entry["key"])}, verify):
            (report.mismatch if store.exists(entry["key"]) else report.miss)(entry["key"])
    return report


def _copy_back(store: Any, entry: dict[str, Any], source: Path) -> bool:
    """Put one backed-up object into the store; False when the copy in the backup is damaged or
    the store already holds different bytes under the key (it is never overwritten)."""
    with source.open("rb") as stream:
        if _copy_hashing(stream, None) != (entry["size"], entry["sha256"]):
            return False
    if store.exists(entry["key"]):
        return _present(store, entry, verify=True)  # left by an earlier, interrupted restore
    store.put_file(entry["key"], source, content_type=entry["content_type"])
    return True


def restore(store: Any, directory: Path) -> ObjectReport:
    """Copy every backed-up object into the store, checking each against the list."""
    report = ObjectReport()
    for entry in files.read_lines(directory / files.OBJECTS_LIST):
        if entry.get("missing"):
            continue
        key = check_key(entry["key"])
        source = directory / files.OBJECTS_DIR / key
        report.objects += 1
        if not source.is_file():
            report.miss(key)
        elif not _copy_back(store, entry, source):
            report.mismatch(key)
        else:
            report.copied += 1
            report.bytes += entry["size"]
    return report
