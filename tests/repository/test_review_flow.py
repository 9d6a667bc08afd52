"""The review workflow as people use it through the web: the whole happy path, and every
forbidden path (own material, other school, wrong subject, wrong state, forged posts) refused with
403/409 and the state unchanged."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from repository import demo_files
from repository.extensions import db
from repository.models import AuditEvent, Material, ReviewDecision, RoleAssignment
from repository.services import review
from tests.helpers import csrf_token
from tests.repository.review_support import DEPT_ADMIN, DEPT_REVIEWER, REVIEWER, SCHOOL_ADMIN, SCHOOL_ADMIN2, TEACHER, TEACHER2, make_material, published, school_approved, signed_in, status_of, submitted




def _upload(client: Any, tmp_path: Path) -> int:
    data = demo_files.pdf_file(tmp_path / "lesson.pdf", "Hàm số bậc nhất", ["Bài 1", "Bài 2"]).read_bytes()
    form = {"title": "Hàm số bậc nhất", "subject": "TOAN", "grades": ["9"], "material_type": "BAI_GIANG_DIEN_TU",
            "licence": "CC_BY_4", "language": "vi", "series": "", "topic": "", "description": "",
            "files": (io.BytesIO(data), "ham-so.pdf")}
    response = client.post("/materials/new", data=form)
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _act(client: Any, material_id: int, action: str, **form: Any) -> Any:
    return client.post(f"/review/{material_id}/act/{action}", data=form)


def _review_flow_until_published(app: Any, world: dict[str, Any], tmp_path: Path) -> int:
    """Teacher submits -> school reviewer requests changes -> teacher edits and resubmits -> school
    approves -> department publishes; every step through the pages."""
    teacher, reviewer, dept = signed_in(app, TEACHER), signed_in(app, REVIEWER), signed_in(app, DEPT_REVIEWER)
    material_id = _upload(teacher, tmp_path)
    page = teacher.get(f"/materials/{material_id}").get_data(as_text=True)
    assert f"/review/{material_id}/act/submit" in page  # the submit button is offered to the author
    assert _act(teacher, material_id, "submit").status_code == 303
    assert status_of(material_id) == "submitted"

    queue = reviewer.get("/review/").get_data(as_text=True)
    assert "Hàm số bậc nhất" in queue
    item = reviewer.get(f"/review/{material_id}").get_data(as_text=True)
    assert "Phù hợp chương trình GDPT 2018" in item  # the checklist
    assert _act(reviewer, material_id, "request_changes", reason="Thiếu phần luyện tập", next="review",
                checklist=["Nội dung chính xác"]).status_code == 303
    assert status_of(material_id) == "changes_requested"

    edit = {"title": "Hàm số bậc nhất (có luyện tập)", "subject": "TOAN", "grades": ["9"],
            "material_type": "BAI_GIANG_DIEN_TU", "licence": "CC_BY_4", "language": "vi", "series": "", "topic": "",
            "description": "Thêm phần luyện tập"}
    assert teacher.post(f"/materials/{material_id}/edit", data=edit).status_code == 302
    assert _act(teacher, material_id, "submit").status_code == 303
    assert status_of(material_id) == "submitted"

    assert _act(reviewer, material_id, "school_approve", reason="Đạt").status_code == 303
    assert status_of(material_id) == "school_approved"
    assert "Hàm số bậc nhất (có luyện tập)" in dept.get("/review/").get_data(as_text=True)
    assert _act(dept, material_id, "publish").status_code == 303
    assert status_of(material_id) == "published"
    return material_id


def test_the_whole_flow_through_the_web(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material_id = _review_flow_until_published(app, world, tmp_path)
    material = db.session.get(Material, material_id)
    assert material.approved_at is not None
    trail = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.target_type == "materials", AuditEvent.target_id == material_id).order_by(AuditEvent.id))]
    assert trail == ["material.created", "review.submit", "review.request_changes", "material.updated",
                     "review.submit", "review.school_approve", "review.publish"]
    returned = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.request_changes"))
    assert returned.details["reason"] == "Thiếu phần luyện tập"
    assert returned.details["checklist"] == ["Nội dung chính xác"]
    assert returned.details["from_state"] == "submitted" and returned.details["to_state"] == "changes_requested"
    assert returned.actor_id == world["school_reviewer"].id
    decisions = db.session.scalars(select(ReviewDecision).order_by(ReviewDecision.id)).all()
    assert [(d.action, d.reviewer_id) for d in decisions] == [
        ("request_changes", world["school_reviewer"].id), ("school_approve", world["school_reviewer"].id),
        ("publish", world["dept_reviewer"].id)]
    # The history on the material page shows each step with its reason.
    page = signed_in(app, TEACHER2).get(f"/materials/{material_id}").get_data(as_text=True)
    assert 'id="history"' in page and "Thiếu phần luyện tập" in page


def test_the_whole_flow_then_anonymous_search(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    """The issue's end-to-end test: after the department publishes, an anonymous visitor finds the
    material typing without diacritics; before that, nobody outside the school could."""
    visitor = app.test_client()
    assert visitor.get("/api/v1/materials?q=ham+so+bac+nhat").json["total"] == 0
    material_id = _review_flow_until_published(app, world, tmp_path)
    assert status_of(material_id) == "published"
    found = visitor.get("/api/v1/materials?q=ham+so+bac+nhat+luyen+tap").json
    assert [item["id"] for item in found["items"]] == [material_id]
    assert found["items"][0]["status"] == "published"
    page = visitor.get("/search?q=ham+so+bac+nhat").get_data(as_text=True)
    assert f"/materials/{material_id}" in page


def test_one_review_level_publishes_at_the_school_step(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    from repository.services import settings

    settings.update(world["dept_admin"], {"review.levels": "1"})
    material = submitted(world, tmp_path)
    review.school_approve(world["school_admin"], material)
    assert status_of(material.id) == "published"


# --- forbidden paths: 403/409 and the state unchanged ------------------------------------------------

@pytest.mark.parametrize("who, action, expected", [
    (TEACHER, "school_approve", 403),        # the author approves their own material
    (SCHOOL_ADMIN2, "school_approve", 403),  # another school's admin
    (TEACHER2, "school_approve", 403),       # a teacher of another school
    (DEPT_REVIEWER, "withdraw", 403),        # only the author withdraws
    (REVIEWER, "publish", 403),              # the school reviewer cannot take the department step
    (DEPT_REVIEWER, "publish", 409),         # the department cannot publish before the school approves
    (TEACHER, "submit", 409),                # already submitted
    (TEACHER, "take_down", 403),
    (DEPT_ADMIN, "take_down", 409),          # not published yet
    (REVIEWER, "no_such_action", 409),
])
def test_refused_actions_change_nothing(app: Any, world: dict[str, Any], tmp_path: Path, who: str, action: str,
                                        expected: int) -> None:
    material = submitted(world, tmp_path)
    client = signed_in(app, who)
    events = db.session.query(AuditEvent).filter(AuditEvent.target_type == "materials").count()
    response = _act(client, material.id, action, reason="lý do")
    assert response.status_code == expected
    assert status_of(material.id) == "submitted"
    assert db.session.query(AuditEvent).filter(AuditEvent.target_type == "materials").count() == events


def test_a_reviewer_who_is_also_the_author_cannot_approve(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = submitted(world, tmp_path, author="school_reviewer")
    assert _act(signed_in(app, REVIEWER), material.id, "school_approve").status_code == 403
    assert status_of(material.id) == "submitted"
    # and it is not in their queue either
    assert material.title not in signed_in(app, REVIEWER).get("/review/").get_data(as_text=True)


def test_a_school_reviewer_acts_only_for_assigned_subjects(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    assignment = db.session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == world["school_reviewer"].id, RoleAssignment.role == "school_reviewer"))
    assignment.subjects = ["NGU_VAN"]
    db.session.commit()
    material = submitted(world, tmp_path, subject="TOAN")
    reviewer = signed_in(app, REVIEWER)
    assert _act(reviewer, material.id, "school_approve").status_code == 403
    assert status_of(material.id) == "submitted"
    assert "Phương trình bậc hai" not in reviewer.get("/review/").get_data(as_text=True)
    assignment.subjects = ["TOAN"]
    db.session.commit()
    assert _act(reviewer, material.id, "school_approve").status_code == 303
    assert status_of(material.id) == "school_approved"


def test_a_department_reviewer_acts_only_for_assigned_levels(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    assignment = world["dept_reviewer"].roles[0]
    assignment.levels = ["THPT"]
    db.session.commit()
    material = school_approved(world, tmp_path, grades=["9"])
    dept = signed_in(app, DEPT_REVIEWER)
    assert _act(dept, material.id, "publish").status_code == 403
    assert status_of(material.id) == "school_approved"
    assignment.levels = ["THCS"]
    db.session.commit()
    assert _act(dept, material.id, "publish").status_code == 303


def test_forged_posts_without_csrf_or_with_wrong_ids(app_with: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = submitted(world, tmp_path)
    strict = app_with(WTF_CSRF_ENABLED=True)
    client = strict.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": REVIEWER, "password": "Bai-Giang#2025", "csrf_token": token})
    assert client.post(f"/review/{material.id}/act/school_approve").status_code == 400  # no token
    assert status_of(material.id) == "submitted"
    token = csrf_token(client.get(f"/review/{material.id}").get_data(as_text=True))
    assert client.post("/review/999999/act/school_approve", data={"csrf_token": token}).status_code == 404
    other = make_material(world["teacher2"], tmp_path, title="Bài của trường khác")
    review.submit(world["teacher2"], other)
    assert client.post(f"/review/{other.id}/act/school_approve", data={"csrf_token": token}).status_code == 403
    assert status_of(other.id) == "submitted"
    assert client.post(f"/review/{material.id}/act/school_approve", data={"csrf_token": token}).status_code == 303
    assert status_of(material.id) == "school_approved"


def test_a_reason_is_required_to_return_or_reject(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = submitted(world, tmp_path)
    assert _act(signed_in(app, REVIEWER), material.id, "reject", reason="  ").status_code == 422
    assert status_of(material.id) == "submitted"


def test_withdraw_reject_retract_and_take_down(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    teacher = signed_in(app, TEACHER)
    first = submitted(world, tmp_path)
    assert _act(teacher, first.id, "withdraw").status_code == 303
    assert status_of(first.id) == "draft"
    assert _act(signed_in(app, REVIEWER), first.id, "reject", reason="x").status_code == 409  # a draft

    second = submitted(world, tmp_path)
    assert _act(signed_in(app, REVIEWER), second.id, "reject", reason="Sai kiến thức").status_code == 303
    assert status_of(second.id) == "rejected"
    assert _act(teacher, second.id, "submit").status_code == 409  # rejection is final

    third = published(world, tmp_path)
    assert _act(signed_in(app, SCHOOL_ADMIN2), third.id, "retract", reason="x").status_code == 403
    assert _act(signed_in(app, SCHOOL_ADMIN), third.id, "retract", reason="Trùng với tài liệu khác").status_code == 303
    assert status_of(third.id) == "retracted"

    fourth = published(world, tmp_path)
    assert _act(signed_in(app, SCHOOL_ADMIN), fourth.id, "take_down", reason="x").status_code == 403
    assert _act(signed_in(app, DEPT_ADMIN), fourth.id, "take_down", reason="Vi phạm bản quyền").status_code == 303
    assert status_of(fourth.id) == "taken_down"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.take_down"))
    assert event.details == {"from_state": "published", "to_state": "taken_down", "reason": "Vi phạm bản quyền"}


def test_open_licence_requirement(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    from repository.services import settings

    settings.update(world["dept_admin"], {"review.open_licence": True})
    closed = make_material(world["teacher"], tmp_path, licence="CC_BY_NC_4")
    assert _act(signed_in(app, TEACHER), closed.id, "submit").status_code == 422
    assert status_of(closed.id) == "draft"
    open_one = make_material(world["teacher"], tmp_path, licence="CC_BY_4")
    assert _act(signed_in(app, TEACHER), open_one.id, "submit").status_code == 303


def test_problem_reports_reach_the_department_queue(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = published(world, tmp_path)
    draft = make_material(world["teacher"], tmp_path, title="Bản nháp")
    other = signed_in(app, TEACHER2)
    assert other.post(f"/review/{material.id}/report", data={"kind": "copyright", "reason": "Chép từ sách"}).status_code == 303
    assert other.post(f"/review/{material.id}/report", data={"kind": "spam", "reason": "x"}).status_code == 422
    assert signed_in(app, TEACHER).post(f"/review/{draft.id}/report", data={"kind": "error", "reason": "x"}).status_code == 403
    page = signed_in(app, DEPT_ADMIN).get("/review/reports").get_data(as_text=True)
    assert "Chép từ sách" in page
    assert other.get("/review/reports").status_code == 403


def test_a_transition_made_meanwhile_by_someone_else_is_not_repeated(app: Any, world: dict[str, Any],
                                                                     tmp_path: Path) -> None:
    """Two reviewers open the same item; the second decision, based on what they read, gets 409."""
    from datetime import timedelta

    from sqlalchemy import update

    from repository.errors import Conflict
    from repository.models import ReviewState, utcnow

    material = submitted(world, tmp_path)
    assert material.status == "submitted" and material.review.entered_at  # what this request read
    # Another request approves it meanwhile, on its own connection.
    with db.engine.begin() as other:
        other.execute(update(ReviewState).where(ReviewState.material_id == material.id)
                      .values(entered_at=utcnow() + timedelta(seconds=1)))
        other.execute(update(Material).where(Material.id == material.id).values(status="school_approved"))
    with pytest.raises(Conflict):
        review.reject(world["school_admin"], material, "Không đạt")
    assert status_of(material.id) == "school_approved"
    assert db.session.scalars(select(ReviewDecision)).all() == []


def test_only_configured_checklist_items_are_recorded(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = submitted(world, tmp_path)
    review.school_approve(world["school_reviewer"], material, "", ["Nội dung chính xác", "<script>bịa</script>"])
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.school_approve"))
    assert event.details["checklist"] == ["Nội dung chính xác"]
