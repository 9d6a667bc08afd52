"""The audit trail of the workflow (ids only, never updated), the department admin's audit search,
and the reviewer figures page and CSV."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from repository.extensions import db
from repository.models import AuditEvent, ReviewDecision, ReviewState, utcnow
from repository.services import review, review_figures, users
from repository.permissions import SystemActor
from tests.repository.review_support import DEPT_ADMIN, DEPT_REVIEWER, published, signed_in, submitted




def test_audit_rows_hold_ids_not_personal_data(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = published(world, tmp_path)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("review."))).all()
    assert [e.action for e in events] == ["review.submit", "review.school_approve", "review.publish"]
    for event in events:
        text = repr(event.details)
        assert "@" not in text and "Người" not in text
        assert event.target_type == "materials" and event.target_id == material.id
    # Anonymising the reviewer anonymises the history shown on the material page.
    users.anonymise_user(SystemActor(), world["school_reviewer"])
    page = signed_in(app, DEPT_ADMIN).get(f"/materials/{material.id}").get_data(as_text=True)
    assert "Người school_reviewer" not in page
    assert "Trường đã duyệt" in page  # the step is still there


def test_the_audit_search_filters(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    first = submitted(world, tmp_path, title="Bài một")
    second = submitted(world, tmp_path, title="Bài hai")
    review.reject(world["school_reviewer"], second, "Không phù hợp")
    admin = signed_in(app, DEPT_ADMIN)
    page = admin.get("/admin/audit?action=review.reject").get_data(as_text=True)
    assert "review.reject" in page and "review.submit" not in page
    page = admin.get(f"/admin/audit?action=review.&target_type=materials&target_id={first.id}").get_data(as_text=True)
    assert "review.submit" in page and "review.reject" not in page
    page = admin.get(f"/admin/audit?actor={world['school_reviewer'].id}").get_data(as_text=True)
    assert "review.reject" in page and "review.submit" not in page
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert "review.submit" not in admin.get(f"/admin/audit?since={tomorrow}").get_data(as_text=True)
    assert "review.submit" in admin.get(f"/admin/audit?until={utcnow():%Y-%m-%d}&since=bad").get_data(as_text=True)
    assert signed_in(app, "hieutruong@thcs1.ninhbinh.edu.vn").get("/admin/audit").status_code == 403


def _decided_after(material: Any, hours: int) -> None:
    """Backdate the last decision so that it took `hours` hours."""
    decision = db.session.scalars(select(ReviewDecision).where(ReviewDecision.material_id == material.id)
                                  .order_by(ReviewDecision.id.desc())).first()
    decision.waiting_since = decision.decided_at - timedelta(hours=hours)
    decision.late = hours > 7 * 24
    db.session.commit()


def test_reviewer_figures_page_and_csv(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    a = submitted(world, tmp_path, title="A")
    review.school_approve(world["school_reviewer"], a)
    _decided_after(a, 10)
    b = submitted(world, tmp_path, title="B")
    review.school_approve(world["school_reviewer"], b)
    _decided_after(b, 200)
    c = submitted(world, tmp_path, title="C")
    review.school_approve(world["school_reviewer"], c)
    _decided_after(c, 30)
    review.publish(world["dept_reviewer"], a)
    _decided_after(a, 4)
    waiting = submitted(world, tmp_path, author="teacher2", title="D")
    db.session.get(ReviewState, waiting.id).entered_at = utcnow() - timedelta(days=9)
    db.session.commit()

    reviewers = {r.name: r for r in review_figures.by_reviewer(world["dept_admin"])}
    school_reviewer = reviewers["Người school_reviewer"]
    assert (school_reviewer.decided, school_reviewer.median_hours, school_reviewer.late) == (3, 30.0, 1)
    assert (reviewers["Người dept_reviewer"].decided, reviewers["Người dept_reviewer"].median_hours) == (1, 4.0)
    schools = {r.name: r for r in review_figures.by_school(world["dept_admin"])}
    assert (schools["Trường THCS Hoa Lư"].decided, schools["Trường THCS Hoa Lư"].overdue_now) == (4, 0)
    assert (schools["Trường THCS Gia Viễn"].decided, schools["Trường THCS Gia Viễn"].overdue_now) == (0, 1)

    admin = signed_in(app, DEPT_REVIEWER)
    assert "Người school_reviewer" in admin.get("/review/figures").get_data(as_text=True)
    response = admin.get("/review/figures.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_name = {(r["scope"], r["name"]): r for r in rows}
    assert by_name[("reviewer", "Người school_reviewer")]["median_hours"] == "30.0"
    assert by_name[("school", "Trường THCS Gia Viễn")]["overdue_now"] == "1"
    future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert review_figures.by_reviewer(world["dept_admin"], utcnow() + timedelta(days=1)) == []
    assert admin.get(f"/review/figures?since={future}").status_code == 200
    assert signed_in(app, "hieutruong@thcs1.ninhbinh.edu.vn").get("/review/figures.csv").status_code == 403
