"""Reviewer tools: settings kept in the database, queues (filters, oldest first, age, overdue),
escalation, claims with expiry, bulk decisions, and new versions of approved materials."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from repository.errors import Conflict, PermissionDenied, ValidationError
from repository.extensions import db
from repository.models import Material, ReviewState, Setting, utcnow
from repository.services import materials, review, review_queue, settings
from tests.repository.review_support import DEPT_ADMIN, REVIEWER, SCHOOL_ADMIN, TEACHER, TEACHER2, pdf_upload, published, school_approved, signed_in, status_of, submitted




def _age(material: Material, days: int) -> None:
    state = db.session.get(ReviewState, material.id)
    state.entered_at = utcnow() - timedelta(days=days)
    db.session.commit()


# --- settings ---------------------------------------------------------------------------------------

def test_settings_defaults_page_history_and_refusals(app: Any, world: dict[str, Any]) -> None:
    assert settings.get("review.levels") == 2 and settings.get("review.deadline_days") == 7
    admin = signed_in(app, DEPT_ADMIN)
    page = admin.get("/review/settings").get_data(as_text=True)
    assert "Thời hạn duyệt" in page and "Không vi phạm bản quyền" in page
    form = {"review.levels": "1", "review.deadline_days": "10", "review.claim_hours": "24",
            "review.checklist": "Đúng chương trình\nKhông lỗi chính tả", "review.open_licence": "on",
            "reports.reminder_days": "5"}  # the reports' setting shares the page (issue 6)
    assert admin.post("/review/settings", data=form).status_code == 303
    assert settings.current() == {"review.levels": 1, "review.open_licence": True, "review.deadline_days": 10,
                                  "review.claim_hours": 24, "review.reviewer_digest": False,
                                  "review.checklist": ["Đúng chương trình", "Không lỗi chính tả"],
                                  "reports.reminder_days": 5}
    form["review.deadline_days"] = "12"
    admin.post("/review/settings", data=form)
    history = [row.value for row in settings.history(world["dept_admin"], "review.deadline_days")]
    assert history == [12, 10]  # newest first; the older value is kept
    page = admin.get("/review/settings").get_data(as_text=True)
    assert 'id="settings-history"' in page and "review.deadline_days" in page
    rows = db.session.scalar(select(Setting).where(Setting.key == "review.deadline_days").order_by(Setting.id))
    assert rows.actor_id == world["dept_admin"].id
    form["review.deadline_days"] = "0"
    assert admin.post("/review/settings", data=form).status_code == 422
    assert settings.get("review.deadline_days") == 12
    assert signed_in(app, SCHOOL_ADMIN).get("/review/settings").status_code == 403
    assert signed_in(app, SCHOOL_ADMIN).post("/review/settings", data=form).status_code == 403
    with pytest.raises(ValidationError):
        settings.update(world["dept_admin"], {"no.such": 1})
    with pytest.raises(PermissionDenied):
        settings.update(world["teacher"], {"review.levels": 1})


# --- queues -----------------------------------------------------------------------------------------

def test_queue_is_oldest_first_with_age_overdue_and_filters(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    young = submitted(world, tmp_path, title="Bài mới", subject="TOAN")
    old = submitted(world, tmp_path, title="Bài cũ", subject="NGU_VAN", grades=["8"])
    _age(old, 9)
    _age(young, 2)
    submitted(world, tmp_path, author="teacher2", title="Bài trường khác")
    items = review_queue.waiting_for(world["school_reviewer"])
    assert [i.material.title for i in items] == ["Bài cũ", "Bài mới"]  # own school only, oldest first
    assert [(i.age_days, i.overdue) for i in items] == [(9, True), (2, False)]
    only_math = review_queue.waiting_for(world["school_reviewer"], review_queue.QueueFilters(subject="TOAN"))
    assert [i.material.title for i in only_math] == ["Bài mới"]
    grade8 = review_queue.waiting_for(world["school_reviewer"], review_queue.QueueFilters(grade="8"))
    assert [i.material.title for i in grade8] == ["Bài cũ"]
    aged = review_queue.waiting_for(world["school_reviewer"], review_queue.QueueFilters(min_age_days=5))
    assert [i.material.title for i in aged] == ["Bài cũ"]
    page = signed_in(app, REVIEWER).get("/review/?subject=NGU_VAN").get_data(as_text=True)
    assert "Bài cũ" in page and "Bài mới" not in page and "overdue" in page and "9 ngày" in page
    # Department queue: nothing until a school approves.
    assert review_queue.waiting_for(world["dept_reviewer"]) == []
    review.school_approve(world["school_reviewer"], young)
    assert [i.material.title for i in review_queue.waiting_for(world["dept_reviewer"])] == ["Bài mới"]
    assert signed_in(app, TEACHER2).get("/review/").status_code == 403  # a teacher has no queue


def test_escalation_lists_overdue_items_for_admins(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    late = submitted(world, tmp_path, title="Bài quá hạn")
    submitted(world, tmp_path, title="Bài đúng hạn")
    other = submitted(world, tmp_path, author="teacher2", title="Bài quá hạn trường khác")
    _age(late, 8)
    _age(other, 30)
    assert {i.material.title for i in review_queue.escalations(world["dept_admin"])} == {"Bài quá hạn", "Bài quá hạn trường khác"}
    assert [i.material.title for i in review_queue.escalations(world["school_admin"])] == ["Bài quá hạn"]
    page = signed_in(app, SCHOOL_ADMIN).get("/review/escalations").get_data(as_text=True)
    assert "Bài quá hạn" in page and "trường khác" not in page
    assert signed_in(app, REVIEWER).get("/review/escalations").status_code == 403
    settings.update(world["dept_admin"], {"review.deadline_days": 10})
    assert [i.material.title for i in review_queue.escalations(world["dept_admin"])] == ["Bài quá hạn trường khác"]


# --- claims -----------------------------------------------------------------------------------------

def test_a_claim_keeps_others_off_until_it_expires(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = submitted(world, tmp_path)
    assert signed_in(app, REVIEWER).post(f"/review/{material.id}/claim").status_code == 303
    state = db.session.get(ReviewState, material.id)
    assert state.claimed_by_id == world["school_reviewer"].id
    assert timedelta(hours=23) < state.claim_expires_at - utcnow() <= timedelta(hours=24)
    admin = signed_in(app, SCHOOL_ADMIN)
    assert admin.post(f"/review/{material.id}/claim").status_code == 409
    assert admin.post(f"/review/{material.id}/act/school_approve").status_code == 409
    assert status_of(material.id) == "submitted"
    assert admin.post(f"/review/{material.id}/release").status_code == 409  # not theirs
    [item] = review_queue.waiting_for(world["school_admin"])
    assert item.claimed_by_other
    # The claim expires: the admin may decide.
    state = db.session.get(ReviewState, material.id)
    state.claim_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert admin.post(f"/review/{material.id}/act/school_approve").status_code == 303
    assert status_of(material.id) == "school_approved"
    assert db.session.get(ReviewState, material.id).claimed_by_id is None


def test_release_and_claiming_outside_the_queue(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = submitted(world, tmp_path)
    review.claim(world["school_reviewer"], material)
    review.release(world["school_reviewer"], material)
    assert db.session.get(ReviewState, material.id).claimed_by_id is None
    review.withdraw(world["teacher"], material)
    with pytest.raises(Conflict):
        review.claim(world["school_reviewer"], material)


# --- bulk decisions ---------------------------------------------------------------------------------

def test_bulk_decisions_apply_to_each_selected_item(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    first, second = submitted(world, tmp_path, title="Bài A"), submitted(world, tmp_path, title="Bài B")
    other_school = submitted(world, tmp_path, author="teacher2", title="Bài C")
    response = signed_in(app, REVIEWER).post("/review/bulk", data={
        "ids": [str(first.id), str(second.id), str(other_school.id), "999999"], "action": "school_approve"})
    assert response.status_code == 303
    assert [status_of(m.id) for m in (first, second, other_school)] == ["school_approved", "school_approved", "submitted"]
    results = review_queue.decide_many(world["dept_reviewer"], [first.id, second.id], "request_changes", "")
    assert all(error for _id, error in results)  # a reason is required
    assert status_of(first.id) == "school_approved"
    results = review_queue.decide_many(world["dept_reviewer"], [first.id, second.id], "request_changes", "Bổ sung")
    assert results == [(first.id, None), (second.id, None)]
    assert status_of(first.id) == status_of(second.id) == "changes_requested"
    with pytest.raises(Conflict):
        review_queue.decide_many(world["dept_reviewer"], [first.id], "take_down")


# --- a new file version of an approved material -------------------------------------------------------

def test_a_new_version_of_a_published_material_is_reviewed_again(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = published(world, tmp_path)
    old_file = material.current_files[0]
    teacher = signed_in(app, TEACHER)
    data = pdf_upload(tmp_path, "Phiên bản 2").path.read_bytes()
    import io
    response = teacher.post(f"/materials/{material.id}/files/{old_file.id}/new-version",
                            data={"file": (io.BytesIO(data), "v2.pdf")})
    assert response.status_code == 302
    db.session.expire_all()
    material = db.session.get(Material, material.id)
    new_file = material.current_files[0]
    assert new_file.id != old_file.id
    assert material.status == "published"  # the approved version stays public meanwhile
    assert material.review.revision == "submitted" and material.review.approved_file_ids == [old_file.id]
    # Others see the approved file; the author and the reviewers see the new one.
    other_page = signed_in(app, TEACHER2).get(f"/materials/{material.id}").get_data(as_text=True)
    assert f"/files/{old_file.id}/download" in other_page and f"/files/{new_file.id}/download" not in other_page
    assert f"/files/{new_file.id}/download" in teacher.get(f"/materials/{material.id}").get_data(as_text=True)
    assert [i.material.id for i in review_queue.waiting_for(world["school_reviewer"])] == [material.id]
    review.school_approve(world["school_reviewer"], material)
    assert (material.status, material.review.revision) == ("published", "school_approved")
    review.publish(world["dept_reviewer"], material)
    assert (material.status, material.review.revision, material.review.approved_file_ids) == ("published", None, [])
    other_page = signed_in(app, TEACHER2).get(f"/materials/{material.id}").get_data(as_text=True)
    assert f"/files/{new_file.id}/download" in other_page


def test_a_rejected_revision_restores_the_approved_file(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = school_approved(world, tmp_path)
    old_file = material.current_files[0]
    materials.replace_file(world["teacher"], material, old_file, pdf_upload(tmp_path, "Bản sửa"))
    assert material.review.revision == "submitted"
    with pytest.raises(PermissionDenied):  # others may not replace files of an approved material
        materials.replace_file(world["teacher2"], material, material.current_files[0], pdf_upload(tmp_path, "x"))
    review.reject(world["school_reviewer"], material, "Bản sửa kém hơn")
    assert material.status == "school_approved" and material.review.revision is None
    assert [f.id for f in material.current_files] == [old_file.id]


def test_the_department_queue_holds_the_department_step_only(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    waiting_at_school = submitted(world, tmp_path, title="Chờ trường")
    approved = school_approved(world, tmp_path, title="Chờ Sở")
    for key in ("dept_admin", "dept_reviewer"):
        assert [i.material.id for i in review_queue.waiting_for(world[key])] == [approved.id]
    assert [i.material.id for i in review_queue.waiting_for(world["school_admin"])] == [waiting_at_school.id]


def test_materials_imported_in_a_review_state_are_in_the_queues(app: Any, world: dict[str, Any]) -> None:
    """The bulk import may create materials already submitted: they have no review row yet."""
    imported = Material(title="Nhập từ tệp", description="", subject="TOAN", grades=["9"], material_type="KHAC",
                        licence="CC_BY_4", school_id=world["thcs1"].id, owner_id=world["teacher"].id,
                        status="submitted", updated_at=utcnow() - timedelta(days=8))
    db.session.add(imported)
    db.session.commit()
    [item] = review_queue.waiting_for(world["school_reviewer"])
    assert (item.material.id, item.age_days, item.overdue) == (imported.id, 8, True)
    assert [i.material.id for i in review_queue.escalations(world["school_admin"])] == [imported.id]
    review.school_approve(world["school_reviewer"], imported)
    assert status_of(imported.id) == "school_approved"
    from repository.models import ReviewDecision
    decision = db.session.scalar(select(ReviewDecision))
    assert decision.late and (decision.decided_at - decision.waiting_since).days == 8


def test_visitors_not_signed_in_see_the_approved_files_and_no_history(app: Any, world: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    from flask_login import AnonymousUserMixin

    from repository.errors import AuthenticationFailed

    visitor = AnonymousUserMixin()
    material = published(world, tmp_path)
    approved = list(material.current_files)
    materials.replace_file(world["teacher"], material, approved[0], pdf_upload(tmp_path, "Bản mới"))
    assert review.visible_files(visitor, material) == approved
    assert review.history(visitor, material) == []
    assert review.available_actions(visitor, material) == []
    draft = submitted(world, tmp_path, title="Chưa công bố")
    with pytest.raises(AuthenticationFailed):
        review.visible_files(visitor, draft)
