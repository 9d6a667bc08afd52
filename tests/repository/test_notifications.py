"""Notifications: the in-app list with its unread badge, e-mail through a real SMTP server started
on 127.0.0.1 (off without MAIL_SERVER), the reviewers' daily digest command."""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from sqlalchemy import select

from repository.extensions import db
from repository.models import Notification
from repository.services import notifications, review, settings
from tests.helpers import sign_in
from tests.repository.review_support import make_material, submitted
from tests.smtp import Mailbox

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"
REVIEWER = "totruong@thcs1.ninhbinh.edu.vn"


def _mail_app(app_with: Any, port: int) -> Any:
    return app_with(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="kho@so.ninhbinh.edu.vn")


def test_in_app_list_unread_badge_and_marking_read(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = submitted(world, tmp_path)
    reviewer = app.test_client()
    sign_in(reviewer, REVIEWER)
    assert notifications.unread_count(world["school_reviewer"]) == 1
    assert notifications.unread_count(world["school_admin"]) == 1  # the school admin may take the step too
    assert notifications.unread_count(world["school_admin2"]) == 0  # another school
    assert notifications.unread_count(world["dept_reviewer"]) == 0  # not their step yet
    home = reviewer.get("/notifications/").get_data(as_text=True)
    assert 'id="unread-badge">1<' in home and "đang chờ bạn duyệt" in home
    review.request_changes(world["school_reviewer"], material, "Sửa lỗi chính tả")
    [note] = notifications.list_for(world["teacher"])
    assert note.details == {"action": "request_changes", "to_state": "changes_requested", "reason": "Sửa lỗi chính tả"}
    teacher = app.test_client()
    sign_in(teacher, TEACHER)
    page = teacher.get("/notifications/").get_data(as_text=True)
    assert "Cần chỉnh sửa" in page and "Sửa lỗi chính tả" in page and 'id="unread-badge"' in page
    # Marking someone else's notification id does nothing to it.
    other_id = notifications.list_for(world["school_reviewer"])[0].id
    teacher.post("/notifications/read", data={"ids": [str(other_id)]})
    assert notifications.unread_count(world["school_reviewer"]) == 1
    assert teacher.post("/notifications/read").status_code == 303
    assert notifications.unread_count(world["teacher"]) == 0
    assert 'id="unread-badge"' not in teacher.get("/notifications/").get_data(as_text=True)


def test_the_author_hears_about_every_decision(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    material = submitted(world, tmp_path)
    review.school_approve(world["school_reviewer"], material)
    assert notifications.unread_count(world["dept_reviewer"]) == 1  # now in the department queue
    review.publish(world["dept_reviewer"], material)
    review.take_down(world["dept_admin"], material, "Vi phạm bản quyền")
    states = [n.details["to_state"] for n in reversed(notifications.list_for(world["teacher"]))]
    assert states == ["school_approved", "published", "taken_down"]


def test_decisions_are_emailed_through_a_real_smtp_server(app_with: Any, world: dict[str, Any], tmp_path: Path,
                                                          smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    mail_app = _mail_app(app_with, port)
    with mail_app.test_request_context():
        material = make_material(world["teacher"], tmp_path)
        review.submit(world["teacher"], material)
        assert box.recipients() == ["hieutruong@thcs1.ninhbinh.edu.vn", "totruong@thcs1.ninhbinh.edu.vn"]
        review.request_changes(world["school_reviewer"], material, "Thiếu nguồn tham khảo")
    message = box.messages()[-1]
    assert message["To"] == "giaovien@thcs1.ninhbinh.edu.vn"
    assert message["From"] == "kho@so.ninhbinh.edu.vn"
    body = message.get_content()
    assert "Thiếu nguồn tham khảo" in body and f"/materials/{material.id}" in body
    assert "Người teacher" in body  # addressed by name


def test_no_mail_server_means_no_email_and_a_failing_server_does_not_undo(app_with: Any, world: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    material = make_material(world["teacher"], tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]  # nothing listens here once the socket closes
    with _mail_app(app_with, dead_port).test_request_context():
        review.submit(world["teacher"], material)
    assert material.status == "submitted"
    assert db.session.scalars(select(Notification)).all()  # the in-app notices are kept


def test_daily_digest_command(app_with: Any, world: dict[str, Any], tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    settings.update(world["dept_admin"], {"review.reviewer_digest": True})
    mail_app = _mail_app(app_with, port)
    with mail_app.test_request_context():
        first = submitted(world, tmp_path, title="Bài một")
        submitted(world, tmp_path, title="Bài hai")
        assert box.envelopes == []  # reviewers wait for the digest
        review.request_changes(world["school_reviewer"], first, "Sửa")
        assert box.recipients() == ["giaovien@thcs1.ninhbinh.edu.vn"]  # authors are told at once
    with mail_app.app_context():  # the command runs in the current app context, as under `flask`
        result = mail_app.test_cli_runner().invoke(args=["review", "digest"])
    assert result.exit_code == 0, result.output
    assert "Đã gửi 2 thư" in result.output, result.output
    digests = [m for m in box.messages() if "chờ duyệt" in m["Subject"]]
    assert sorted(m["To"] for m in digests) == ["hieutruong@thcs1.ninhbinh.edu.vn", "totruong@thcs1.ninhbinh.edu.vn"]
    assert "Bài một" in digests[0].get_content() and "Bài hai" in digests[0].get_content()
    with mail_app.app_context():
        again = mail_app.test_cli_runner().invoke(args=["review", "digest"])
    assert "Đã gửi 0 thư" in again.output
