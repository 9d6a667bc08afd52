"""Schools: who they report to, which grades they teach, merges, who sees them, and their admin pages."""
from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from repository.errors import NotFound, PermissionDenied, ValidationError
from repository.extensions import db
from repository.models import AdminUnit, AuditEvent, School, SchoolEvent, UnitKind
from repository.permissions import SystemActor
from repository.services import schools
from tests.helpers import sign_in

EMAILS = {
    "teacher": "giaovien@thcs1.ninhbinh.edu.vn",
    "teacher2": "giaovien@thcs2.ninhbinh.edu.vn",
    "unit_officer": "canbo@hoalu.ninhbinh.edu.vn",
    "school_admin": "hieutruong@thcs1.ninhbinh.edu.vn",
    "dept_admin": "admin@so.ninhbinh.edu.vn",
    "dept_reviewer": "duyet@so.ninhbinh.edu.vn",
}


@pytest.fixture
def web(app: Any) -> Any:
    """The app whose test clients make the HTTP requests (each in its own app context)."""
    return app


def _events(school: School) -> list[tuple[str, Any, Any]]:
    rows = db.session.scalars(select(SchoolEvent).where(SchoolEvent.school_id == school.id).order_by(SchoolEvent.id))
    return [(e.kind, e.old_value, e.new_value) for e in rows]


def _input(school: School, **changes: Any) -> schools.SchoolInput:
    values = {"code": school.code, "name": school.name, "school_type": school.school_type,
              "unit_code": school.unit.code, "grades": school.grades_override, "active": school.active}
    values.update(changes)
    return schools.SchoolInput(**values)


def _signed_in(web: Any, key: str) -> Any:
    client = web.test_client()
    response = sign_in(client, EMAILS[key])
    assert response.status_code == 302, f"{key} could not sign in"
    return client


# --- reporting line --------------------------------------------------------------------------------

def test_a_lower_secondary_school_reports_to_its_commune_or_ward(world: dict[str, Any]) -> None:
    thcs1, thcs2 = world["thcs1"], world["thcs2"]
    assert thcs1.unit.code == "14329" and thcs1.reports_to.code == "14329"
    assert thcs2.unit.code == "14464" and thcs2.reports_to.code == "14464"


def test_an_upper_secondary_school_reports_to_the_department(world: dict[str, Any]) -> None:
    thpt = world["thpt"]
    assert thpt.unit.code == "14329"  # it stands in the ward ...
    assert thpt.reports_to.code == "SO_GDDT"  # ... but reports to the department
    assert thpt.reports_to.kind == UnitKind.DEPARTMENT.value
    assert thpt.reports_to.name == "Sở Giáo dục và Đào tạo tỉnh Ninh Bình"


def test_the_department_unit_code_comes_from_configuration(database_url: str) -> None:
    from tests.conftest import make_app

    other = make_app(database_url, DEPARTMENT_UNIT_CODE="SGDDT37", DEPARTMENT_NAME="Sở GDĐT thử nghiệm")
    with other.app_context():
        try:
            db.session.add(AdminUnit(code="14329", name="Phường Hoa Lư", kind="ward", province_code=37))
            db.session.commit()
            school = schools.save_school(SystemActor(), None,
                                         schools.SchoolInput("THPT09", "Trường THPT Thử", "THPT", "14329"))
            assert school.reports_to.code == "SGDDT37"
            assert school.reports_to.name == "Sở GDĐT thử nghiệm"
            assert db.session.scalar(select(func.count()).select_from(AdminUnit)
                                     .where(AdminUnit.kind == UnitKind.DEPARTMENT.value)) == 1
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_department_itself_is_not_a_place_a_school_can_stand(world: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        schools.save_school(SystemActor(), None, schools.SchoolInput("THCS09", "Trường X", "THCS", "SO_GDDT"))
    assert "unit_code" in caught.value.field_errors
    assert schools.school_by_code("THCS09") is None


def test_changing_the_type_re_derives_the_reporting_line_and_writes_history(world: dict[str, Any]) -> None:
    admin = world["dept_admin"]
    school = world["thcs1"]
    schools.save_school(admin, school.id, _input(school, school_type="THPT"))
    db.session.refresh(school)
    assert school.school_type == "THPT"
    assert school.reports_to.code == "SO_GDDT"
    assert ("school_type_changed", "THCS", "THPT") in _events(school)
    event = db.session.scalars(select(SchoolEvent).where(SchoolEvent.kind == "school_type_changed")).one()
    assert event.actor_id == admin.id
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "school.updated")).all()
    assert [a.target_id for a in audit] == [school.id]
    assert "school_type" in audit[0].details["fields"] and "reports_to_id" in audit[0].details["fields"]

    schools.save_school(admin, school.id, _input(school, school_type="THCS"))
    db.session.refresh(school)
    assert school.reports_to.code == "14329"
    assert ("school_type_changed", "THPT", "THCS") in _events(school)


def test_moving_a_school_to_another_commune_moves_its_reporting_line(world: dict[str, Any]) -> None:
    school = world["thcs1"]
    schools.save_school(world["dept_admin"], school.id, _input(school, unit_code="14464"))
    db.session.refresh(school)
    assert school.unit.code == "14464" and school.reports_to.code == "14464"
    kinds = [k for k, _old, _new in _events(school)]
    assert "unit_id_changed" in kinds


def test_saving_unchanged_data_writes_no_history(world: dict[str, Any]) -> None:
    school = world["thcs1"]
    before = _events(school)
    schools.save_school(world["dept_admin"], school.id, _input(school))
    assert _events(school) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "school.updated")) == 0


def test_the_code_of_an_existing_school_is_fixed(world: dict[str, Any]) -> None:
    school = world["thcs1"]
    schools.save_school(world["dept_admin"], school.id, _input(school, code="NEWCODE", name="Tên mới"))
    db.session.refresh(school)
    assert school.code == "THCS01" and school.name == "Tên mới"
    assert ("name_changed", "Trường THCS Hoa Lư", "Tên mới") in _events(school)


# --- grades ---------------------------------------------------------------------------------------

def test_grades_follow_the_school_type_unless_overridden(world: dict[str, Any]) -> None:
    assert schools.effective_grades(world["thcs1"]) == ["6", "7", "8", "9"]
    assert schools.effective_grades(world["thpt"]) == ["10", "11", "12"]
    school = world["thcs2"]
    schools.save_school(world["dept_admin"], school.id, _input(school, grades=["9", "6", "6"]))
    db.session.refresh(school)
    assert school.grades_override == ["6", "9"]  # ordered, without repeats
    assert schools.effective_grades(school) == ["6", "9"]
    schools.save_school(world["dept_admin"], school.id, _input(school, grades=None))
    db.session.refresh(school)
    assert schools.effective_grades(school) == ["6", "7", "8", "9"]


def test_a_bad_grade_code_is_refused_and_nothing_changes(world: dict[str, Any]) -> None:
    school = world["thcs1"]
    with pytest.raises(ValidationError) as caught:
        schools.save_school(world["dept_admin"], school.id, _input(school, grades=["6", "13"]))
    assert "grades" in caught.value.field_errors
    assert "13" in str(caught.value.field_errors["grades"][0])
    db.session.rollback()
    db.session.refresh(school)
    assert school.grades_override is None
    assert schools.effective_grades(school) == ["6", "7", "8", "9"]


def test_the_school_page_shows_the_effective_grades(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "teacher")
    page = client.get(f"/schools/{world['thcs1'].id}").get_data(as_text=True)
    assert "6, 7, 8, 9" in page


@pytest.mark.parametrize("bad", [{"school_type": "KHONG_CO"}, {"unit_code": "99999"}, {"code": "THCS 01"},
                                 {"name": "  "}])
def test_invalid_school_fields_are_refused(world: dict[str, Any], bad: dict[str, str]) -> None:
    data = schools.SchoolInput(**{"code": "THCS05", "name": "Trường THCS Mới", "school_type": "THCS",
                                  "unit_code": "14329", **bad})
    with pytest.raises(ValidationError):
        schools.save_school(world["dept_admin"], None, data)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(School)) == 3


# --- merges ---------------------------------------------------------------------------------------

def test_merging_a_school_keeps_it_as_an_inactive_pointer_to_its_successor(world: dict[str, Any]) -> None:
    old, successor = world["thcs2"], world["thcs1"]
    schools.merge_school(world["dept_admin"], old, successor)
    db.session.expire_all()
    old, successor = db.session.get(School, old.id), db.session.get(School, successor.id)
    assert old.active is False
    assert old.successor_id == successor.id and old.merged_at is not None
    assert successor.active is True and successor.successor_id is None
    assert ("merged", "THCS02", "THCS01") in _events(old)
    assert ("absorbed", "THCS02", "THCS01") in _events(successor)
    # the merged school's people stay where they were: nothing is deleted
    assert world["teacher2"].school_id == old.id
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "school.merged")).one()
    assert audit.target_id == old.id and audit.details["successor"] == "THCS01"


def test_a_school_cannot_merge_into_itself(world: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        schools.merge_school(world["dept_admin"], world["thcs1"], world["thcs1"])
    db.session.rollback()
    assert world["thcs1"].active is True and world["thcs1"].successor_id is None


def test_a_school_cannot_merge_into_an_inactive_school(world: dict[str, Any]) -> None:
    admin = world["dept_admin"]
    schools.save_school(admin, world["thpt"].id, _input(world["thpt"], active=False))
    with pytest.raises(ValidationError):
        schools.merge_school(admin, world["thcs1"], world["thpt"])
    db.session.rollback()
    db.session.refresh(world["thcs1"])
    assert world["thcs1"].active is True and world["thcs1"].successor_id is None


def test_a_school_cannot_be_merged_twice(world: dict[str, Any]) -> None:
    admin = world["dept_admin"]
    schools.merge_school(admin, world["thcs2"], world["thcs1"])
    with pytest.raises(ValidationError):
        schools.merge_school(admin, world["thcs2"], world["thpt"])
    db.session.rollback()
    db.session.refresh(world["thcs2"])
    assert world["thcs2"].successor_id == world["thcs1"].id
    assert [k for k, _o, _n in _events(world["thcs2"])].count("merged") == 1


def test_merging_into_a_merged_school_is_refused(world: dict[str, Any]) -> None:
    admin = world["dept_admin"]
    schools.merge_school(admin, world["thcs2"], world["thcs1"])
    with pytest.raises(ValidationError):
        schools.merge_school(admin, world["thpt"], world["thcs2"])


def test_only_the_department_admin_merges(world: dict[str, Any]) -> None:
    for key in ("school_admin", "dept_reviewer", "unit_officer"):
        with pytest.raises(PermissionDenied):
            schools.merge_school(world[key], world["thcs2"], world["thcs1"])
    db.session.rollback()
    assert world["thcs2"].active is True


def test_merge_page(web: Any, world: dict[str, Any]) -> None:
    admin = _signed_in(web, "dept_admin")
    school_id = world["thcs2"].id
    response = admin.post(f"/admin/schools/{school_id}/merge", data={"successor_code": "KHONGCO"})
    assert response.status_code == 422
    assert "KHONGCO" in response.get_data(as_text=True)
    response = admin.post(f"/admin/schools/{school_id}/merge", data={"successor_code": "THCS01"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(School, school_id).successor_id == world["thcs1"].id
    page = admin.get(f"/schools/{school_id}").get_data(as_text=True)
    assert "Ngừng hoạt động" in page
    assert f'href="/schools/{world["thcs1"].id}">Trường THCS Hoa Lư</a>' in page  # points to its successor

    school_admin = _signed_in(web, "school_admin")
    assert school_admin.get(f"/admin/schools/{world['thcs1'].id}/merge").status_code == 403
    assert school_admin.post(f"/admin/schools/{world['thcs1'].id}/merge",
                             data={"successor_code": "THPT01"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(School, world["thcs1"].id).active is True


# --- who sees which school --------------------------------------------------------------------------

def _codes_on(client: Any, path: str = "/schools") -> set[str]:
    response = client.get(path)
    assert response.status_code == 200
    return set(re.findall(r"<td>(THCS0\d|THPT0\d)</td>", response.get_data(as_text=True)))


def test_the_commune_officer_sees_the_schools_located_in_their_ward(web: Any, world: dict[str, Any]) -> None:
    officer = _signed_in(web, "unit_officer")
    assert _codes_on(officer) == {"THCS01", "THPT01"}
    assert officer.get(f"/schools/{world['thcs1'].id}").status_code == 200
    assert officer.get(f"/schools/{world['thpt'].id}").status_code == 200
    assert officer.get(f"/schools/{world['thcs2'].id}").status_code == 403
    assert {s.code for s in schools.list_schools(world["unit_officer"])} == {"THCS01", "THPT01"}


def test_a_teacher_sees_only_their_school(web: Any, world: dict[str, Any]) -> None:
    teacher = _signed_in(web, "teacher")
    assert _codes_on(teacher) == {"THCS01"}
    assert teacher.get(f"/schools/{world['thcs1'].id}").status_code == 200
    assert teacher.get(f"/schools/{world['thpt'].id}").status_code == 403
    assert teacher.get(f"/schools/{world['thcs2'].id}").status_code == 403
    other = _signed_in(web, "teacher2")
    assert _codes_on(other) == {"THCS02"}


@pytest.mark.parametrize("key", ["dept_admin", "dept_reviewer"])
def test_department_staff_see_every_school(web: Any, world: dict[str, Any], key: str) -> None:
    client = _signed_in(web, key)
    assert _codes_on(client) == {"THCS01", "THCS02", "THPT01"}
    for school in ("thcs1", "thcs2", "thpt"):
        assert client.get(f"/schools/{world[school].id}").status_code == 200


def test_the_school_list_search_stays_inside_what_the_person_may_see(web: Any, world: dict[str, Any]) -> None:
    teacher = _signed_in(web, "teacher")
    assert _codes_on(teacher, "/schools?q=THCS02") == set()
    assert _codes_on(teacher, "/schools?q=Hoa") == {"THCS01"}


def test_the_school_list_needs_sign_in(web: Any, world: dict[str, Any]) -> None:
    _signed_in(web, "dept_admin")  # someone else's session must not leak into this client
    client = web.test_client()
    response = client.get("/schools")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(f"/schools/{world['thcs1'].id}").status_code == 302


def test_an_unknown_school_is_404(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "dept_admin")
    assert client.get("/schools/999999").status_code == 404
    with pytest.raises(NotFound):
        schools.get_school(world["dept_admin"], 999999)


def test_school_history_is_shown_only_to_those_who_see_the_school(world: dict[str, Any]) -> None:
    assert [e.kind for e in schools.school_history(world["teacher"], world["thcs1"])] == ["created"]
    with pytest.raises(PermissionDenied):
        schools.school_history(world["teacher"], world["thcs2"])


# --- admin pages ---------------------------------------------------------------------------------

def test_the_department_admin_creates_and_edits_a_school_through_the_pages(web: Any, world: dict[str, Any]) -> None:
    admin = _signed_in(web, "dept_admin")
    assert admin.get("/admin/schools/new").status_code == 200
    response = admin.post("/admin/schools/new", data={"code": "THCS03", "name": "Trường THCS Ninh Hải",
                                                      "school_type": "THCS", "unit_code": "14464", "active": "y"})
    assert response.status_code == 302
    school = schools.school_by_code("THCS03")
    assert school is not None and response.headers["Location"].endswith(f"/schools/{school.id}")
    assert school.name == "Trường THCS Ninh Hải" and school.active is True
    assert school.unit.code == "14464" and school.reports_to.code == "14464"
    assert school.grades_override is None
    assert _events(school)[0][0] == "created"

    page = admin.get(f"/admin/schools/{school.id}/edit").get_data(as_text=True)
    assert "Trường THCS Ninh Hải" in page
    response = admin.post(f"/admin/schools/{school.id}/edit",
                          data={"code": "THCS03", "name": "Trường THCS Ninh Hải A", "school_type": "THCS",
                                "unit_code": "14464", "grades": ["8", "9"], "active": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    school = schools.school_by_code("THCS03")
    assert school.name == "Trường THCS Ninh Hải A"
    assert schools.effective_grades(school) == ["8", "9"]
    assert ("name_changed", "Trường THCS Ninh Hải", "Trường THCS Ninh Hải A") in _events(school)
    detail = admin.get(f"/schools/{school.id}").get_data(as_text=True)
    assert "Trường THCS Ninh Hải A" in detail and "8, 9" in detail


def test_a_duplicate_school_code_is_refused_with_a_message(web: Any, world: dict[str, Any]) -> None:
    admin = _signed_in(web, "dept_admin")
    response = admin.post("/admin/schools/new", data={"code": "THCS01", "name": "Trường trùng mã",
                                                      "school_type": "THCS", "unit_code": "14464", "active": "y"})
    assert response.status_code == 422
    assert "Mã trường THCS01 đã tồn tại." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(School)) == 3
    assert schools.school_by_code("THCS01").name == "Trường THCS Hoa Lư"


def test_a_bad_form_is_422_not_500(web: Any, world: dict[str, Any]) -> None:
    admin = _signed_in(web, "dept_admin")
    response = admin.post("/admin/schools/new", data={"code": "THCS07", "name": "Trường X",
                                                      "school_type": "THCS", "unit_code": "14464",
                                                      "grades": ["13"], "active": "y"})
    assert response.status_code == 422
    response = admin.post("/admin/schools/new", data={"code": "THCS 07", "name": "Trường X",
                                                      "school_type": "THCS", "unit_code": "14464", "active": "y"})
    assert response.status_code == 422
    assert schools.school_by_code("THCS07") is None


@pytest.mark.parametrize("key", ["school_admin", "teacher", "unit_officer", "dept_reviewer"])
def test_only_the_department_admin_reaches_the_school_admin_pages(web: Any, world: dict[str, Any], key: str) -> None:
    client = _signed_in(web, key)
    school_id = world["thcs1"].id
    assert client.get("/admin/schools/new").status_code == 403
    assert client.get(f"/admin/schools/{school_id}/edit").status_code == 403
    assert client.get("/admin/schools").status_code == 403
    response = client.post("/admin/schools/new", data={"code": "THCS08", "name": "Trường Y", "school_type": "THCS",
                                                       "unit_code": "14329", "active": "y"})
    assert response.status_code == 403
    response = client.post(f"/admin/schools/{school_id}/edit",
                           data={"code": "THCS01", "name": "Đổi tên trái phép", "school_type": "THCS",
                                 "unit_code": "14329", "active": "y"})
    assert response.status_code == 403
    db.session.expire_all()
    assert schools.school_by_code("THCS08") is None
    assert schools.school_by_code("THCS01").name == "Trường THCS Hoa Lư"


def test_the_school_page_offers_edit_only_to_the_department_admin(web: Any, world: dict[str, Any]) -> None:
    edit_link = f"/admin/schools/{world['thcs1'].id}/edit"
    assert edit_link in _signed_in(web, "dept_admin").get(f"/schools/{world['thcs1'].id}").get_data(as_text=True)
    assert edit_link not in _signed_in(web, "school_admin").get(f"/schools/{world['thcs1'].id}").get_data(as_text=True)
