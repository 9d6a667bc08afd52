"""Review-workflow endpoints: submit, withdraw, a reviewer's decision, and the reviewer's queue.

Each parses the request, calls the review services (repository.services.review and review_queue)
and serialises the result; the services decide who may act and when (409 for a step the workflow
table does not allow now, 403 for a caller the policy refuses, 422 for a missing reason).
"""
from __future__ import annotations

from typing import Any, Optional

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from repository import curriculum, workflow
from repository.api import bp
from repository.api.auth import signed_in
from repository.api.pagination import page_request, paginate
from repository.api.serialize import material_json, timestamp
from repository.errors import ValidationError
from repository.fields import clean_code
from repository.services import materials, review, review_queue, schools

# The API's decisions and the workflow actions they name. "approve" is whichever approval step the
# workflow table allows in the material's state (the school's or the department's); see _action.
DECISIONS = ("approve", "request_changes", "reject")
# The approving decisions are the ones that need no reason: school_approve and publish.
APPROVALS = workflow.DECISIONS - workflow.NEEDS_REASON
BODY_FIELDS = frozenset({"decision", "comment", "checklist"})
MAX_AGE_DAYS = 36500  # beyond a century the date arithmetic of the filter would overflow
MAX_CHECKLIST = 30  # as the review page's form


def _invalid(field: str, message: Any) -> ValidationError:
    return ValidationError(message, field_errors={field: [message]})


def _decision_body() -> tuple[str, str, list[str]]:
    """(decision, comment, checklist) from the JSON body; 422 when it is not of that shape."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(_l("Nội dung yêu cầu phải là một đối tượng JSON."))
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise _invalid(unknown[0], _l("Trường không hợp lệ: %(names)s", names=", ".join(unknown)))
    decision = body.get("decision")
    if decision not in DECISIONS:
        raise _invalid("decision", _l("decision phải là một trong: %(names)s.", names=", ".join(DECISIONS)))
    comment = body.get("comment") or ""
    if not isinstance(comment, str) or "\x00" in comment:
        raise _invalid("comment", _l("comment phải là chuỗi văn bản."))
    checklist = body.get("checklist") or []
    if not isinstance(checklist, list) or not all(isinstance(item, str) for item in checklist):
        raise _invalid("checklist", _l("checklist phải là danh sách tiêu chí (chuỗi)."))
    return decision, comment, [item[:200] for item in checklist][:MAX_CHECKLIST]


def _action(material: Any, decision: str) -> str:
    """The workflow action a decision names. "approve" is the approval step the transition table
    allows in the material's current state; the service then checks that the caller may take it."""
    if decision != "approve":
        return decision
    steps = [action for action in workflow.actions_from(material) if action in APPROVALS]
    if not steps:
        raise workflow.IllegalTransition(_l("Học liệu không ở bước chờ duyệt nên không thể duyệt."))
    return steps[0]


def _material_response(material: Any) -> Any:
    return jsonify(material_json(material, detail=True))


@bp.post("/materials/<int(min=1, max=2147483647):material_id>/submit")
@signed_in
def submit_material(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    return _material_response(review.submit(current_user, material))


@bp.post("/materials/<int(min=1, max=2147483647):material_id>/withdraw")
@signed_in
def withdraw_material(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    return _material_response(review.withdraw(current_user, material))


@bp.post("/materials/<int(min=1, max=2147483647):material_id>/review")
@signed_in
def review_material(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    decision, comment, checklist = _decision_body()
    action = _action(material, decision)
    return _material_response(review.perform(current_user, material, action, comment, checklist))


def _choice(name: str, allowed: set[str]) -> str:
    """A curriculum code filter: empty, or one of the codes (422 otherwise)."""
    value = request.args.get(name, "")
    if value and value not in allowed:
        raise _invalid(name, _l("%(name)s không phải là mã hợp lệ.", name=name))
    return value


def _school_id() -> Optional[int]:
    raw = request.args.get("school", "")
    if not raw:
        return None
    found = schools.school_by_code(clean_code(raw, "school", _l("Mã trường")))
    if found is None:
        raise _invalid("school", _l("Không có trường mã %(code)s.", code=raw))
    return found.id


def _age() -> Optional[int]:
    raw = request.args.get("age", "")
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_AGE_DAYS:
        raise _invalid("age", _l("age phải là số ngày từ 1 đến %(max)d.", max=MAX_AGE_DAYS))
    return int(raw)


def _queue_filters() -> review_queue.QueueFilters:
    subjects = {s.code for s in curriculum.subjects()} | set(curriculum.preschool_domains())
    return review_queue.QueueFilters(subject=_choice("subject", subjects),
                                     grade=_choice("grade", {g.code for g in curriculum.grades()}),
                                     school_id=_school_id(), min_age_days=_age())


def queue_item_json(item: review_queue.QueueItem) -> dict[str, Any]:
    """A queued material: its JSON plus how long it has waited in its review state."""
    return {**material_json(item.material), "review": {
        "state": item.state, "waiting_since": timestamp(item.waiting_since), "age_days": item.age_days,
        "overdue": item.overdue, "claimed_by_id": item.claimed_by_id, "claimed_by_other": item.claimed_by_other}}


@bp.get("/reviews/queue")
@signed_in
def review_queue_list() -> Any:
    paging = page_request()
    items = review_queue.waiting_for(current_user, _queue_filters())
    return jsonify(paginate(items, paging, queue_item_json))
