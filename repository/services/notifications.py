"""Notifications: the in-app list with its unread count, and e-mail when MAIL_SERVER is set.

Rules: a notification stores codes and ids only and is worded when read, in the reader's language
(templates/notifications/_notice.txt, with the material's current title: nothing is copied). Rows are added in the caller's
transaction; e-mail goes out after the commit (`deliver`), and a failing SMTP server is logged,
never undoing the action. Reviewers may choose the daily digest (setting review.reviewer_digest):
their queue notices are then e-mailed by `flask --app app review digest` instead.
"""
from __future__ import annotations

import smtplib
from typing import Any, Iterable

from flask import current_app, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from repository import mail
from repository.extensions import db
from repository.models import Material, Notification, User, UserStatus, utcnow
from repository.permissions import require
from repository.services import guarded, settings, unguarded

DECISION = "decision"  # the author hears about a decision on their material
QUEUE_ITEM = "queue_item"  # a reviewer has a new item in their queue
PROBLEM = "problem_report"  # the department hears about a reported problem


@unguarded("adds rows for an action its caller has already authorised")
def notify(recipients: Iterable[User], kind: str, material: Material, **details: Any) -> list[Notification]:
    """One notification per active recipient, in the caller's transaction."""
    digest = kind == QUEUE_ITEM and bool(settings.get("review.reviewer_digest"))
    rows, seen = [], set()
    for user in recipients:
        if user.id in seen or user.status != UserStatus.ACTIVE.value:
            continue
        seen.add(user.id)
        rows.append(Notification(user_id=user.id, kind=kind, material_id=material.id, digest_pending=digest,
                                 details={k: v for k, v in details.items() if v is not None}))
    db.session.add_all(rows)
    return rows


def _link(note: Notification) -> str:
    """The page a notice is about: its material, or the reports page for a report reminder."""
    if note.kind == "report_reminder":
        endpoint, values, path = "reports.overview", {}, "/reports/"
    elif note.material_id:
        endpoint, values, path = "materials.show", {"material_id": note.material_id}, f"/materials/{note.material_id}"
    else:
        return ""
    try:
        return url_for(endpoint, _external=True, **values)
    except RuntimeError:  # the digest command runs outside a request and without SERVER_NAME
        return path


def _send_safely(to: str, subject: str, body: str) -> bool:
    try:
        mail.send(to, subject, body)
    except (smtplib.SMTPException, OSError) as error:
        current_app.logger.warning("notification e-mail to user failed: %s", error)
        return False
    return True


@unguarded("sends what `notify` recorded for an authorised action, after its commit")
def deliver(rows: list[Notification]) -> int:
    """E-mail each notification not kept for the digest; returns how many were sent."""
    if not mail.configured():
        return 0
    sent = 0
    for note in rows:
        if note.digest_pending:
            continue
        user = db.session.get(User, note.user_id)
        body = render_template("notifications/email.txt", user=user, note=note, link=_link(note))
        sent += _send_safely(user.email, _("Thông báo – Kho học liệu số"), body)
    return sent


@unguarded("the daily digest command run by the operator; it mails each user their own notices")
def send_digest() -> int:
    """E-mail every user their notices kept for the digest, then clear the mark; returns the
    number of messages sent. Without MAIL_SERVER nothing is sent and the marks stay."""
    if not mail.configured():
        return 0
    pending = list(db.session.scalars(select(Notification).where(Notification.digest_pending.is_(True))
                                      .order_by(Notification.user_id, Notification.id)))
    by_user: dict[int, list[Notification]] = {}
    for note in pending:
        by_user.setdefault(note.user_id, []).append(note)
    sent = 0
    for user_id, notes in by_user.items():
        user = db.session.get(User, user_id)
        items = [(n, _link(n)) for n in notes]
        body = render_template("notifications/digest.txt", user=user, items=items)
        if _send_safely(user.email, _("Học liệu chờ duyệt hôm nay – Kho học liệu số"), body):
            sent += 1
            for note in notes:
                note.digest_pending = False
    db.session.commit()
    return sent


@guarded("notification.list")
def list_for(actor: Any, limit: int = 100) -> list[Notification]:
    """The actor's own notifications, newest first."""
    require(actor, "notification.list")
    query = select(Notification).where(Notification.user_id == actor.id).order_by(Notification.id.desc())
    return list(db.session.scalars(query.limit(limit)))


@guarded("notification.list")
def unread_count(actor: Any) -> int:
    require(actor, "notification.list")
    query = select(func.count()).select_from(Notification).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None))
    return db.session.scalar(query) or 0


@guarded("notification.list")
def mark_read(actor: Any, ids: list[int] | None = None) -> int:
    """Mark the actor's own notifications read (all of them without `ids`); others' are untouched."""
    require(actor, "notification.list")
    query = update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    count = db.session.execute(query.values(read_at=utcnow())).rowcount
    db.session.commit()
    return count
