"""The review workflow's services: one guarded function per transition, claims, problem reports,
revisions of approved materials, and the material's history.

Rules: the policy (who) is checked first, then the transition table (when, 409 otherwise), then
the claim (a decision on an item someone else has claimed is refused), then the reason where one is
required. The state change, the decision record, the audit row and the notifications commit
together; e-mail goes after the commit. Nobody decides on their own material (permissions.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError

from repository import curriculum, workflow
from repository.errors import Conflict, NotFound, ValidationError
from repository.extensions import db
from repository.models import (
    AuditEvent,
    Material,
    MaterialFile,
    ProblemReport,
    ReviewDecision,
    ReviewState,
    Role,
    RoleAssignment,
    User,
    utcnow,
)
from repository.permissions import can, require
from repository.services import audit, guarded, notifications, settings, unguarded
from repository.workflow import APPROVED, DECISIONS, MATERIAL_ACTIONS, NEEDS_REASON

settings.declare("review.levels", 2, settings.int_between(1, 2), _l("Số cấp duyệt (2: trường và Sở; 1: chỉ cấp trường)"), "choice")
settings.declare("review.open_licence", False, settings.boolean, _l("Bắt buộc chia sẻ theo giấy phép mở"), "bool")
settings.declare("review.deadline_days", 7, settings.int_between(1, 90), _l("Thời hạn duyệt (ngày)"), "int")
settings.declare("review.claim_hours", 24, settings.int_between(1, 720), _l("Thời hạn nhận duyệt (giờ)"), "int")
settings.declare("review.reviewer_digest", False, settings.boolean, _l("Gửi e-mail cho người duyệt một lần mỗi ngày (bản tổng hợp)"), "bool")
settings.declare("review.checklist", [
    "Phù hợp chương trình GDPT 2018", "Nội dung chính xác", "Không vi phạm bản quyền",
    "Hoạt động trên các thiết bị phổ biến"], settings.lines, _l("Tiêu chí kiểm tra (mỗi dòng một tiêu chí)"), "lines")

REPORT_KINDS = {"copyright": _l("Bản quyền"), "error": _l("Sai sót nội dung"), "other": _l("Khác")}
_RANK = {"school_approved": 1, "published": 2}


def _review_of(material: Material) -> ReviewState:
    if material.review is None:
        # A material imported in a review state has no row yet: it has waited since its last change.
        material.review = ReviewState(material_id=material.id, entered_at=material.updated_at or utcnow(),
                                      approved_file_ids=[])
    return material.review


def _claimed_by_other(actor: Any, review: Optional[ReviewState]) -> bool:
    return bool(review and review.claimed_by_id and review.claimed_by_id != getattr(actor, "id", None)
                and review.claim_expires_at and review.claim_expires_at > utcnow())


def _check_submittable(material: Material) -> None:
    if settings.get("review.open_licence"):
        licence = next((lic for lic in curriculum.licences() if lic.code == material.licence), None)
        if licence is None or not licence.open:
            raise ValidationError(_l("Học liệu phải được chia sẻ theo giấy phép mở (ví dụ CC BY 4.0) trước khi "
                                     "gửi duyệt."), field_errors={"licence": [_l("Cần giấy phép mở.")]})


def _restore_approved(material: Material, review: ReviewState) -> None:
    """Make the approved version the current one again (a revision was rejected or withdrawn)."""
    approved = set(review.approved_file_ids or [])
    if approved:
        for f in material.files:
            f.is_current = f.id in approved
    review.revision, review.approved_file_ids = None, []


def _set_state(material: Material, review: ReviewState, action: str, target: str) -> None:
    if review.revision and action not in MATERIAL_ACTIONS:
        if target == "rejected":
            _restore_approved(material, review)
        elif target in APPROVED and _RANK[target] >= _RANK.get(material.status, 0):
            material.status, review.revision, review.approved_file_ids = target, None, []
        else:
            review.revision = target
    else:
        if review.revision:
            _restore_approved(material, review)
        material.status = target
    if target == "published":
        material.approved_at = utcnow()
    review.entered_at = utcnow()
    review.claimed_by_id = review.claim_expires_at = None


def _deciders(material: Material, rule: str) -> list[User]:
    """The active accounts that may take the step `rule` on the material."""
    school_roles = (Role.SCHOOL_REVIEWER.value, Role.SCHOOL_ADMIN.value)
    dept_roles = (Role.DEPT_REVIEWER.value, Role.DEPT_ADMIN.value)
    roles = school_roles if rule == "review.school_decide" else dept_roles
    query = select(User).join(RoleAssignment).where(RoleAssignment.role.in_(roles)).distinct()
    if rule == "review.school_decide":
        query = query.where(RoleAssignment.school_id == material.school_id)
    return [user for user in db.session.scalars(query) if can(user, rule, material)]


def _notices(material: Material, action: str, target: str, reason: str) -> list:
    rows = []
    if action in DECISIONS | MATERIAL_ACTIONS:
        rows += notifications.notify([material.owner], notifications.DECISION, material, action=action,
                                     to_state=target, reason=reason or None)
    if target in workflow.QUEUE_STATES and action not in MATERIAL_ACTIONS:
        rows += notifications.notify(_deciders(material, workflow.QUEUE_STATES[target]), notifications.QUEUE_ITEM,
                                     material, to_state=target)
    return rows


def _take_turn(material: Material, review: ReviewState) -> None:
    """Refuse a transition that another request made first: the item's row must still carry the
    `entered_at` this request read (PostgreSQL makes the second UPDATE wait for the first commit and
    then match nothing). A first ReviewState row inserted twice fails at commit instead."""
    if not inspect(review).persistent:
        return
    query = (update(ReviewState).where(ReviewState.material_id == material.id,
                                       ReviewState.entered_at == review.entered_at)
             .values(entered_at=review.entered_at).execution_options(synchronize_session=False))
    if db.session.execute(query).rowcount != 1:
        db.session.rollback()
        raise Conflict(_l("Học liệu vừa được người khác xử lý. Hãy tải lại trang."))


def _commit_transition() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("Học liệu vừa được người khác xử lý. Hãy tải lại trang.")) from None


def _apply(actor: Any, material: Material, action: str, reason: str = "", checklist: Optional[list[str]] = None) -> Material:
    """Take `action` on the material: table, policy, claim, reason, then one commit."""
    step = workflow.step(material, action, settings.get("review.levels"))
    require(actor, step.rule, material)
    reason = (reason or "").strip()[:5000]
    if action in NEEDS_REASON and not reason:
        raise ValidationError(_l("Hãy ghi lý do."), field_errors={"reason": [_l("Hãy ghi lý do.")]})
    review = _review_of(material)
    if action in DECISIONS and _claimed_by_other(actor, review):
        raise Conflict(_l("Học liệu đang được người khác nhận duyệt."))
    if action == "submit":
        _check_submittable(material)
    _take_turn(material, review)
    allowed = set(settings.get("review.checklist"))
    checklist = [item for item in checklist or [] if item in allowed]  # only the criteria in force
    before, waiting_since, revision = workflow.state_of(material, action), review.entered_at, bool(review.revision)
    _set_state(material, review, action, step.target)
    if action in DECISIONS:
        late = utcnow() - waiting_since > timedelta(days=settings.get("review.deadline_days"))
        db.session.add(ReviewDecision(material_id=material.id, school_id=material.school_id,
                                      reviewer_id=getattr(actor, "id", None), action=action, from_state=before,
                                      to_state=step.target, waiting_since=waiting_since, late=late))
    audit.record(actor, f"review.{action}", material, from_state=before, to_state=step.target, reason=reason or None,
                 checklist=checklist or None, revision=revision or None)
    rows = _notices(material, action, step.target, reason)
    _commit_transition()
    notifications.deliver(rows)
    return material


@guarded("review.submit")
def submit(actor: Any, material: Material) -> Material:
    """draft or changes_requested -> submitted (the author)."""
    require(actor, "review.submit", material)
    return _apply(actor, material, "submit")


@guarded("review.withdraw")
def withdraw(actor: Any, material: Material) -> Material:
    """submitted -> draft, before any decision (the author)."""
    require(actor, "review.withdraw", material)
    return _apply(actor, material, "withdraw")


@guarded("review.school_decide")
def school_approve(actor: Any, material: Material, comment: str = "", checklist: Optional[list[str]] = None) -> Material:
    """submitted -> school_approved (or published with one review level)."""
    require(actor, "review.school_decide", material)
    return _apply(actor, material, "school_approve", comment, checklist)


@guarded("review.dept_decide")
def publish(actor: Any, material: Material, comment: str = "", checklist: Optional[list[str]] = None) -> Material:
    """school_approved -> published (the department)."""
    require(actor, "review.dept_decide", material)
    return _apply(actor, material, "publish", comment, checklist)


@guarded("review.decide")
def request_changes(actor: Any, material: Material, reason: str, checklist: Optional[list[str]] = None) -> Material:
    """Return the material to its author with the reviewer's comments, at either step."""
    require(actor, "review.decide", material)
    return _apply(actor, material, "request_changes", reason, checklist)


@guarded("review.decide")
def reject(actor: Any, material: Material, reason: str, checklist: Optional[list[str]] = None) -> Material:
    """Reject the material with a reason, at either step (final)."""
    require(actor, "review.decide", material)
    return _apply(actor, material, "reject", reason, checklist)


@guarded("review.retract")
def retract(actor: Any, material: Material, reason: str) -> Material:
    """An approved or published material withdrawn by its author or the school admin."""
    require(actor, "review.retract", material)
    return _apply(actor, material, "retract", reason)


@guarded("review.take_down")
def take_down(actor: Any, material: Material, reason: str) -> Material:
    """A published material taken down by the department admin."""
    require(actor, "review.take_down", material)
    return _apply(actor, material, "take_down", reason)


TRANSITION_FUNCTIONS = {"submit": submit, "withdraw": withdraw, "school_approve": school_approve,
                        "publish": publish, "request_changes": request_changes, "reject": reject,
                        "retract": retract, "take_down": take_down}


@unguarded("dispatches to the guarded transition functions above, which check the policy")
def perform(actor: Any, material: Material, action: str, reason: str = "",
            checklist: Optional[list[str]] = None) -> Material:
    """Take a named action (from a form); an unknown action name is refused like an illegal one."""
    function = TRANSITION_FUNCTIONS.get(action)
    if function is None:
        raise workflow.IllegalTransition(_l("Thao tác không hợp lệ."))
    if action in ("submit", "withdraw"):
        return function(actor, material)
    if action in MATERIAL_ACTIONS:
        return function(actor, material, reason)
    return function(actor, material, reason, checklist)


@unguarded("asks the policy for each action; answers only what the actor may do")
def available_actions(actor: Any, material: Material) -> list[str]:
    """The actions the actor may take on the material now (buttons to show)."""
    levels = settings.get("review.levels")
    found = []
    for action in workflow.actions_from(material):
        step = workflow.step(material, action, levels)
        if can(actor, step.rule, material) and not (action in DECISIONS and _claimed_by_other(actor, material.review)):
            found.append(action)
    return found


@unguarded("called by replace_file after its own policy check, inside its transaction")
def start_revision(actor: Any, material: Material, approved_ids: list[int]) -> list:
    """A new file version of an approved material goes through review again; the approved files
    stay what everyone else sees until the revision is approved. Returns notices to deliver."""
    review = _review_of(material)
    if not review.revision:
        review.approved_file_ids = list(approved_ids)
    before = workflow.state_of(material)
    review.revision, review.entered_at = "submitted", utcnow()
    review.claimed_by_id = review.claim_expires_at = None
    audit.record(actor, "review.revision_submitted", material, from_state=before, to_state="submitted",
                 revision=True)
    return _notices(material, "submit", "submitted", "")


@guarded("review.decide")
def claim(actor: Any, material: Material) -> ReviewState:
    """Claim an item waiting for the actor's decision, for review.claim_hours."""
    require(actor, "review.decide", material)
    if workflow.state_of(material) not in workflow.QUEUE_STATES:
        raise workflow.IllegalTransition(_l("Học liệu không ở trong hàng chờ duyệt."))
    review = _review_of(material)
    if _claimed_by_other(actor, review):
        raise Conflict(_l("Học liệu đang được người khác nhận duyệt."))
    review.claimed_by_id = actor.id
    review.claim_expires_at = utcnow() + timedelta(hours=settings.get("review.claim_hours"))
    audit.record(actor, "review.claim", material, until=review.claim_expires_at.isoformat(timespec="minutes"))
    db.session.commit()
    return review


@guarded("review.decide")
def release(actor: Any, material: Material) -> None:
    """Give up one's own claim."""
    require(actor, "review.decide", material)
    review = material.review
    if review is None or review.claimed_by_id != actor.id:
        raise Conflict(_l("Bạn không nhận duyệt học liệu này."))
    review.claimed_by_id = review.claim_expires_at = None
    audit.record(actor, "review.release", material)
    db.session.commit()


@guarded("review.report")
def report_problem(actor: Any, material: Material, kind: str, reason: str) -> ProblemReport:
    """Anyone signed in reports a problem with a published material to the department."""
    require(actor, "review.report", material)
    reason = (reason or "").strip()[:5000]
    if kind not in REPORT_KINDS:
        raise ValidationError(_l("Loại phản ánh không hợp lệ."), field_errors={"kind": [_l("Loại phản ánh không hợp lệ.")]})
    if not reason:
        raise ValidationError(_l("Hãy ghi lý do."), field_errors={"reason": [_l("Hãy ghi lý do.")]})
    report = ProblemReport(material_id=material.id, reporter_id=actor.id, kind=kind, reason=reason)
    db.session.add(report)
    audit.record(actor, "review.report_problem", material, kind=kind)
    admins = select(User).join(RoleAssignment).where(RoleAssignment.role == Role.DEPT_ADMIN.value).distinct()
    rows = notifications.notify(db.session.scalars(admins), notifications.PROBLEM, material, report_kind=kind, reason=reason)
    db.session.commit()
    notifications.deliver(rows)
    return report


@guarded("review.problem_reports")
def problem_reports(actor: Any, open_only: bool = True) -> list[ProblemReport]:
    """The department's queue of problem reports, oldest first."""
    require(actor, "review.problem_reports")
    query = select(ProblemReport).order_by(ProblemReport.created_at)
    if open_only:
        query = query.where(ProblemReport.resolved_at.is_(None))
    return list(db.session.scalars(query.limit(500)))


@guarded("review.problem_reports")
def resolve_report(actor: Any, report_id: int) -> ProblemReport:
    require(actor, "review.problem_reports")
    report = db.session.get(ProblemReport, report_id)
    if report is None:
        raise NotFound(_l("Không tìm thấy phản ánh."))
    report.resolved_at = utcnow()
    audit.record(actor, "review.report_resolved", report)
    db.session.commit()
    return report


@guarded("material.view")
def visible_files(actor: Any, material: Material) -> list[MaterialFile]:
    """The files the actor sees: the approved version while a revision is under review, unless
    the actor is its author or one of its reviewers."""
    require(actor, "material.view", material)  # anonymous visitors too, where the policy allows
    review = material.review
    if not (review and review.revision and review.approved_file_ids):
        return material.current_files
    if material.owner_id == getattr(actor, "id", None) or can(actor, "review.decide", material):
        return material.current_files
    approved = set(review.approved_file_ids)
    return [f for f in material.files if f.id in approved]


@guarded("material.view")
def history(actor: Any, material: Material) -> list[tuple[AuditEvent, Optional[User]]]:
    """The material's audit trail, oldest first, with each actor's account as it is now.
    Visitors who are not signed in see no history (it names the people involved)."""
    require(actor, "material.view", material)  # anonymous visitors too, where the policy allows
    if not getattr(actor, "is_authenticated", False):
        return []
    query = (select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id)
             .where(AuditEvent.target_type == "materials", AuditEvent.target_id == material.id)
             .order_by(AuditEvent.id))
    return [(event, user) for event, user in db.session.execute(query)]


@dataclass
class ReviewPage:
    """Everything the review page shows about one material."""

    material: Material
    files: list[MaterialFile]
    actions: list[str]
    same_files: list[MaterialFile]  # earlier files with the same SHA-256 in other materials
    near: list[Any]  # NearDuplicate flags, most similar first
    checklist: list[str]
    claimed_by: Optional[User]
    claim_expires_at: Optional[Any]


@guarded("material.view")
def review_page(actor: Any, material: Material) -> ReviewPage:
    require(actor, "material.view", material)
    from repository.services import near_duplicates

    files = visible_files(actor, material)
    same = [f.duplicate_of for f in files if f.duplicate_of is not None]
    review = material.review
    claimed = review and review.claimed_by_id and review.claim_expires_at and review.claim_expires_at > utcnow()
    return ReviewPage(material, files, available_actions(actor, material), same,
                      near_duplicates.flags_for(actor, material), list(settings.get("review.checklist")),
                      db.session.get(User, review.claimed_by_id) if claimed else None,
                      review.claim_expires_at if claimed else None)


@unguarded("called by delete_material after its own policy check, inside its transaction")
def forget_material(material_id: int) -> None:
    """Remove the workflow rows of a draft being deleted. ON DELETE CASCADE does this on
    PostgreSQL, but SQLite enforces no foreign keys here. The audit trail is kept."""
    from sqlalchemy import delete

    from repository.models import MaterialSignature, MinHashBand, NearDuplicate, Notification

    for column in (MinHashBand.material_id, MaterialSignature.material_id, NearDuplicate.material_id,
                   NearDuplicate.other_id, Notification.material_id, ReviewDecision.material_id,
                   ProblemReport.material_id):
        db.session.execute(delete(column.class_).where(column == material_id))
