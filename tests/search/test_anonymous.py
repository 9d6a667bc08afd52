"""Anonymous visitors: published materials under an open licence are found, previewed and
downloaded; nothing else is, and switching ANONYMOUS_ACCESS off closes all of it."""
from __future__ import annotations

from typing import Any

from flask import current_app

from repository.extensions import db
from repository.models import Material
from tests.helpers import sign_in
from tests.repository.test_materials import TEACHER, _make


def _publish(material: Material, licence: str = "CC_BY_4") -> None:
    material.status, material.licence = "published", licence
    db.session.commit()


def _paths(material: Material) -> list[str]:
    stored = material.files[0]
    return [f"/materials/{material.id}/files/{stored.id}/download", f"/materials/{material.id}/files/{stored.id}/preview"]


def test_anonymous_visitors_find_preview_and_download_open_published_materials(client, world, tmp_path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    visitor = current_app.test_client()
    for path in _paths(material):  # a draft: sign in first
        response = visitor.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert visitor.get("/api/v1/materials?q=phuong+trinh").json["total"] == 0
    _publish(material)
    assert visitor.get("/api/v1/materials?q=phuong+trinh").json["total"] == 1
    page = visitor.get("/search?q=phuong+trinh+bac+hai").get_data(as_text=True)
    assert "<mark>Phương</mark> <mark>trình</mark> <mark>bậc</mark> <mark>hai</mark>" in page
    download, preview = (visitor.get(path) for path in _paths(material))
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"


def test_closed_licence_or_switched_off_access_asks_to_sign_in(client, world, tmp_path, app_with) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    _publish(material, licence="ALL_RIGHTS_SCHOOL")
    visitor = current_app.test_client()
    assert visitor.get("/api/v1/materials?q=phuong+trinh").json["total"] == 0
    assert all(visitor.get(path).status_code == 302 for path in _paths(material))
    _publish(material)
    closed = app_with(ANONYMOUS_ACCESS=False, STORAGE_DIR=current_app.config["STORAGE_DIR"])
    with closed.app_context():
        outsider: Any = closed.test_client()
        assert all(outsider.get(path).status_code == 302 for path in _paths(material))
        assert outsider.get("/api/v1/materials").status_code == 401


def test_anonymous_visitors_open_the_material_page_without_its_history(client, world, tmp_path) -> None:
    sign_in(client, TEACHER)
    material = _make(client, tmp_path)
    visitor = current_app.test_client()
    assert visitor.get(f"/materials/{material.id}").status_code == 302
    _publish(material)
    page = visitor.get(f"/materials/{material.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Phương trình bậc hai" in html
    assert f"/materials/{material.id}/files/{material.files[0].id}/download" in html
    assert 'id="history"' not in html and "/review/" not in html


def test_an_id_beyond_the_database_range_is_not_found(client, world) -> None:
    assert client.get("/materials/9223372036854775808").status_code == 404
    assert client.get("/materials/2147483648/files/1/download").status_code == 404
