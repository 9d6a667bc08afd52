"""Forgotten passwords over real SMTP, one-time links, admin resets and account activation."""
from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from repository import credentials, passwords
from repository.extensions import db
from repository.models import AccountToken, AuditEvent, User, UserStatus, utcnow
from tests.helpers import PASSWORD, sign_in
from tests.smtp import Mailbox, smtp_server

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"
NEW_PASSWORD = "Mat-Khau#2026"
SENT_NOTICE = "Nếu e-mail này có tài khoản, một liên kết đặt lại mật khẩu đã được gửi tới hộp thư."
EXPIRED = "Liên kết không hợp lệ hoặc đã hết hạn. Hãy đề nghị cấp liên kết mới."


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as pair:
        yield pair


@pytest.fixture
def tls_mailbox(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    """An SMTP server offering STARTTLS with a self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with smtp_server(context) as (box, port):
        yield box, port, cert


@pytest.fixture
def site(app_with: Any) -> Any:
    return app_with()


@pytest.fixture
def mail_site(app_with: Any, mailbox: tuple[Mailbox, int]) -> Any:
    _box, port = mailbox
    return app_with(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="kho-hoc-lieu@so.ninhbinh.edu.vn")


def alerts(response: Any) -> list[str]:
    html = response.get_data(as_text=True)
    return [unescape(m).strip() for m in re.findall(r'<div class="alert[^"]*" role="alert">(.*?)</div>', html, re.S)]


def path_of(response: Any) -> str:
    return urlsplit(response.headers["Location"]).path


def fresh_user(address: str) -> User:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == address))


def actions() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def link_path(text: str, purpose: str) -> str:
    """The path of the one one-time link of `purpose` ('reset' or 'activate') in a text."""
    found = re.findall(rf"https?://[^\s<\"]+(/account/{purpose}/[A-Za-z0-9_\-]+)", text)
    assert len(found) == 1, f"expected one {purpose} link, found {found}"
    return found[0]


def set_new_password(client: Any, path: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(path, data={"new_password": password, "confirm": password})


def can_sign_in(site: Any, address: str, password: str) -> bool:
    return sign_in(site.test_client(), address, password).status_code == 302


# --- forgotten password by e-mail ---------------------------------------------------------------


def test_forgot_password_mails_a_single_use_link(mail_site, mailbox, world):
    box, _port = mailbox
    client = mail_site.test_client()
    page = client.get("/account/forgot")
    assert page.status_code == 200
    assert 'name="email"' in page.get_data(as_text=True)

    response = client.post("/account/forgot", data={"email": TEACHER})
    assert response.status_code == 302 and path_of(response) == "/login"
    assert SENT_NOTICE in alerts(client.get("/login"))

    assert len(box.envelopes) == 1
    assert box.envelopes[0].rcpt_tos == [TEACHER]
    message = box.messages()[0]
    assert message["To"] == TEACHER
    assert "Đặt lại mật khẩu" in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Người teacher" in body
    path = link_path(body, "reset")
    assert "account.reset_requested" in actions()

    form = client.get(path)
    assert form.status_code == 200
    assert TEACHER in form.get_data(as_text=True)
    assert 'name="new_password"' in form.get_data(as_text=True)

    # A password that breaks the rules is refused and does not use up the link.
    weak = set_new_password(client, path, "matkhau")
    assert weak.status_code == 422
    assert "Mật khẩu phải có ít nhất 8 ký tự." in weak.get_data(as_text=True)
    assert client.get(path).status_code == 200

    response = set_new_password(client, path)
    assert response.status_code == 302 and path_of(response) == "/login"
    assert can_sign_in(mail_site, TEACHER, NEW_PASSWORD)
    assert not can_sign_in(mail_site, TEACHER, PASSWORD)

    for again in (client.get(path), set_new_password(client, path, "Khac-Mat-Khau#9")):
        assert again.status_code == 404
        assert EXPIRED in again.get_data(as_text=True)
    assert can_sign_in(mail_site, TEACHER, NEW_PASSWORD)


def test_unknown_email_gets_the_same_answer_and_no_mail(mail_site, mailbox, world):
    box, _port = mailbox
    client = mail_site.test_client()
    response = client.post("/account/forgot", data={"email": "khongco@thcs1.ninhbinh.edu.vn"})
    assert response.status_code == 302 and path_of(response) == "/login"
    unknown = alerts(client.get("/login"))

    client.post("/account/forgot", data={"email": TEACHER})
    known = alerts(client.get("/login"))
    assert unknown == known == [SENT_NOTICE]
    assert [e.rcpt_tos for e in box.envelopes] == [[TEACHER]]  # only the real account got mail


def test_disabled_account_gets_no_mail(mail_site, mailbox, world):
    box, _port = mailbox
    user = fresh_user(TEACHER)
    user.status = UserStatus.DISABLED.value
    db.session.commit()
    client = mail_site.test_client()
    client.post("/account/forgot", data={"email": TEACHER})
    assert alerts(client.get("/login")) == [SENT_NOTICE]
    assert box.envelopes == []


def test_a_new_request_voids_the_earlier_link(mail_site, mailbox, world):
    box, _port = mailbox
    client = mail_site.test_client()
    client.post("/account/forgot", data={"email": TEACHER})
    client.post("/account/forgot", data={"email": TEACHER})
    first, second = (link_path(m.get_body(preferencelist=("plain",)).get_content(), "reset") for m in box.messages())
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_starttls_checks_the_mail_server_certificate(app_with, tls_mailbox, world, monkeypatch):
    box, port, cert = tls_mailbox
    client = app_with(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=True).test_client()
    # The certificate is not in the trust store: the reset link must not be handed over.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(ssl.SSLCertVerificationError):
        client.post("/account/forgot", data={"email": TEACHER})
    assert box.envelopes == []

    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now the server is trusted
    response = client.post("/account/forgot", data={"email": TEACHER})
    assert response.status_code == 302
    assert [e.rcpt_tos for e in box.envelopes] == [[TEACHER]]
    link_path(box.messages()[0].get_body(preferencelist=("plain",)).get_content(), "reset")


def test_without_mail_server_the_page_points_to_an_admin(site, world):
    client = site.test_client()
    page = client.get("/account/forgot").get_data(as_text=True)
    assert "Hãy liên hệ quản trị trường hoặc quản trị Sở để được cấp lại mật khẩu." in page
    assert 'name="email"' not in page


def test_expired_link_is_refused(site, world):
    raw = credentials.issue_token(fresh_user(TEACHER), credentials.PURPOSE_RESET)
    db.session.commit()
    client = site.test_client()
    path = f"/account/reset/{raw}"
    assert client.get(path).status_code == 200  # the same link works while it is fresh

    token = db.session.scalar(select(AccountToken).where(AccountToken.user_id == fresh_user(TEACHER).id))
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    for response in (client.get(path), set_new_password(client, path)):
        assert response.status_code == 404
        assert EXPIRED in response.get_data(as_text=True)
    assert passwords.verify_password(fresh_user(TEACHER).password_hash, PASSWORD)


def test_made_up_link_is_refused(site, world):
    response = site.test_client().get("/account/reset/khong-phai-lien-ket-that")
    assert response.status_code == 404
    assert EXPIRED in response.get_data(as_text=True)


# --- reset by an administrator ------------------------------------------------------------------


def test_department_admin_reset_gives_a_one_time_link_and_signs_the_user_out(site, world):
    target = fresh_user(TEACHER)
    teacher = site.test_client()
    assert sign_in(teacher, TEACHER).status_code == 302
    assert teacher.get("/account/").status_code == 200

    admin = site.test_client()
    assert sign_in(admin, "admin@so.ninhbinh.edu.vn").status_code == 302
    response = admin.post(f"/admin/users/{target.id}/reset")
    assert response.status_code == 200
    path = link_path(response.get_data(as_text=True), "reset")
    assert "user.password_reset" in actions()

    response = teacher.get("/account/")
    assert response.status_code == 302 and path_of(response) == "/login"

    owner = site.test_client()
    assert owner.get(path).status_code == 200
    assert set_new_password(owner, path).status_code == 302
    assert sign_in(owner, TEACHER, NEW_PASSWORD).status_code == 302
    assert owner.get("/account/").status_code == 200  # the new password clears the forced change
    assert owner.get(path).status_code == 404


def test_admin_of_another_school_cannot_reset(site, world):
    target = fresh_user(TEACHER)
    teacher = site.test_client()
    sign_in(teacher, TEACHER)
    admin = site.test_client()
    assert sign_in(admin, "hieutruong@thcs2.ninhbinh.edu.vn").status_code == 302
    response = admin.post(f"/admin/users/{target.id}/reset")
    assert response.status_code == 403
    assert "/account/reset/" not in response.get_data(as_text=True)
    assert teacher.get("/account/").status_code == 200
    assert "user.password_reset" not in actions()


# --- activation of an account made by an administrator ------------------------------------------


def test_school_admin_creates_an_account_that_is_activated_by_its_link(site, world):
    new = "giaovienmoi@thcs1.ninhbinh.edu.vn"
    admin = site.test_client()
    assert sign_in(admin, "hieutruong@thcs1.ninhbinh.edu.vn").status_code == 302
    response = admin.post("/admin/users/new", data={"email": new, "full_name": "Nguyễn Thị Mới",
                                                    "school_code": "THCS01", "roles": ["teacher"]})
    assert response.status_code == 200
    path = link_path(response.get_data(as_text=True), "activate")
    user = fresh_user(new)
    assert user.status == UserStatus.PENDING.value
    assert not can_sign_in(site, new, NEW_PASSWORD)

    owner = site.test_client()
    # An activation link is not a reset link.
    assert owner.get(path.replace("/activate/", "/reset/")).status_code == 404
    page = owner.get(path)
    assert page.status_code == 200
    assert "Nguyễn Thị Mới" in page.get_data(as_text=True)

    response = set_new_password(owner, path)
    assert response.status_code == 302 and path_of(response) == "/login"
    user = fresh_user(new)
    assert user.status == UserStatus.ACTIVE.value
    assert user.must_change_password is False
    assert sign_in(owner, new, NEW_PASSWORD).status_code == 302
    assert owner.get("/account/").status_code == 200
    assert owner.get(path).status_code == 404
