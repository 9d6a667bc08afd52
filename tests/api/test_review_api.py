"""Review-workflow endpoints over the services: the whole flow (teacher submits, the school's
reviewer approves, the department's reviewer publishes) with tokens and with cookie sessions, the
refusals (read-only token, wrong role, wrong state, bad body, unknown id) with nothing changed, and
the reviewer's queue with its filters and paging."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from repository.extensions import db
from repository.models import AuditEvent, ReviewDecision, ReviewState, utcnow
from tests.api.helpers import TEACHER, bearer, token_for
from tests.helpers import PASSWORD, csrf_token
from tests.repository.review_support import make_material, school_approved, status_of, submitted


def _post(client: Any, material_id: int, what: str, raw: str, body: Any = None) -> Any:
    return client.post(f"/api/v1/materials/{material_id}/{what}", json=body, headers=bearer(raw))


def _decide(client: Any, material_id: int, raw: str, decision: str, **extra: Any) -> Any:
    return _post(client, material_id, "review", raw, {"decision": decision, **extra})


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    body = response.get_json()["error"]
    assert body["code"] == status and body["message"]
    return body


def test_the_whole_flow_with_tokens(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material_id = make_material(world["teacher"], tmp_path).id
    submitted_ = _post(client, material_id, "submit", token_for(world["teacher"]))
    assert submitted_.status_code == 200, submitted_.get_json()
    assert submitted_.get_json()["status"] == "submitted" and submitted_.get_json()["id"] == material_id
    assert submitted_.get_json()["files"], "the detail shape, as GET /materials/{id}"

    school = _decide(client, material_id, token_for(world["school_reviewer"]), "approve",
                     comment="Tốt", checklist=["Nội dung chính xác", "Không có trong danh sách"])
    assert school.status_code == 200, school.get_json()
    assert school.get_json()["status"] == "school_approved"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.school_approve"))
    assert event.actor_id == world["school_reviewer"].id
    assert event.details["checklist"] == ["Nội dung chính xác"]  # only the criteria in force

    dept = _decide(client, material_id, token_for(world["dept_reviewer"]), "approve")
    assert dept.status_code == 200, dept.get_json()
    assert dept.get_json()["status"] == "published" and status_of(material_id) == "published"
    actions = db.session.scalars(select(ReviewDecision.action).order_by(ReviewDecision.id)).all()
    assert actions == ["school_approve", "publish"]


def test_the_whole_flow_with_cookie_sessions(app_with: Any, world: dict[str, Any], tmp_path: Path) -> None:
    app = app_with(WTF_CSRF_ENABLED=True)
    material_id = make_material(world["teacher"], tmp_path).id

    def browser(email: str) -> tuple[Any, dict[str, str]]:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page)})
        token = csrf_token(client.get("/account/tokens").get_data(as_text=True))
        return client, {"X-CSRFToken": token}

    teacher, teacher_csrf = browser(TEACHER)
    # A cookie-authenticated write without the CSRF token is refused and changes nothing.
    _error(teacher.post(f"/api/v1/materials/{material_id}/submit"), 400)
    assert status_of(material_id) == "draft"
    done = teacher.post(f"/api/v1/materials/{material_id}/submit", headers=teacher_csrf)
    assert done.status_code == 200 and done.get_json()["status"] == "submitted"

    reviewer, reviewer_csrf = browser(world["school_reviewer"].email)
    queue = reviewer.get("/api/v1/reviews/queue").get_json()
    assert [item["id"] for item in queue["items"]] == [material_id]
    approved = reviewer.post(f"/api/v1/materials/{material_id}/review", json={"decision": "approve"},
                             headers=reviewer_csrf)
    assert approved.status_code == 200 and approved.get_json()["status"] == "school_approved"

    dept, dept_csrf = browser(world["dept_reviewer"].email)
    published = dept.post(f"/api/v1/materials/{material_id}/review", json={"decision": "approve"}, headers=dept_csrf)
    assert published.status_code == 200 and published.get_json()["status"] == "published"


def test_withdraw_then_withdraw_again_is_a_conflict(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material_id = submitted(world, tmp_path).id
    raw = token_for(world["teacher"])
    response = _post(client, material_id, "withdraw", raw)
    assert response.status_code == 200 and response.get_json()["status"] == "draft"
    _error(_post(client, material_id, "withdraw", raw), 409)
    assert status_of(material_id) == "draft"


def test_a_read_only_token_is_refused_on_every_write(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    draft_id = make_material(world["teacher"], tmp_path).id
    waiting_id = submitted(world, tmp_path, title="Hàm số bậc nhất").id
    _error(_post(client, draft_id, "submit", token_for(world["teacher"], read_only=True)), 403)
    _error(_post(client, waiting_id, "withdraw", token_for(world["teacher"], read_only=True)), 403)
    reader = token_for(world["school_reviewer"], read_only=True)
    _error(_decide(client, waiting_id, reader, "approve"), 403)
    assert (status_of(draft_id), status_of(waiting_id)) == ("draft", "submitted")
    assert db.session.scalar(select(func.count()).select_from(ReviewDecision)) == 0
    # Reading the queue is not a write.
    assert client.get("/api/v1/reviews/queue", headers=bearer(reader)).status_code == 200


def test_the_wrong_role_gets_403_and_nothing_changes(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material_id = submitted(world, tmp_path).id
    # The department's reviewer cannot take the school's step; the author cannot decide on their own.
    _error(_decide(client, material_id, token_for(world["dept_reviewer"]), "approve"), 403)
    _error(_decide(client, material_id, token_for(world["teacher"]), "reject", comment="Không"), 403)
    # Only the author submits or withdraws.
    _error(_post(client, material_id, "withdraw", token_for(world["school_reviewer"])), 403)
    draft_id = make_material(world["teacher"], tmp_path, title="Hình học").id
    _error(_post(client, draft_id, "submit", token_for(world["school_admin"])), 403)
    assert (status_of(material_id), status_of(draft_id)) == ("submitted", "draft")
    # A teacher has no queue.
    _error(client.get("/api/v1/reviews/queue", headers=bearer(token_for(world["teacher"]))), 403)


def test_the_wrong_state_gets_409_and_nothing_changes(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    draft_id = make_material(world["teacher"], tmp_path).id
    reviewer = token_for(world["school_reviewer"])
    body = _error(_decide(client, draft_id, reviewer, "approve"), 409)
    assert "duyệt" in body["message"]
    _error(_decide(client, draft_id, reviewer, "reject", comment="Sai"), 409)
    assert status_of(draft_id) == "draft"
    waiting_id = submitted(world, tmp_path, title="Thống kê").id
    _error(_post(client, waiting_id, "submit", token_for(world["teacher"])), 409)
    approved_id = school_approved(world, tmp_path, title="Xác suất").id
    _error(_post(client, approved_id, "withdraw", token_for(world["teacher"])), 409)
    assert (status_of(waiting_id), status_of(approved_id)) == ("submitted", "school_approved")
    assert db.session.scalar(select(func.count()).select_from(ReviewDecision)) == 1  # the helper's approval


def test_bad_bodies_get_422_and_nothing_changes(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material_id = submitted(world, tmp_path).id
    raw = token_for(world["school_reviewer"])
    cases = [
        ({"decision": "maybe"}, "decision"),
        ({"comment": "Thiếu quyết định"}, "decision"),
        ({"decision": "approve", "comment": 5}, "comment"),
        ({"decision": "approve", "checklist": "Nội dung chính xác"}, "checklist"),
        ({"decision": "approve", "reason": "x"}, "reason"),
        ({"decision": "request_changes"}, "reason"),  # the service demands a reason
        ({"decision": "reject", "comment": "   "}, "reason"),
    ]
    for body, field in cases:
        error = _error(_post(client, material_id, "review", raw, body), 422)
        assert field in error["fields"], (body, error)
    _error(_post(client, material_id, "review", raw, ["approve"]), 422)
    _error(client.post(f"/api/v1/materials/{material_id}/review", data="decision=approve", headers=bearer(raw)), 422)
    assert status_of(material_id) == "submitted"
    assert db.session.scalar(select(func.count()).select_from(ReviewDecision)) == 0


def test_request_changes_and_reject_with_a_reason(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    returned_id = submitted(world, tmp_path).id
    rejected_id = school_approved(world, tmp_path, title="Lượng giác").id
    response = _decide(client, returned_id, token_for(world["school_reviewer"]), "request_changes",
                       comment="Bổ sung bài tập")
    assert response.status_code == 200 and response.get_json()["status"] == "changes_requested"
    response = _decide(client, rejected_id, token_for(world["dept_reviewer"]), "reject", comment="Trùng lặp")
    assert response.status_code == 200 and response.get_json()["status"] == "rejected"
    reasons = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ["review.request_changes", "review.reject"])).order_by(AuditEvent.id)).all()
    assert [e.details["reason"] for e in reasons] == ["Bổ sung bài tập", "Trùng lặp"]
    # The author may submit the returned material again.
    again = _post(client, returned_id, "submit", token_for(world["teacher"]))
    assert again.status_code == 200 and again.get_json()["status"] == "submitted"


def test_an_unknown_material_is_404(client: Any, world: dict[str, Any]) -> None:
    raw = token_for(world["school_reviewer"])
    for what in ("submit", "withdraw", "review"):
        _error(_post(client, 2147483647, what, raw, {"decision": "approve"}), 404)
    assert client.post("/api/v1/materials/2147483648/submit", headers=bearer(raw)).status_code == 404
    _error(client.post("/api/v1/materials/1/submit"), 401)


def _queue(client: Any, raw: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/reviews/queue", query_string=params, headers=bearer(raw))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_queue_its_filters_and_paging(client: Any, world: dict[str, Any], tmp_path: Path) -> None:
    maths = submitted(world, tmp_path, title="Đại số").id
    physics = submitted(world, tmp_path, title="Cơ học", subject="KHTN", grades=["8"]).id
    late = submitted(world, tmp_path, title="Hình học không gian").id
    ready = school_approved(world, tmp_path, title="Số học").id
    other_school = submitted(world, tmp_path, author="teacher2", title="Văn bản").id
    db.session.get(ReviewState, late).entered_at = utcnow() - timedelta(days=10)
    db.session.commit()

    school = token_for(world["school_reviewer"])
    page = _queue(client, school)
    assert page["total"] == 3 and (page["page"], page["per_page"]) == (1, 20)
    assert [item["id"] for item in page["items"]] == [late, maths, physics]  # oldest first
    first = page["items"][0]
    assert first["status"] == "submitted" and first["school"]["code"] == "THCS01"
    assert first["review"]["state"] == "submitted" and first["review"]["age_days"] == 10
    assert first["review"]["overdue"] is True and page["items"][1]["review"]["overdue"] is False
    assert first["review"]["waiting_since"].endswith("Z") and first["review"]["claimed_by_other"] is False

    assert [i["id"] for i in _queue(client, school, subject="KHTN")["items"]] == [physics]
    assert [i["id"] for i in _queue(client, school, grade="8")["items"]] == [physics]
    assert [i["id"] for i in _queue(client, school, age=5)["items"]] == [late]
    assert _queue(client, school, school="THCS02")["total"] == 0
    assert [i["id"] for i in _queue(client, school, school="thcs01", subject="TOAN")["items"]] == [late, maths]
    second = _queue(client, school, per_page=2, page=2)
    assert (second["total"], second["page"], second["per_page"]) == (3, 2, 2)
    assert [i["id"] for i in second["items"]] == [physics]
    assert _queue(client, school, per_page=2, page=3)["items"] == []

    # The department's reviewer waits for the school-approved item of any school; the other
    # school's admin for that school's submission.
    dept = _queue(client, token_for(world["dept_reviewer"]))
    assert [(i["id"], i["review"]["state"]) for i in dept["items"]] == [(ready, "school_approved")]
    assert [i["id"] for i in _queue(client, token_for(world["school_admin2"]))["items"]] == [other_school]


def test_bad_queue_parameters_get_422(client: Any, world: dict[str, Any]) -> None:
    raw = token_for(world["school_reviewer"])
    for params, field in [({"age": "0"}, "age"), ({"age": "abc"}, "age"), ({"age": "99999999"}, "age"),
                          ({"school": "KHONG-CO"}, "school"), ({"school": "a\x00b"}, "school"),
                          ({"subject": "KHONG_CO"}, "subject"), ({"grade": "13"}, "grade"),
                          ({"per_page": "101"}, "per_page"), ({"page": "0"}, "page")]:
        response = client.get("/api/v1/reviews/queue", query_string=params, headers=bearer(raw))
        assert field in _error(response, 422)["fields"], params


def test_the_document_describes_the_review_operations(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/materials/{material_id}/submit", "/materials/{material_id}/withdraw",
                 "/materials/{material_id}/review"):
        assert {"200", "403", "404", "409", "422"} <= set(paths[path]["post"]["responses"]), path
    assert paths["/materials/{material_id}/review"]["post"]["requestBody"]["required"] is True
    assert {p["name"] for p in paths["/reviews/queue"]["get"]["parameters"] if "name" in p} == {
        "subject", "grade", "school", "age"}
