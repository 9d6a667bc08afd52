"""The review workflow's one table of allowed transitions, and who may take each action.

A transition is looked up by (state, action). Each row names the policy action (a rule in
repository.permissions) that decides *who* may take it; the table decides *when*. A pair not in
the table is an illegal transition: services raise IllegalTransition (409) and change nothing.

In the school-level-only configuration (setting review.levels = 1) the school approval publishes
directly (submitted -> published). Retraction and take-down act on the material itself; every other
action acts on the pending revision of an approved material when there is one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from repository.errors import Conflict
from repository.models import MaterialStatus as S


class IllegalTransition(Conflict):
    """The action is not allowed in the material's current state (HTTP 409)."""


@dataclass(frozen=True)
class Step:
    target: str
    rule: str  # the permissions.RULES action deciding who may take it


TRANSITIONS: dict[tuple[str, str], Step] = {
    (S.DRAFT.value, "submit"): Step(S.SUBMITTED.value, "review.submit"),
    (S.CHANGES_REQUESTED.value, "submit"): Step(S.SUBMITTED.value, "review.submit"),
    (S.SUBMITTED.value, "withdraw"): Step(S.DRAFT.value, "review.withdraw"),
    (S.SUBMITTED.value, "school_approve"): Step(S.SCHOOL_APPROVED.value, "review.school_decide"),
    (S.SUBMITTED.value, "request_changes"): Step(S.CHANGES_REQUESTED.value, "review.decide"),
    (S.SUBMITTED.value, "reject"): Step(S.REJECTED.value, "review.decide"),
    (S.SCHOOL_APPROVED.value, "publish"): Step(S.PUBLISHED.value, "review.dept_decide"),
    (S.SCHOOL_APPROVED.value, "request_changes"): Step(S.CHANGES_REQUESTED.value, "review.decide"),
    (S.SCHOOL_APPROVED.value, "reject"): Step(S.REJECTED.value, "review.decide"),
    (S.SCHOOL_APPROVED.value, "retract"): Step(S.RETRACTED.value, "review.retract"),
    (S.PUBLISHED.value, "retract"): Step(S.RETRACTED.value, "review.retract"),
    (S.PUBLISHED.value, "take_down"): Step(S.TAKEN_DOWN.value, "review.take_down"),
}
ACTIONS = tuple(dict.fromkeys(action for _state, action in TRANSITIONS))
# Actions on the material itself, never on a pending revision.
MATERIAL_ACTIONS = frozenset({"retract", "take_down"})
# Decisions taken by reviewers: recorded for the figures, need a claim-free item, notify the author.
DECISIONS = frozenset({"school_approve", "publish", "request_changes", "reject"})
# Actions that must say why.
NEEDS_REASON = frozenset({"request_changes", "reject", "retract", "take_down"})
# States in which an item waits in a reviewer queue, and the policy action of that step.
QUEUE_STATES = {S.SUBMITTED.value: "review.school_decide", S.SCHOOL_APPROVED.value: "review.dept_decide"}
# ("review.decide" is whichever of the two the current state calls for.)
APPROVED = frozenset({S.SCHOOL_APPROVED.value, S.PUBLISHED.value})

ACTION_LABELS = {
    "submit": _l("Gửi duyệt"),
    "withdraw": _l("Rút lại yêu cầu duyệt"),
    "school_approve": _l("Duyệt cấp trường"),
    "publish": _l("Công bố"),
    "request_changes": _l("Yêu cầu chỉnh sửa"),
    "reject": _l("Từ chối"),
    "retract": _l("Thu hồi"),
    "take_down": _l("Gỡ xuống"),
}


def state_of(material: Any, action: str | None = None) -> str:
    """The state an action applies to: the pending revision's, except for material actions."""
    review = getattr(material, "review", None)
    if review is not None and review.revision and action not in MATERIAL_ACTIONS:
        return review.revision
    return material.status


def step(material: Any, action: str, levels: int) -> Step:
    """The transition for `action` now, or IllegalTransition. One review level: the school
    approval publishes."""
    found = TRANSITIONS.get((state_of(material, action), action))
    if found is None:
        raise IllegalTransition(_l("Không thể thực hiện thao tác «%(action)s» khi học liệu đang ở trạng thái "
                                   "hiện tại.", action=ACTION_LABELS.get(action, action)))
    if levels == 1 and found.target == S.SCHOOL_APPROVED.value:
        return Step(S.PUBLISHED.value, found.rule)
    return found


def actions_from(material: Any) -> list[str]:
    """Every action the table allows in the material's current state(s), whoever takes it."""
    return [action for action in ACTIONS if (state_of(material, action), action) in TRANSITIONS]
