"""Outgoing e-mail over SMTP (stdlib smtplib: one small function needs no extra library).

Messages are worded in the request (its language, its links) and then sent as a job: now without
REDIS_URL, by the jobs worker with it, retried there while the SMTP server is unreachable."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import gettext as _

from repository import jobs
from repository.models import User

# Waits before each retry of a queued message: a short SMTP outage must not lose it.
RETRY_SECONDS = (60, 300, 1800)


def configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def send(to: str, subject: str, body: str) -> None:
    """Send one plain-text message through the job queue (see the module docstring); inline, an
    SMTP failure raises here as before."""
    jobs.enqueue("repository.mail.send_now", to, subject, body, retry_intervals=RETRY_SECONDS)


def send_now(to: str, subject: str, body: str) -> None:
    """Send one plain-text message through the configured SMTP server."""
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    # smtplib's own default context checks no certificate; this one checks the system's trust store.
    context = ssl.create_default_context()
    if cfg["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=20, context=context)
    else:
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=20)
    with smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls(context=context)
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(message)


def send_password_reset(user: User, link: str) -> None:
    body = render_template("email/password_reset.txt", user=user, link=link,
                           hours=current_app.config["TOKEN_HOURS"])
    send(user.email, _("Đặt lại mật khẩu – Kho học liệu số"), body)
