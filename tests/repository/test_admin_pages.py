"""Department pages for units, the account edit page, and rules the imports share with them."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from repository.errors import ImportRejected
from repository.extensions import db
from repository.models import AdminUnit, AuditEvent, School, User
from repository.permissions import SystemActor
from repository.services import imports, schools
from tests.helpers import sign_in


def test_the_department_admin_lists_units_with_their_school_counts(client: Any, world: dict[str, Any]) -> None:
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    html = client.get("/admin/units/").get_data(as_text=True)
    assert "Phường Hoa Lư" in html and "Xã Gia Viễn" in html
    counts = schools.school_counts_by_unit(SystemActor())
    hoa_lu = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "14329"))
    assert counts[hoa_lu.id] == 1  # THCS01; THPT01 stands there but reports to the department
    assert counts[schools.department_unit().id] == 1


def test_the_department_admin_renames_a_unit_and_it_is_audited(client: Any, world: dict[str, Any]) -> None:
    unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "14464"))
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    response = client.post(f"/admin/units/{unit.id}/edit", data={"name": "Xã Gia Viễn mới", "active": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(AdminUnit, unit.id).name == "Xã Gia Viễn mới"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit.updated")) is not None


@pytest.mark.parametrize("name", ["", "x" * 256])
def test_a_bad_unit_name_is_refused_with_a_message(client: Any, world: dict[str, Any], name: str) -> None:
    unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "14464"))
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    response = client.post(f"/admin/units/{unit.id}/edit", data={"name": name})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(AdminUnit, unit.id).name == "Xã Gia Viễn"


def test_a_school_admin_cannot_edit_units(client: Any, world: dict[str, Any]) -> None:
    unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "14464"))
    sign_in(client, "hieutruong@thcs1.ninhbinh.edu.vn")
    assert client.post(f"/admin/units/{unit.id}/edit", data={"name": "X"}).status_code == 403


def test_a_school_admin_edits_their_teachers_details(client: Any, world: dict[str, Any]) -> None:
    teacher = world["teacher"]
    sign_in(client, "hieutruong@thcs1.ninhbinh.edu.vn")
    assert client.get(f"/admin/users/{teacher.id}/edit").status_code == 200
    response = client.post(f"/admin/users/{teacher.id}/edit",
                           data={"full_name": "Nguyễn Thị <b>Mới</b>", "phone": "0912 345 678", "staff_id": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, teacher.id).full_name == "Nguyễn Thị <b>Mới</b>"
    page = client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    assert "&lt;b&gt;Mới&lt;/b&gt;" in page and "<b>Mới</b>" not in page


def test_a_bad_phone_on_the_edit_page_is_a_422_with_its_reason(client: Any, world: dict[str, Any]) -> None:
    teacher = world["teacher"]
    sign_in(client, "hieutruong@thcs1.ninhbinh.edu.vn")
    response = client.post(f"/admin/users/{teacher.id}/edit", data={"full_name": "A", "phone": "gọi tôi"})
    assert response.status_code == 422
    assert "Số điện thoại không hợp lệ" in response.get_data(as_text=True)


def test_a_school_admin_cannot_edit_another_schools_teacher(client: Any, world: dict[str, Any]) -> None:
    sign_in(client, "hieutruong@thcs1.ninhbinh.edu.vn")
    response = client.post(f"/admin/users/{world['teacher2'].id}/edit", data={"full_name": "X"})
    assert response.status_code == 403


def test_an_import_never_moves_a_teacher_to_another_school(world: dict[str, Any]) -> None:
    data = "email,full_name,school_code\ngiaovien@thcs1.ninhbinh.edu.vn,Người teacher,THCS02\n".encode()
    with pytest.raises(ImportRejected) as refused:
        imports.import_users(SystemActor(), data)
    assert refused.value.rows[0][0] == 2
    assert "chuyển trường" in refused.value.rows[0][1]
    db.session.expire_all()
    assert db.session.get(User, world["teacher"].id).school_id == world["thcs1"].id


def test_school_codes_are_one_whatever_their_case(world: dict[str, Any]) -> None:
    result = imports.import_schools(SystemActor(), "code,name,type,unit_code\nthcs01,Trường THCS Hoa Lư,THCS,14329\n".encode())
    assert (result.created, result.unchanged) == (0, 1)
    assert db.session.scalar(select(School).where(School.code == "thcs01")) is None
    assert schools.school_by_code("thcs01").id == world["thcs1"].id
