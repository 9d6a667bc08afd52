"""Accounts managed by administrators: creation, roles, moves, disabling, anonymising, uniqueness."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from repository.errors import PermissionDenied, ValidationError
from repository.extensions import db
from repository.models import (
    AccountToken,
    AuditEvent,
    PasswordHistory,
    Role,
    RoleAssignment,
    User,
    UserSchoolMove,
    UserStatus,
)
from repository.permissions import Grant, SystemActor
from repository.services import accounts, schools, users
from tests.helpers import PASSWORD, sign_in

EMAILS = {
    "dept_admin": "admin@so.ninhbinh.edu.vn",
    "school_admin": "hieutruong@thcs1.ninhbinh.edu.vn",
    "school_admin2": "hieutruong@thcs2.ninhbinh.edu.vn",
    "teacher": "giaovien@thcs1.ninhbinh.edu.vn",
    "teacher2": "giaovien@thcs2.ninhbinh.edu.vn",
}


@pytest.fixture
def web(app: Any) -> Any:
    """The app whose test clients make the HTTP requests (each in its own app context)."""
    return app


def _signed_in(web: Any, key: str) -> Any:
    client = web.test_client()
    response = sign_in(client, EMAILS[key])
    assert response.status_code == 302, f"{key} could not sign in"
    return client


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _roles(user: User) -> set[tuple[str, Any, Any]]:
    db.session.expire_all()
    rows = db.session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == user.id))
    return {(r.role, r.school_id, r.unit_id) for r in rows}


def _count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _new_user_form(**fields: Any) -> dict[str, Any]:
    data = {"email": "moi@thcs1.ninhbinh.edu.vn", "full_name": "Nguyễn Thị Mới", "school_code": "THCS01",
            "unit_code": "", "phone": "", "staff_id": "", "roles": ["teacher"]}
    data.update(fields)
    return data


# --- a school admin manages their own school's accounts ---------------------------------------------

def test_a_school_admin_creates_a_teacher_in_their_school_and_gets_a_one_time_link(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "school_admin")
    form = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="THCS01"' in form  # the admin's school is proposed
    response = client.post("/admin/users/new", data=_new_user_form())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/account/activate/" in page and "moi@thcs1.ninhbinh.edu.vn" in page
    user = _user("moi@thcs1.ninhbinh.edu.vn")
    assert user is not None
    assert user.status == UserStatus.PENDING.value and user.password_hash is None
    assert user.school_id == world["thcs1"].id
    assert _roles(user) == {("teacher", world["thcs1"].id, None)}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.created",
                                                        AuditEvent.target_id == user.id)).one()
    assert event.actor_id == world["school_admin"].id
    # the link works once, for this account
    link = page.split("/account/activate/", 1)[1].split("<", 1)[0].strip()
    anonymous = web.test_client()
    assert anonymous.get(f"/account/activate/{link}").status_code == 200
    done = anonymous.post(f"/account/activate/{link}", data={"new_password": "Hoc-Lieu#2026x",
                                                             "confirm": "Hoc-Lieu#2026x"})
    assert done.status_code == 302
    assert sign_in(web.test_client(), "moi@thcs1.ninhbinh.edu.vn", "Hoc-Lieu#2026x").status_code == 302
    assert anonymous.get(f"/account/activate/{link}").status_code == 404


def test_a_school_admin_cannot_create_an_account_in_another_school(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "school_admin")
    before = _count(User)
    response = client.post("/admin/users/new", data=_new_user_form(email="la@thcs2.ninhbinh.edu.vn",
                                                                   school_code="THCS02"))
    assert response.status_code == 403
    assert "Bạn không có quyền thực hiện thao tác này." in response.get_data(as_text=True)
    assert _user("la@thcs2.ninhbinh.edu.vn") is None and _count(User) == before
    # nor a commune officer, nor a department account
    response = client.post("/admin/users/new", data=_new_user_form(school_code="", unit_code="14329",
                                                                   roles=["unit_officer"]))
    assert response.status_code == 403
    assert _count(User) == before


@pytest.mark.parametrize("roles", [["dept_admin"], ["teacher", "dept_reviewer"], ["school_admin"]])
def test_a_school_admin_cannot_hand_out_roles_above_their_own(web: Any, world: dict[str, Any], roles: list[str]) -> None:
    client = _signed_in(web, "school_admin")
    response = client.post("/admin/users/new", data=_new_user_form(roles=roles))
    assert response.status_code == 403
    assert _user("moi@thcs1.ninhbinh.edu.vn") is None
    teacher = world["teacher"]
    before = _roles(teacher)
    response = client.post(f"/admin/users/{teacher.id}/roles", data={"role-role": roles[-1], "role-scope_code": ""})
    assert response.status_code == 403
    assert _roles(teacher) == before


def test_a_school_admin_makes_a_teacher_a_subject_reviewer(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "school_admin")
    teacher = world["teacher"]
    response = client.post(f"/admin/users/{teacher.id}/roles",
                           data={"role-role": "school_reviewer", "role-scope_code": "",
                                 "role-subjects": ["TOAN", "TIN_HOC"], "role-levels": ["THCS"]})
    assert response.status_code == 302
    db.session.expire_all()
    held = db.session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == teacher.id,
                                                           RoleAssignment.role == "school_reviewer")).one()
    assert held.school_id == world["thcs1"].id and held.unit_id is None
    assert held.subjects == ["TIN_HOC", "TOAN"] and held.levels == ["THCS"]
    assert ("teacher", world["thcs1"].id, None) in _roles(teacher)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "role.granted")).one()
    assert event.target_id == teacher.id and event.details["role"] == "school_reviewer"
    page = client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    assert "TIN_HOC, TOAN" in page
    # granting it again with other subjects replaces the subjects, not the role
    client.post(f"/admin/users/{teacher.id}/roles",
                data={"role-role": "school_reviewer", "role-subjects": ["TOAN"]})
    db.session.expire_all()
    held = db.session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == teacher.id,
                                                           RoleAssignment.role == "school_reviewer")).one()
    assert held.subjects == ["TOAN"]


def test_a_school_admin_revokes_a_reviewer_role_but_not_an_admin_role(web: Any, world: dict[str, Any]) -> None:
    reviewer = world["school_reviewer"]
    held = {r.role: r.id for r in reviewer.roles}
    colleague, _ = users.create_user(SystemActor(), users.UserInput("phohieutruong@thcs1.ninhbinh.edu.vn",
                                                                    "Phó hiệu trưởng", "THCS01", roles=["school_admin"]),
                                     password=PASSWORD)
    colleague_role = colleague.roles[0].id
    client = _signed_in(web, "school_admin")
    response = client.post(f"/admin/users/{reviewer.id}/roles/{held['school_reviewer']}/revoke")
    assert response.status_code == 302
    assert _roles(reviewer) == {("teacher", world["thcs1"].id, None)}
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "role.revoked")).one().target_id == reviewer.id
    response = client.post(f"/admin/users/{colleague.id}/roles/{colleague_role}/revoke")
    assert response.status_code == 403
    assert _roles(colleague) == {("school_admin", world["thcs1"].id, None)}
    # a role id that belongs to someone else is not found on this account
    other_role = world["teacher2"].roles[0].id
    assert client.post(f"/admin/users/{reviewer.id}/roles/{other_role}/revoke").status_code == 404
    assert _roles(world["teacher2"]) == {("teacher", world["thcs2"].id, None)}

def test_a_school_admin_cannot_grant_a_role_at_another_school(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "school_admin")
    teacher = world["teacher"]
    response = client.post(f"/admin/users/{teacher.id}/roles",
                           data={"role-role": "school_reviewer", "role-scope_code": "THCS02"})
    assert response.status_code == 403
    assert _roles(teacher) == {("teacher", world["thcs1"].id, None)}


def test_a_school_admin_cannot_see_or_touch_another_schools_account(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "school_admin")
    other = world["teacher2"]
    assert client.get(f"/admin/users/{other.id}").status_code == 403
    assert client.post(f"/admin/users/{other.id}/roles",
                       data={"role-role": "school_reviewer", "role-scope_code": "THCS02"}).status_code == 403
    assert client.post(f"/admin/users/{other.id}/disable", data={"disable": "1"}).status_code == 403
    assert client.post(f"/admin/users/{other.id}/anonymise").status_code == 403
    assert client.post(f"/admin/users/{other.id}/reset").status_code == 403
    db.session.expire_all()
    other = db.session.get(User, other.id)
    assert other.status == UserStatus.ACTIVE.value and other.email == EMAILS["teacher2"]
    assert _roles(other) == {("teacher", world["thcs2"].id, None)}
    with pytest.raises(PermissionDenied):
        users.update_user(world["school_admin"], other, full_name="Đổi tên")
    listed = client.get("/admin/users").get_data(as_text=True)
    assert EMAILS["teacher"] in listed and EMAILS["teacher2"] not in listed


def test_teachers_do_not_reach_the_account_pages(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "teacher")
    assert client.get("/admin/users").status_code == 403
    assert client.get(f"/admin/users/{world['teacher'].id}").status_code == 403
    assert client.post("/admin/users/new", data=_new_user_form()).status_code == 403
    assert _user("moi@thcs1.ninhbinh.edu.vn") is None


# --- moving a teacher to another school -----------------------------------------------------------

def test_the_department_admin_moves_a_teacher_with_their_roles(web: Any, world: dict[str, Any]) -> None:
    admin = _signed_in(web, "dept_admin")
    teacher = world["teacher"]
    thcs1, thcs2 = world["thcs1"].id, world["thcs2"].id
    assert "move-school_code" in admin.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    response = admin.post(f"/admin/users/{teacher.id}/move", data={"move-school_code": "THCS02"})
    assert response.status_code == 302
    moved = _user(EMAILS["teacher"])
    assert moved.school_id == thcs2
    assert _roles(moved) == {("teacher", thcs2, None)}
    move = db.session.scalars(select(UserSchoolMove).where(UserSchoolMove.user_id == moved.id)).one()
    assert (move.from_school_id, move.to_school_id, move.actor_id) == (thcs1, thcs2, world["dept_admin"].id)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.moved")).one()
    assert event.target_id == moved.id and event.actor_id == world["dept_admin"].id
    assert (event.details["from_school"], event.details["to_school"]) == (thcs1, thcs2)
    # the account now belongs to the other school's admin
    assert _signed_in(web, "school_admin").get(f"/admin/users/{moved.id}").status_code == 403
    assert _signed_in(web, "school_admin2").get(f"/admin/users/{moved.id}").status_code == 200
    # and the teacher sees their new school
    teacher_client = _signed_in(web, "teacher")
    assert teacher_client.get(f"/schools/{thcs2}").status_code == 200
    assert teacher_client.get(f"/schools/{thcs1}").status_code == 403


def test_a_moved_reviewer_keeps_no_role_at_the_old_school(world: dict[str, Any]) -> None:
    reviewer = world["school_reviewer"]
    users.move_user(world["dept_admin"], reviewer, world["thcs2"])
    assert {school for _r, school, _u in _roles(reviewer)} == {world["thcs2"].id}


@pytest.mark.parametrize("code", ["THCS01", "KHONGCO"])
def test_a_move_to_the_same_or_an_unknown_school_is_refused(web: Any, world: dict[str, Any], code: str) -> None:
    admin = _signed_in(web, "dept_admin")
    response = admin.post(f"/admin/users/{world['teacher'].id}/move", data={"move-school_code": code})
    assert response.status_code == 422
    assert _count(UserSchoolMove) == 0 and _user(EMAILS["teacher"]).school_id == world["thcs1"].id


def test_a_move_into_a_closed_school_is_refused(world: dict[str, Any]) -> None:
    schools.merge_school(world["dept_admin"], world["thcs2"], world["thpt"])
    with pytest.raises(ValidationError):
        users.move_user(world["dept_admin"], world["teacher"], world["thcs2"])
    db.session.rollback()
    assert _count(UserSchoolMove) == 0


def test_a_school_admin_cannot_move_a_teacher(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "school_admin")
    teacher = world["teacher"]
    assert "move-school_code" not in client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    response = client.post(f"/admin/users/{teacher.id}/move", data={"move-school_code": "THCS02"})
    assert response.status_code == 403
    assert _user(EMAILS["teacher"]).school_id == world["thcs1"].id
    assert _roles(teacher) == {("teacher", world["thcs1"].id, None)}
    assert _count(UserSchoolMove) == 0


# --- disabling --------------------------------------------------------------------------------------

def test_disabling_signs_the_person_out_and_blocks_sign_in_until_enabled(web: Any, world: dict[str, Any]) -> None:
    teacher_client = _signed_in(web, "teacher")
    assert teacher_client.get("/schools").status_code == 200
    admin = _signed_in(web, "school_admin")
    teacher_id = world["teacher"].id
    assert admin.post(f"/admin/users/{teacher_id}/disable", data={"disable": "1"}).status_code == 302
    assert _user(EMAILS["teacher"]).status == UserStatus.DISABLED.value

    response = teacher_client.get("/schools")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert sign_in(web.test_client(), EMAILS["teacher"]).status_code == 401

    assert admin.post(f"/admin/users/{teacher_id}/disable", data={"disable": "0"}).status_code == 302
    assert _user(EMAILS["teacher"]).status == UserStatus.ACTIVE.value
    again = web.test_client()
    assert sign_in(again, EMAILS["teacher"]).status_code == 302
    assert again.get("/schools").status_code == 200
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == teacher_id,
                                                                      AuditEvent.action.like("user.%"))
                                      .order_by(AuditEvent.id)))
    assert actions[-2:] == ["user.disabled", "user.enabled"]


def test_enabling_an_account_that_never_set_a_password_leaves_it_pending(world: dict[str, Any]) -> None:
    user, _link = users.create_user(world["school_admin"], users.UserInput("cho@thcs1.ninhbinh.edu.vn", "Chờ",
                                                                          "THCS01"))
    users.set_disabled(world["school_admin"], user, True)
    users.set_disabled(world["school_admin"], user, False)
    assert _user("cho@thcs1.ninhbinh.edu.vn").status == UserStatus.PENDING.value


@pytest.mark.parametrize("key", ["dept_admin", "school_admin"])
def test_nobody_disables_or_anonymises_themselves(web: Any, world: dict[str, Any], key: str) -> None:
    client = _signed_in(web, key)
    me = world[key]
    assert client.post(f"/admin/users/{me.id}/disable", data={"disable": "1"}).status_code == 403
    assert client.post(f"/admin/users/{me.id}/anonymise").status_code == 403
    mine = _user(EMAILS[key])
    assert mine.status == UserStatus.ACTIVE.value and mine.email == EMAILS[key]
    assert client.get("/admin/").status_code == 200  # still signed in
    with pytest.raises(PermissionDenied):
        users.set_disabled(me, me, True)
    with pytest.raises(PermissionDenied):
        users.anonymise_user(me, me)


# --- anonymising ------------------------------------------------------------------------------------

def test_anonymising_erases_the_person_but_keeps_the_schools_credit(web: Any, world: dict[str, Any]) -> None:
    teacher = world["teacher"]
    users.update_user(world["school_admin"], teacher, full_name="Phạm Văn Giáo", phone="0912 345 678",
                      staff_id="GV-0001")
    accounts.admin_reset(world["school_admin"], teacher)  # leaves a one-time token behind
    assert _count(AccountToken, AccountToken.user_id == teacher.id) == 1
    assert _count(PasswordHistory, PasswordHistory.user_id == teacher.id) >= 1

    admin = _signed_in(web, "school_admin")
    assert admin.post(f"/admin/users/{teacher.id}/anonymise").status_code == 302

    db.session.expire_all()
    row = db.session.get(User, teacher.id)
    assert row is not None  # the row stays ...
    assert row.school_id == world["thcs1"].id  # ... credited to its school
    assert row.status == UserStatus.ANONYMISED.value
    assert EMAILS["teacher"] != row.email and "giaovien" not in row.email
    assert "Phạm Văn Giáo" not in row.full_name
    assert row.phone is None and row.staff_id is None and row.password_hash is None
    assert _roles(row) == set()
    assert _count(AccountToken, AccountToken.user_id == teacher.id) == 0
    assert _count(PasswordHistory, PasswordHistory.user_id == teacher.id) == 0
    assert _user(EMAILS["teacher"]) is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.anonymised")).one()
    assert event.target_id == teacher.id and "giaovien" not in str(event.details)

    assert sign_in(web.test_client(), EMAILS["teacher"]).status_code == 401
    assert sign_in(web.test_client(), row.email).status_code == 401
    # the e-mail and staff id are free for someone else
    users.create_user(SystemActor(), users.UserInput(EMAILS["teacher"], "Người mới", "THCS01", staff_id="GV-0001"))


def test_an_anonymised_account_cannot_be_edited_any_further(web: Any, world: dict[str, Any]) -> None:
    teacher = world["teacher"]
    users.anonymise_user(world["school_admin"], teacher)
    db.session.expire_all()
    row = db.session.get(User, teacher.id)
    snapshot = (row.email, row.full_name, row.phone, row.staff_id, row.school_id, row.status)

    for actor in (world["school_admin"], world["dept_admin"]):
        with pytest.raises(ValidationError):
            users.update_user(actor, row, full_name="Tên thật", phone="0912345678", staff_id="GV-9")
        db.session.rollback()
        with pytest.raises(ValidationError):
            users.grant_role(actor, row, Grant(Role.TEACHER, school_id=world["thcs1"].id))
        db.session.rollback()
        with pytest.raises(ValidationError):
            users.set_disabled(actor, row, False)
        db.session.rollback()
        with pytest.raises(ValidationError):
            users.anonymise_user(actor, row)
        db.session.rollback()
        with pytest.raises(ValidationError):
            accounts.admin_reset(actor, row)
        db.session.rollback()
    with pytest.raises(ValidationError):
        users.move_user(world["dept_admin"], row, world["thcs2"])
    db.session.rollback()

    client = _signed_in(web, "school_admin")
    assert client.get(f"/admin/users/{row.id}").status_code == 200
    assert client.post(f"/admin/users/{row.id}/roles", data={"role-role": "teacher"}).status_code == 422
    assert client.post(f"/admin/users/{row.id}/disable", data={"disable": "0"}).status_code == 422
    assert client.post(f"/admin/users/{row.id}/anonymise").status_code == 422
    dept = _signed_in(web, "dept_admin")
    assert dept.post(f"/admin/users/{row.id}/move", data={"move-school_code": "THCS02"}).status_code == 422

    db.session.expire_all()
    row = db.session.get(User, teacher.id)
    assert (row.email, row.full_name, row.phone, row.staff_id, row.school_id, row.status) == snapshot
    assert _roles(row) == set()
    assert _count(UserSchoolMove) == 0


# --- uniqueness ------------------------------------------------------------------------------------

def test_an_email_belongs_to_one_account_whatever_its_case(web: Any, world: dict[str, Any]) -> None:
    system = SystemActor()
    user, _ = users.create_user(system, users.UserInput("Upper@X.vn", "Chữ Hoa", "THCS01"), password=PASSWORD)
    assert user.email == "upper@x.vn"
    for variant in ("upper@x.vn", "UPPER@X.VN", " Upper@x.Vn "):
        with pytest.raises(ValidationError) as caught:
            users.create_user(system, users.UserInput(variant, "Người khác", "THCS02"))
        assert "email" in caught.value.field_errors
        db.session.rollback()
    assert _count(User, func.lower(User.email) == "upper@x.vn") == 1
    assert sign_in(web.test_client(), "UPPER@X.VN").status_code == 302
    assert sign_in(web.test_client(), "upper@x.vn").status_code == 302


def test_a_duplicate_email_on_the_page_is_a_message_not_a_crash(web: Any, world: dict[str, Any]) -> None:
    client = _signed_in(web, "dept_admin")
    before = _count(User)
    response = client.post("/admin/users/new", data=_new_user_form(email="GiaoVien@THCS1.NinhBinh.edu.vn"))
    assert response.status_code == 422
    assert "E-mail giaovien@thcs1.ninhbinh.edu.vn đã được dùng cho tài khoản khác." in response.get_data(as_text=True)
    assert _count(User) == before


def test_a_staff_id_belongs_to_one_account(web: Any, world: dict[str, Any]) -> None:
    users.update_user(world["dept_admin"], world["teacher"], full_name="Người teacher", staff_id="GV-0001")
    client = _signed_in(web, "dept_admin")
    before = _count(User)
    response = client.post("/admin/users/new", data=_new_user_form(staff_id="GV-0001"))
    assert response.status_code == 422
    assert "Mã định danh GV-0001 đã được dùng." in response.get_data(as_text=True)
    assert _count(User) == before
    with pytest.raises(ValidationError) as caught:
        users.update_user(world["dept_admin"], world["teacher2"], full_name="Người teacher2", staff_id="GV-0001")
    assert "staff_id" in caught.value.field_errors
    db.session.rollback()
    assert _user(EMAILS["teacher2"]).staff_id is None
    # the person keeps their own staff id when their other data change
    users.update_user(world["dept_admin"], world["teacher"], full_name="Tên mới", staff_id="GV-0001")
    assert _user(EMAILS["teacher"]).full_name == "Tên mới"


def test_the_database_itself_refuses_duplicate_emails_and_staff_ids(world: dict[str, Any]) -> None:
    """The service checks give the message; the unique constraints keep the rule under any race."""
    for field, value in (("email", EMAILS["teacher"]), ("staff_id", "GV-DUP")):
        if field == "staff_id":
            world["teacher"].staff_id = "GV-DUP"
            db.session.commit()
        values = {"email": "khac@thcs2.ninhbinh.edu.vn", "full_name": "Khác", "status": "active",
                  "session_token": "x", "must_change_password": False, field: value}
        db.session.add(User(**values))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
