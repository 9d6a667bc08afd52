"""Materials through the web: upload, metadata rules, versions, duplicates, deletion, download and
preview headers, counts, visibility, and the faults of the object store and the database."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import func, select

from repository import demo_files
from repository.extensions import db
from repository.models import AuditEvent, Material, MaterialFile, PendingUpload
from repository.services import materials
from storage import StorageError
from tests.helpers import sign_in

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"
XHR = {"X-Requested-With": "XMLHttpRequest"}


def _pdf(tmp_path: Path, title: str = "Phương trình bậc hai") -> bytes:
    return demo_files.pdf_file(tmp_path / f"{abs(hash(title))}.pdf", title, ["Bài 1", "Bài 2"]).read_bytes()


def _form(data: bytes, name: str = "Bài giảng Phương trình.pdf", **fields: Any) -> dict[str, Any]:
    form = {"title": "Phương trình bậc hai", "subject": "TOAN", "grades": ["9"], "material_type": "BAI_GIANG_DIEN_TU",
            "licence": "CC_BY_4", "language": "vi", "series": "KNTT", "topic": "Chương 4",
            "description": "Bài giảng <b>minh hoạ</b>", "files": (io.BytesIO(data), name)}
    form.update(fields)
    return form


def _objects() -> list[str]:
    return [info.key for info in current_app.extensions["storage"].list("")]


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _upload(client: Any, tmp_path: Path, **fields: Any) -> Any:
    return client.post("/materials/new", data=_form(_pdf(tmp_path), **fields), headers=XHR)


def test_a_teacher_uploads_a_material_credited_to_their_school(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    data = _pdf(tmp_path)
    sign_in(client, TEACHER)
    response = client.post("/materials/new", data=_form(data), headers=XHR)
    assert response.status_code == 201
    material = db.session.scalar(select(Material))
    assert response.get_json() == {"redirect": f"/materials/{material.id}"}
    assert (material.school_id, material.owner_id, material.status) == (world["thcs1"].id, world["teacher"].id, "draft")
    assert (material.subject, material.grades, material.series) == ("TOAN", ["9"], "KNTT")
    stored = material.files[0]
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert stored.mime_type == "application/pdf" and stored.original_name == "Bài giảng Phương trình.pdf"
    assert stored.object_key.startswith("materials/") and "Ph" not in stored.object_key
    assert _objects() == [stored.object_key]
    assert _count(PendingUpload) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "material.created")) is not None


def test_the_form_without_javascript_redirects_to_the_material(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    response = client.post("/materials/new", data=_form(_pdf(tmp_path)))
    assert response.status_code == 302 and "/materials/" in response.headers["Location"]


@pytest.mark.parametrize("field, value, reason", [
    ("title", "", "Tiêu đề"),
    ("title", "x" * 501, "Tiêu đề"),
    ("subject", "KHONG_CO", "Môn học"),
    ("grades", ["13"], "Lớp"),
    ("material_type", "LA", "Loại học liệu"),
    ("licence", "GPL", "Giấy phép"),
    ("series", "SGK_LA", "Bộ sách"),
])
def test_bad_metadata_is_a_422_naming_the_field_and_stores_nothing(client: Any, world: dict[str, Any], tmp_path: Path,
                                                                   field: str, value: Any, reason: str) -> None:
    sign_in(client, TEACHER)
    response = _upload(client, tmp_path, **{field: value})
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert field in body["fields"] or reason in body["message"]
    assert (_count(Material), _count(MaterialFile), _count(PendingUpload), _objects()) == (0, 0, 0, [])


def test_a_refused_file_is_named_in_the_message_and_nothing_is_kept(client: Any, world: dict[str, Any]) -> None:
    sign_in(client, TEACHER)
    fake = _form(b"<html><script>alert(1)</script></html>", name="de-thi.pdf")
    response = client.post("/materials/new", data=fake, headers=XHR)
    assert response.status_code == 422
    assert "de-thi.pdf" in response.get_json()["error"]["message"]
    assert (_count(Material), _objects()) == (0, [])


def test_an_upload_without_files_is_refused(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    form = _form(b"")
    del form["files"]
    response = client.post("/materials/new", data=form, headers=XHR)
    assert response.status_code == 422 and "tệp" in response.get_json()["error"]["message"]


def test_the_object_store_down_gives_a_clear_error_and_no_row(client: Any, world: dict[str, Any], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        raise StorageError("Kho lưu trữ tệp không phản hồi. Vui lòng thử lại sau.")

    monkeypatch.setattr(type(current_app.extensions["storage"]), "put", down)
    sign_in(client, TEACHER)
    response = _upload(client, tmp_path)
    assert response.status_code == 503
    assert "Kho lưu trữ" in response.get_json()["error"]["message"]
    assert (_count(Material), _count(MaterialFile), _count(PendingUpload), _objects()) == (0, 0, 0, [])


def test_a_database_failure_after_storing_removes_the_object(client: Any, world: dict[str, Any], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("database went away"))

    sign_in(client, TEACHER)
    monkeypatch.setattr(materials.audit, "record", broken)
    response = _upload(client, tmp_path)
    assert response.status_code == 503
    assert "Cơ sở dữ liệu" in response.get_json()["error"]["message"]
    assert (_count(Material), _count(MaterialFile), _count(PendingUpload), _objects()) == (0, 0, 0, [])


def _make(client: Any, tmp_path: Path, title: str = "Phương trình bậc hai") -> Material:
    assert client.post("/materials/new", data=_form(_pdf(tmp_path, title), title=title), headers=XHR).status_code == 201
    return db.session.scalar(select(Material).where(Material.title == title))


def test_a_new_version_keeps_the_old_one(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    old = material.files[0]
    newer = _pdf(tmp_path, "Phiên bản hai")
    response = client.post(f"/materials/{material.id}/files/{old.id}/new-version",
                           data={"file": (io.BytesIO(newer), "Bài giảng v2.pdf")})
    assert response.status_code == 302
    db.session.expire_all()
    files = db.session.get(Material, material.id).files
    assert [(f.version, f.is_current) for f in files] == [(1, False), (2, True)]
    assert files[1].replaces_id == old.id and files[1].sha256 == hashlib.sha256(newer).hexdigest()
    assert len(_objects()) == 2
    assert client.get(f"/materials/{material.id}/files/{old.id}/download").status_code == 200


def test_the_same_file_in_another_material_is_flagged_with_a_link(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    data = _pdf(tmp_path)
    sign_in(client, TEACHER)
    client.post("/materials/new", data=_form(data, title="Bản gốc"), headers=XHR)
    client.post("/materials/new", data=_form(data, title="Bản chép"), headers=XHR)
    first, second = db.session.scalars(select(Material).order_by(Material.id)).all()
    assert second.files[0].duplicate_of_id == first.files[0].id and first.files[0].duplicate_of_id is None
    page = client.get(f"/materials/{second.id}").get_data(as_text=True)
    assert f"/materials/{first.id}" in page and "Trường THCS Hoa Lư" in page


def test_the_author_edits_metadata_but_never_the_school(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    form = {"title": "Tiêu đề mới", "subject": "TOAN", "grades": ["8", "9"], "material_type": "KE_HOACH_BAI_DAY",
            "licence": "CC_BY_SA_4", "language": "vi", "series": "", "school_id": world["thcs2"].id}
    assert client.post(f"/materials/{material.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    changed = db.session.get(Material, material.id)
    assert (changed.title, changed.grades, changed.series, changed.school_id) == (
        "Tiêu đề mới", ["8", "9"], None, world["thcs1"].id)


def test_others_cannot_edit_or_delete_and_a_published_material_is_not_editable(
        client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    other = current_app.test_client()
    sign_in(other, "totruong@thcs1.ninhbinh.edu.vn")
    assert other.post(f"/materials/{material.id}/edit", data={"title": "x"}).status_code == 403
    assert other.post(f"/materials/{material.id}/delete").status_code == 403
    material.status = "published"
    db.session.commit()
    assert client.post(f"/materials/{material.id}/edit", data={"title": "x"}).status_code == 403


def test_deleting_a_draft_removes_rows_and_objects(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    assert client.post(f"/materials/{material.id}/delete").status_code == 302
    assert (_count(Material), _count(MaterialFile), _objects()) == (0, 0, [])


def test_download_is_an_attachment_with_the_vietnamese_name_and_is_counted(
        client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    stored = material.files[0]
    response = client.get(f"/materials/{material.id}/files/{stored.id}/download")
    disposition = response.headers["Content-Disposition"]
    assert response.status_code == 200 and disposition.startswith("attachment")
    assert "filename*=UTF-8''B%C3%A0i%20gi%E1%BA%A3ng" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    ranged = client.get(f"/materials/{material.id}/files/{stored.id}/download", headers={"Range": "bytes=0-7"})
    assert ranged.status_code == 206 and ranged.data == b"%PDF-1.4"
    client.get(f"/materials/{material.id}")
    db.session.expire_all()
    counted = db.session.get(Material, material.id)
    assert (counted.download_count, counted.view_count) == (2, 1)


def test_a_pdf_preview_is_inline_with_a_fixed_type_and_only_framed_by_us(
        client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    response = client.get(f"/materials/{material.id}/files/{material.files[0].id}/preview")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_nothing_renderable_is_ever_served_inline() -> None:
    from repository.views.delivery import _safe_type

    assert _safe_type("text/html", True) == ("application/octet-stream", False)
    assert _safe_type("image/svg+xml", True) == ("application/octet-stream", False)
    assert _safe_type("application/vnd.openxmlformats-officedocument.wordprocessingml.document", True)[1] is False
    assert _safe_type("video/mp4", True) == ("video/mp4", True)


def test_a_draft_is_private_to_its_school_and_the_department(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    for email, status in [("giaovien@thcs2.ninhbinh.edu.vn", 403), ("totruong@thcs1.ninhbinh.edu.vn", 200),
                          ("duyet@so.ninhbinh.edu.vn", 200), ("canbo@hoalu.ninhbinh.edu.vn", 200)]:
        viewer = current_app.test_client()
        sign_in(viewer, email)
        assert viewer.get(f"/materials/{material.id}").status_code == status, email
        assert viewer.get(f"/materials/{material.id}/files/{material.files[0].id}/download").status_code == status


def test_a_unit_officer_cannot_upload_and_my_materials_lists_only_mine(
        client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    officer = current_app.test_client()
    sign_in(officer, "canbo@hoalu.ninhbinh.edu.vn")
    assert _upload(officer, tmp_path).status_code == 403
    sign_in(client, TEACHER)
    _make(client, tmp_path, "Của tôi")
    mine = client.get("/materials/mine").get_data(as_text=True)
    assert "Của tôi" in mine
    assert "Của tôi" not in officer.get("/materials/mine").get_data(as_text=True)
