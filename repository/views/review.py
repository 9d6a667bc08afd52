"""Review pages: queues, the review page, decisions (one or many), claims, problem reports, the
workflow settings, reviewer figures; and the notification list (its own blueprint)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from repository import curriculum, workflow
from repository.errors import ValidationError
from repository.services import materials, notifications, review, review_figures, review_queue, schools, settings
from repository.views.labels import MATERIAL_STATUS_LABELS

bp = Blueprint("review", __name__, url_prefix="/review")
notifications_bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@notifications_bp.app_context_processor
def _unread() -> dict[str, Any]:
    """The navbar badge: the signed-in user's unread notifications."""
    def count() -> int:
        return notifications.unread_count(current_user) if current_user.is_authenticated else 0
    return {"unread_notifications": count, "workflow_labels": workflow.ACTION_LABELS,
            "workflow_state": workflow.state_of}


def _int(value: Optional[str]) -> Optional[int]:
    return int(value) if value and value.isdigit() else None


def _back(material_id: int) -> Any:
    target = request.form.get("next", "")
    if target == "review":
        return redirect(url_for("review.item", material_id=material_id), 303)
    return redirect(url_for("materials.show", material_id=material_id), 303)


@bp.route("/")
@login_required
def queue() -> Any:
    filters = review_queue.QueueFilters(subject=request.args.get("subject", "")[:32],
                                        grade=request.args.get("grade", "")[:8],
                                        school_id=_int(request.args.get("school")),
                                        min_age_days=_int(request.args.get("age")))
    items = review_queue.waiting_for(current_user, filters)
    return render_template("review/queue.html", items=items, filters=filters, subjects=curriculum.subjects(),
                           grades=curriculum.grades(), schools=schools.list_schools(current_user)
                           if _can_list_schools() else [], decisions=sorted(workflow.DECISIONS))


def _can_list_schools() -> bool:
    from repository.permissions import can

    return can(current_user, "school.list")


@bp.route("/escalations")
@login_required
def escalations() -> Any:
    return render_template("review/escalations.html", items=review_queue.escalations(current_user))


@bp.route("/bulk", methods=["POST"])
@login_required
def bulk() -> Any:
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()]
    results = review_queue.decide_many(current_user, ids, request.form.get("action", ""),
                                       request.form.get("reason", ""))
    done = sum(1 for _id, error in results if error is None)
    flash(_("Đã xử lý %(n)d/%(total)d học liệu.", n=done, total=len(results)), "success" if done else "warning")
    for material_id, error in results:
        if error:
            flash(_("Học liệu #%(id)d: %(error)s", id=material_id, error=error), "danger")
    return redirect(url_for("review.queue"), 303)


@bp.route("/<int:material_id>")
@login_required
def item(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    page = review.review_page(current_user, material)
    return render_template("review/item.html", page=page, material=material,
                           subject=curriculum.subject(material.subject),
                           grade_names={g.code: g.name for g in curriculum.grades()})


@bp.route("/<int:material_id>/act/<action>", methods=["POST"])
@login_required
def act(material_id: int, action: str) -> Any:
    material = materials.get_material(current_user, material_id)
    checklist = [v[:200] for v in request.form.getlist("checklist")][:30]
    review.perform(current_user, material, action, request.form.get("reason", ""), checklist)
    flash(_("Đã thực hiện: %(action)s. Trạng thái mới: %(state)s.",
            action=workflow.ACTION_LABELS.get(action, action),
            state=MATERIAL_STATUS_LABELS.get(workflow.state_of(material), workflow.state_of(material))), "success")
    return _back(material_id)


@bp.route("/<int:material_id>/claim", methods=["POST"])
@login_required
def claim(material_id: int) -> Any:
    review.claim(current_user, materials.get_material(current_user, material_id))
    flash(_("Bạn đã nhận duyệt học liệu này."), "success")
    return redirect(url_for("review.item", material_id=material_id), 303)


@bp.route("/<int:material_id>/release", methods=["POST"])
@login_required
def release(material_id: int) -> Any:
    review.release(current_user, materials.get_material(current_user, material_id))
    flash(_("Bạn đã trả lại học liệu cho hàng chờ."), "success")
    return redirect(url_for("review.item", material_id=material_id), 303)


@bp.route("/<int:material_id>/report", methods=["POST"])
@login_required
def report(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    review.report_problem(current_user, material, request.form.get("kind", ""), request.form.get("reason", ""))
    flash(_("Cảm ơn bạn. Phản ánh đã được gửi tới Sở."), "success")
    return redirect(url_for("materials.show", material_id=material_id), 303)


@bp.route("/reports")
@login_required
def reports() -> Any:
    return render_template("review/reports.html", reports=review.problem_reports(current_user),
                           kinds=review.REPORT_KINDS)


@bp.route("/reports/<int:report_id>/resolve", methods=["POST"])
@login_required
def resolve(report_id: int) -> Any:
    review.resolve_report(current_user, report_id)
    flash(_("Đã đánh dấu phản ánh là đã xử lý."), "success")
    return redirect(url_for("review.reports"), 303)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings_page() -> Any:
    status = 200
    if request.method == "POST":
        values = {spec.key: (spec.key in request.form) if spec.kind == "bool" else request.form.get(spec.key, "")
                  for spec in settings.declared()}
        try:
            changed = settings.update(current_user, values)
        except ValidationError as error:
            flash(str(error.message) + " " + ", ".join(error.field_errors), "danger")
            status = error.status
        else:
            flash(_("Đã lưu %(n)d thay đổi.", n=len(changed)), "success")
            return redirect(url_for("review.settings_page"), 303)
    return render_template("review/settings.html", rows=settings.editable(current_user),
                           changes=settings.recent_changes(current_user)), status


def _since() -> Optional[datetime]:
    try:
        return datetime.strptime(request.args.get("since", ""), "%Y-%m-%d")
    except ValueError:
        return None


@bp.route("/figures")
@login_required
def figures() -> Any:
    since = _since()
    return render_template("review/figures.html", reviewers=review_figures.by_reviewer(current_user, since),
                           schools=review_figures.by_school(current_user, since), since=since)


@bp.route("/figures.csv")
@login_required
def figures_csv() -> Any:
    body = review_figures.figures_csv(current_user, _since())
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=review-figures.csv"})


@notifications_bp.route("/")
@login_required
def notification_list() -> Any:
    return render_template("notifications/list.html", rows=notifications.list_for(current_user))


@notifications_bp.route("/read", methods=["POST"])
@login_required
def mark_read() -> Any:
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()]
    notifications.mark_read(current_user, ids or None)
    return redirect(url_for("notifications.notification_list"), 303)
