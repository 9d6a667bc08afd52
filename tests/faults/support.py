"""What every fault test ends with: the real `flask --app app check` says the repository is
consistent, and nothing committed before the fault was lost (rows, and the bytes of their objects)."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import func, select

from repository import demo_files
from repository.extensions import db
from repository.models import Material, MaterialFile, PendingUpload
from tests.helpers import sign_in

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"
# The databases tests/conftest.py runs on. A fault whose outcome does not depend on the database
# runs on SQLite only (`sqlite_only`), which keeps the whole folder quick.
DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL")
                          or os.environ.get("REQUIRE_POSTGRES") == "1" else [])
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CLEAN = "Không có điểm không nhất quán."


def run_check(app: Any, *args: str) -> Any:
    """The real `check` command of `app` (its configuration, its database, store and index). Its
    own app context: with_appcontext would otherwise run the command in the test's app."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["check", *args])


def assert_clean(app: Any, *args: str) -> Any:
    result = run_check(app, *args)
    if result.exception and not isinstance(result.exception, SystemExit):
        import traceback
        traceback.print_exception(*result.exc_info)
    assert result.exit_code == 0 and CLEAN in result.output, (result.output, result.exception)
    return result


def later(app: Any, app_with: Any) -> Any:
    """The same deployment seen once every upload in flight has outlived UPLOAD_MAX_HOURS: its
    check may then remove what a crashed or failed upload left behind."""
    same = ("STORAGE_BACKEND", "STORAGE_DIR", "S3_ENDPOINT_URL", "S3_BUCKET", "SEARCH_INDEX_DIR", "UPLOAD_TMPDIR",
            "SQLALCHEMY_ENGINE_OPTIONS")
    return app_with(UPLOAD_MAX_HOURS=0, **{name: app.config[name] for name in same})


def pdf_form(tmp_path: Path, title: str = "Đề kiểm tra giữa kì", lines: list[str] | None = None) -> dict[str, Any]:
    """The upload form's fields with a small PDF (a new file each call: another SHA-256)."""
    path = tmp_path / f"{abs(hash((title, tuple(lines or ())))):x}.pdf"
    pdf = demo_files.pdf_file(path, title, lines or ["Câu 1", title]).read_bytes()
    return {"title": title, "subject": "TOAN", "grades": ["6"], "material_type": "BAI_KIEM_TRA",
            "licence": "CC_BY_4", "language": "vi", "files": (io.BytesIO(pdf), f"{title}.pdf")}


def mp4_bytes(size: int) -> bytes:
    """A video that passes the upload checks, about `size` bytes long (several S3 parts if large)."""
    body = size - 32
    return (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + (body + 8).to_bytes(4, "big") + b"mdat"
            + bytes(range(256)) * (body // 256) + b"\x00" * (body % 256))


def signed_in(app: Any, email: str = TEACHER) -> Any:
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def upload(client: Any, form: dict[str, Any]) -> Any:
    """Post the upload form as the upload page's script does (errors come back as JSON)."""
    return client.post("/materials/new", data=form, headers={"X-Requested-With": "XMLHttpRequest"})


def object_sha256(key: str, store: Any = None) -> str:
    digest = hashlib.sha256()
    with (store or current_app.extensions["storage"]).open(key) as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot() -> dict[int, tuple[int, str, str, int, str]]:
    """file id -> (material id, title, object key, size, SHA-256) of every committed file row."""
    db.session.expire_all()
    rows = db.session.execute(select(MaterialFile.id, Material.id, Material.title, MaterialFile.object_key,
                                     MaterialFile.size, MaterialFile.sha256).join(Material)).all()
    return {r[0]: tuple(r[1:]) for r in rows}  # type: ignore[misc]


def assert_nothing_lost(before: dict[int, tuple[int, str, str, int, str]], app: Any = None) -> None:
    """Every row of `before` is still there, unchanged, and its object (in the store of `app`,
    by default the current one) still holds those bytes."""
    after = snapshot()
    store = (app or current_app).extensions["storage"]
    for file_id, (material_id, title, key, size, sha256) in before.items():
        assert after.get(file_id) == (material_id, title, key, size, sha256), f"file {file_id} changed or lost"
        assert object_sha256(key, store) == sha256, f"the bytes of file {file_id} changed"


def catalogue() -> list[tuple[Any, ...]]:
    """Every material's id, title, status and last change: what an index fault must not touch."""
    db.session.expire_all()
    query = select(Material.id, Material.title, Material.status, Material.updated_at).order_by(Material.id)
    return [tuple(row) for row in db.session.execute(query)]


def counts() -> tuple[int, int, int]:
    """(materials, file rows, upload marks): what a refused request must leave unchanged."""
    db.session.expire_all()
    return tuple(int(db.session.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[return-value]
                 for model in (Material, MaterialFile, PendingUpload))
