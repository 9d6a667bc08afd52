"""`flask --app app check`: database and object store agree, and --repair fixes only what is safe.

Each fault is injected for real: objects removed, added, truncated or altered on the store."""
from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import select

from repository import demo_files
from repository.extensions import db
from repository.models import MaterialFile, PendingUpload, utcnow
from repository.permissions import SystemActor
from repository.services import consistency, materials
from storage import new_key
from tests.helpers import sign_in

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"


def _store() -> Any:
    return current_app.extensions["storage"]


@pytest.fixture
def stored_file(world: dict[str, Any], tmp_path: Path) -> MaterialFile:
    path = demo_files.pdf_file(tmp_path / "a.pdf", "Đề kiểm tra", ["Câu 1"])
    data = materials.MaterialInput(title="Đề kiểm tra", subject="TOAN", grades=["6"])
    material = materials.create_material(world["teacher"], data, [materials.Upload(path, "Đề kiểm tra.pdf")])
    return material.files[0]


def _run(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["check", *args])


def _age(key: str, hours: int) -> None:
    """Make a local object look `hours` old (the store's modified time is the file's mtime)."""
    path = _store().local_path(key)
    old = time.time() - hours * 3600
    os.utime(path, (old, old))


def test_a_consistent_repository_reports_nothing(app: Any, stored_file: MaterialFile) -> None:
    result = _run(app)
    assert result.exit_code == 0, result.output
    assert "Không có điểm không nhất quán" in result.output


def test_a_missing_object_is_reported_and_never_repaired_away(app: Any, stored_file: MaterialFile) -> None:
    _store().delete(stored_file.object_key)
    result = _run(app, "--repair")
    assert result.exit_code == 1
    assert f"missing: {stored_file.object_key}" in result.output
    assert db.session.get(MaterialFile, stored_file.id) is not None


def test_an_old_orphan_is_removed_by_repair_but_a_young_one_is_only_reported(app: Any, stored_file: MaterialFile) -> None:
    old_key, young_key = new_key("materials"), new_key("materials")
    _store().put(old_key, io.BytesIO(b"left behind by a crash"))
    _store().put(young_key, io.BytesIO(b"just written"))
    _age(old_key, current_app.config["UPLOAD_MAX_HOURS"] + 1)
    first = _run(app)
    assert first.exit_code == 1 and f"orphan: {old_key}" in first.output and f"orphan: {young_key}" in first.output
    repaired = _run(app, "--repair")
    assert f"đã sửa orphan: {old_key}" in repaired.output
    assert not _store().exists(old_key) and _store().exists(young_key)
    assert _store().exists(stored_file.object_key)


def test_an_upload_in_flight_is_not_an_orphan(app: Any, stored_file: MaterialFile) -> None:
    key = new_key("materials")
    db.session.add(PendingUpload(object_key=key))
    db.session.commit()
    _store().put(key, io.BytesIO(b"half-way"))
    result = _run(app, "--repair")
    assert result.exit_code == 0, result.output
    assert _store().exists(key)


def test_an_abandoned_upload_mark_expires_and_its_object_is_removed(app: Any, stored_file: MaterialFile) -> None:
    key = new_key("materials")
    hours = current_app.config["UPLOAD_MAX_HOURS"] + 1
    db.session.add(PendingUpload(object_key=key, started_at=utcnow() - timedelta(hours=hours)))
    db.session.commit()
    _store().put(key, io.BytesIO(b"crashed upload"))
    _age(key, hours)
    assert _run(app, "--repair").exit_code == 0
    assert not _store().exists(key)
    assert db.session.scalar(select(PendingUpload)) is None


def test_a_size_mismatch_is_reported(app: Any, stored_file: MaterialFile) -> None:
    _store().local_path(stored_file.object_key).write_bytes(b"%PDF-1.4 truncated")
    result = _run(app)
    assert result.exit_code == 1 and f"size_mismatch: {stored_file.object_key}" in result.output


def test_a_checksum_mismatch_needs_checksums_to_be_seen(app: Any, stored_file: MaterialFile) -> None:
    path = _store().local_path(stored_file.object_key)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # same size, different bytes
    path.write_bytes(bytes(data))
    assert _run(app).exit_code == 0
    result = _run(app, "--checksums")
    assert result.exit_code == 1 and f"checksum_mismatch: {stored_file.object_key}" in result.output


def test_only_the_department_admin_may_check(world: dict[str, Any]) -> None:
    from repository.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        consistency.check_storage(world["school_admin"])
    assert consistency.check_storage(world["dept_admin"]).findings == []


def test_uploads_through_the_web_leave_nothing_to_repair(app: Any, client: Any, world: dict[str, Any],
                                                         tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    pdf = demo_files.pdf_file(tmp_path / "b.pdf", "Bài", ["x"]).read_bytes()
    form = {"title": "Bài", "subject": "TOAN", "grades": ["6"], "material_type": "KHAC", "licence": "CC_BY_4",
            "language": "vi", "files": (io.BytesIO(pdf), "b.pdf")}
    assert client.post("/materials/new", data=form).status_code == 302
    report = consistency.check_storage(SystemActor(), checksums=True)
    assert report.findings == [] and report.files == 1
