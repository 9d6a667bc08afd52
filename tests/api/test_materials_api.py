"""Material endpoints over the services: create with a file, read, update, new file versions,
and the refusals (other school's draft, bad fields, missing file) with nothing changed."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from repository.extensions import db
from repository.models import Material, MaterialFile
from tests.api.helpers import bearer, material_form, pdf_bytes, token_for


def _create(client: Any, raw: str, tmp_path: Path, **fields: Any) -> Any:
    return client.post("/api/v1/materials", data=material_form(pdf_bytes(tmp_path), **fields), headers=bearer(raw))


def test_create_returns_201_with_the_material(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    raw = token_for(world["teacher"])
    response = _create(client, raw, tmp_path, grades="8,9")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    material = db.session.get(Material, body["id"])
    assert body["status"] == "draft" and material.owner_id == world["teacher"].id
    assert body["grades"] == ["8", "9"] and body["school"] == {"code": "THCS01", "name": "Trường THCS Hoa Lư"}
    assert body["type"] == "BAI_GIANG_DIEN_TU" and body["series"] == "KNTT" and body["licence"] == "CC_BY_4"
    assert response.headers["Location"].endswith(f"/api/v1/materials/{body['id']}")
    assert [f["name"] for f in body["files"]] == ["bai-giang.pdf"]
    assert body["files"][0]["sha256"] == material.files[0].sha256
    assert body["url"].endswith(f"/materials/{body['id']}") and body["created_at"].endswith("Z")


def test_create_refuses_bad_metadata_and_stores_nothing(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    raw = token_for(world["teacher"])
    response = _create(client, raw, tmp_path, subject="KHONG_CO")
    assert response.status_code == 422
    assert "subject" in response.get_json()["error"]["fields"]
    no_file = client.post("/api/v1/materials", data={"title": "x", "subject": "TOAN", "grades": "9"},
                          headers=bearer(raw))
    assert no_file.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0


def test_someone_without_the_teacher_role_cannot_create(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    response = _create(client, token_for(world["dept_admin"]), tmp_path)
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0


def test_read_and_patch(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    raw = token_for(world["teacher"])
    material_id = _create(client, raw, tmp_path).get_json()["id"]
    shown = client.get(f"/api/v1/materials/{material_id}", headers=bearer(raw)).get_json()
    assert shown["title"] == "Phương trình bậc hai" and shown["topic"] is None
    patched = client.patch(f"/api/v1/materials/{material_id}", json={"title": "Hệ phương trình", "grades": ["9"],
                                                                     "type": "BAI_KIEM_TRA"}, headers=bearer(raw))
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert (body["title"], body["type"], body["subject"], body["series"]) == ("Hệ phương trình", "BAI_KIEM_TRA",
                                                                           "TOAN", "KNTT")


def test_patch_refusals_change_nothing(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    raw = token_for(world["teacher"])
    material_id = _create(client, raw, tmp_path).get_json()["id"]
    other = token_for(world["teacher2"])
    cases = [
        (other, {"title": "Của người khác"}, 403),
        (raw, {"school_id": 5}, 422),
        (raw, {"title": 12}, 422),
        (raw, {"grades": "9"}, 422),
        (raw, {"subject": "KHONG_CO"}, 422),
        (raw, ["not", "an", "object"], 422),
    ]
    for token, body, status in cases:
        response = client.patch(f"/api/v1/materials/{material_id}", json=body, headers=bearer(token))
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["error"]["code"] == status
    db.session.expire_all()
    assert db.session.get(Material, material_id).title == "Phương trình bậc hai"


def test_another_school_s_draft_is_not_readable(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material_id = _create(client, token_for(world["teacher"]), tmp_path).get_json()["id"]
    response = client.get(f"/api/v1/materials/{material_id}", headers=bearer(token_for(world["teacher2"])))
    assert response.status_code == 403
    assert client.get("/api/v1/materials/987654", headers=bearer(token_for(world["teacher2"]))).status_code == 404


def test_a_new_file_version(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    raw = token_for(world["teacher"])
    material_id = _create(client, raw, tmp_path).get_json()["id"]
    data = {"file": (io.BytesIO(pdf_bytes(tmp_path, "Bản sửa")), "ban-sua.pdf")}
    response = client.post(f"/api/v1/materials/{material_id}/files", data=data, headers=bearer(raw))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 2 and response.get_json()["name"] == "ban-sua.pdf"
    files = db.session.scalars(select(MaterialFile).order_by(MaterialFile.id)).all()
    assert [(f.version, f.is_current) for f in files] == [(1, False), (2, True)]
    missing = client.post(f"/api/v1/materials/{material_id}/files", data={}, headers=bearer(raw))
    assert missing.status_code == 422
    wrong = client.post(f"/api/v1/materials/{material_id}/files", headers=bearer(raw),
                        data={"replaces": str(files[0].id), "file": (io.BytesIO(b"%PDF-1.4"), "x.pdf")})
    assert wrong.status_code == 404  # an old version cannot be replaced again
    assert db.session.scalar(select(func.count()).select_from(MaterialFile)) == 2


def test_an_upload_larger_than_the_global_body_limit_is_accepted(app_with: Any, world: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    """The API's upload endpoints get the upload body limit, not the 8 MB limit of other forms."""
    app = app_with(MAX_CONTENT_LENGTH=1024)
    raw = token_for(world["teacher"])
    response = app.test_client().post("/api/v1/materials", data=material_form(pdf_bytes(tmp_path)),
                                      headers=bearer(raw))
    assert response.status_code == 201, response.get_json()
    too_big = app.test_client().patch("/api/v1/materials/1", data="x" * 4096, headers=bearer(raw),
                                      content_type="application/json")
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == 413
