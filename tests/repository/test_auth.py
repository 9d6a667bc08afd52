"""Signing in and out, lock-out, rate limit, idle expiry, password rules and the personal-data page."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from repository import passwords
from repository.extensions import db
from repository.models import AuditEvent, User, UserStatus, utcnow
from repository.permissions import SystemActor
from repository.services import users
from tests.helpers import PASSWORD, sign_in

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"
BAD_CREDENTIALS = "E-mail hoặc mật khẩu không đúng."
NEW_PASSWORD = "Mat-Khau#2026"


def alerts(response: Any) -> list[str]:
    """The flashed messages shown on a page."""
    html = response.get_data(as_text=True)
    return [unescape(m).strip() for m in re.findall(r'<div class="alert[^"]*" role="alert">(.*?)</div>', html, re.S)]


def login_form_next(page: str) -> str:
    """The page the sign-in form returns to (its hidden `next` field)."""
    match = re.search(r'<input id="next" name="next" type="hidden" value="([^"]*)">', page)
    assert match, "the sign-in form has a hidden next field"
    return unescape(match.group(1))


def path_of(response: Any) -> str:
    return urlsplit(response.headers["Location"]).path


def actions() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def fresh_user(email: str) -> User:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == email))


def signed_in(client: Any) -> bool:
    """True when the client can open its own account page."""
    return client.get("/account/").status_code == 200


def change(client: Any, current: str, new: str, confirm: str | None = None) -> Any:
    return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                   "confirm": new if confirm is None else confirm})


# --- signing in and out -------------------------------------------------------------------------


def test_sign_in_and_sign_out(client, world):
    assert not signed_in(client)
    response = sign_in(client, TEACHER)
    assert response.status_code == 302
    assert path_of(response) == "/"
    assert signed_in(client)
    assert "Người teacher" in client.get("/").get_data(as_text=True)

    response = client.post("/logout")
    assert response.status_code == 302
    assert path_of(response) == "/login"
    assert "Bạn đã đăng xuất." in alerts(client.get("/login"))
    response = client.get("/account/")
    assert response.status_code == 302 and path_of(response) == "/login"
    assert actions()[-2:] == ["auth.sign_in", "auth.sign_out"]


def test_sign_in_ignores_case_and_spaces_in_email(client, world):
    assert sign_in(client, "  GiaoVien@THCS1.ninhbinh.edu.vn ").status_code == 302
    assert signed_in(client)


def test_wrong_password_and_unknown_email_get_the_same_answer(client, world):
    wrong = sign_in(client, TEACHER, "Sai-Mat-Khau#1")
    unknown = sign_in(client, "khongco@thcs1.ninhbinh.edu.vn", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert alerts(wrong) == alerts(unknown) == [BAD_CREDENTIALS]
    assert not signed_in(client)


def test_empty_form_is_refused(client, world):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    assert not signed_in(client)


def test_every_failed_sign_in_checks_one_password_hash(client, world, monkeypatch):
    """Unknown, password-less and disabled accounts cost the same hash check as a wrong password,
    so the response time does not reveal which addresses have an account."""
    users.create_user(SystemActor(), users.UserInput("moi@thcs1.ninhbinh.edu.vn", "Người mới", "THCS01"))
    users.set_disabled(SystemActor(), fresh_user("giaovien@thcs2.ninhbinh.edu.vn"), True)
    checked: list[str] = []
    real = passwords.verify_password

    def counting(stored_hash: Any, password: str) -> bool:
        checked.append(stored_hash)
        return real(stored_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    for email, password in [(TEACHER, "Sai-Mat-Khau#1"), ("khongco@thcs1.ninhbinh.edu.vn", PASSWORD),
                            ("moi@thcs1.ninhbinh.edu.vn", PASSWORD), ("giaovien@thcs2.ninhbinh.edu.vn", PASSWORD)]:
        checked.clear()
        assert sign_in(client, email, password).status_code == 401, email
        assert len(checked) == 1 and checked[0].startswith("$argon2id$"), email


@pytest.mark.parametrize("email", [TEACHER, "khongco@thcs1.ninhbinh.edu.vn"], ids=["existing", "unknown"])
def test_five_failures_lock_the_email(client, world, email):
    for attempt in range(4):
        # Changing the case of the address does not give fresh attempts.
        response = sign_in(client, email.upper() if attempt % 2 else email, "Sai-Mat-Khau#1")
        assert response.status_code == 401
    assert "auth.locked" not in actions()  # four failures are not yet a lock

    assert sign_in(client, email, "Sai-Mat-Khau#1").status_code == 401
    assert actions().count("auth.locked") == 1

    response = sign_in(client, email, PASSWORD)  # even the right password is refused now
    assert response.status_code == 429
    [message] = alerts(response)
    assert "thử lại sau" in message
    assert BAD_CREDENTIALS not in message
    assert not signed_in(client)
    assert "auth.throttled" in actions()
    assert "auth.sign_in" not in actions()

    # Another account is not affected by the lock on this address.
    assert sign_in(client, "giaovien@thcs2.ninhbinh.edu.vn").status_code == 302


def test_successful_sign_in_resets_the_failure_count(client, world):
    for _ in range(4):
        assert sign_in(client, TEACHER, "Sai-Mat-Khau#1").status_code == 401
    assert sign_in(client, TEACHER).status_code == 302
    client.post("/logout")
    for _ in range(4):
        assert sign_in(client, TEACHER, "Sai-Mat-Khau#1").status_code == 401
    assert sign_in(client, TEACHER).status_code == 302
    assert signed_in(client)


def test_ip_rate_limit_on_sign_in(app_with, world):
    client = app_with(LOGIN_RATE_LIMIT="3 per minute").test_client()
    for n in range(3):
        assert sign_in(client, f"khongco{n}@thcs1.ninhbinh.edu.vn", "Sai-Mat-Khau#1").status_code == 401
    response = sign_in(client, TEACHER)  # a fourth POST from the same address, even a right one
    assert response.status_code == 429
    assert "Bạn thao tác quá nhanh. Vui lòng đợi một lát rồi thử lại." in response.get_data(as_text=True)
    assert not signed_in(client)
    assert client.get("/login").status_code == 200  # only posting is limited


# --- where sign-in leads ------------------------------------------------------------------------


def test_next_accepts_a_local_path(client, world):
    response = client.post("/login", data={"email": TEACHER, "password": PASSWORD, "next": "/account/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example",
                                    "//evil.example/account/", "http://evil.example/account/"])
def test_next_refuses_other_hosts(client, world, target):
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert login_form_next(page) == ""
    response = client.post("/login", data={"email": TEACHER, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_protected_page_returns_after_sign_in(client, world):
    response = client.get("/account/")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert path_of(response) == "/login"
    target = login_form_next(client.get(login_url).get_data(as_text=True))
    assert target == "/account/"
    response = client.post("/login", data={"email": TEACHER, "password": PASSWORD, "next": target})
    assert response.headers["Location"] == "/account/"


# --- idle sessions ------------------------------------------------------------------------------


def test_idle_session_expires(app_with, world):
    client = app_with(SESSION_IDLE_MINUTES=5).test_client()
    assert sign_in(client, TEACHER).status_code == 302
    assert signed_in(client)

    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 4 * 60  # idle, but less than the limit
    assert signed_in(client)

    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 6 * 60
    response = client.get("/account/")
    assert response.status_code == 302
    assert path_of(response) == "/login"
    assert "Phiên làm việc đã hết hạn do không hoạt động. Vui lòng đăng nhập lại." in alerts(
        client.get(response.headers["Location"]))
    assert not signed_in(client)  # the session really ended


# --- changing the password ----------------------------------------------------------------------


def test_change_password_page_needs_sign_in(client, world):
    response = client.get("/account/password")
    assert response.status_code == 302 and path_of(response) == "/login"


def test_change_password(client, world):
    sign_in(client, TEACHER)
    assert client.get("/account/password").status_code == 200
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and path_of(response) == "/account/"
    assert signed_in(client)
    assert "account.password_changed" in actions()

    other = client.application.test_client()
    assert sign_in(other, TEACHER, PASSWORD).status_code == 401
    assert sign_in(other, TEACHER, NEW_PASSWORD).status_code == 302


def test_wrong_current_password_is_refused(client, world):
    sign_in(client, TEACHER)
    response = change(client, "Sai-Mat-Khau#1", NEW_PASSWORD)
    assert response.status_code == 422
    assert "Mật khẩu hiện tại không đúng." in response.get_data(as_text=True)
    assert passwords.verify_password(fresh_user(TEACHER).password_hash, PASSWORD)


def test_confirmation_must_match(client, world):
    sign_in(client, TEACHER)
    response = change(client, PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert response.status_code == 422
    assert "Hai mật khẩu không khớp." in response.get_data(as_text=True)
    assert passwords.verify_password(fresh_user(TEACHER).password_hash, PASSWORD)


RULES = {
    "short": "Mật khẩu phải có ít nhất 8 ký tự.",
    "case": "Mật khẩu phải có cả chữ hoa và chữ thường.",
    "digit": "Mật khẩu phải có ít nhất một chữ số.",
    "symbol": "Mật khẩu phải có ít nhất một ký hiệu (ví dụ ! @ # $).",
    "email": "Mật khẩu không được chứa phần tên trong địa chỉ e-mail.",
}


@pytest.mark.parametrize("weak,rule", [
    ("Ab1!xyz", "short"),
    ("mat-khau#2026", "case"),
    ("mật-khẩu#2026", "case"),  # Vietnamese lower-case letters are not upper-case ones
    ("MẬT-KHẨU#2026", "case"),
    ("Mat-Khau#Hai", "digit"),
    ("MatKhau2026", "symbol"),
    ("GiaoVien#2026", "email"),
])
def test_weak_passwords_are_refused_with_their_rule(client, world, weak, rule):
    sign_in(client, TEACHER)
    response = change(client, PASSWORD, weak)
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert RULES[rule] in page
    assert [r for r, message in RULES.items() if message in page] == [rule]
    assert passwords.verify_password(fresh_user(TEACHER).password_hash, PASSWORD)


def test_vietnamese_letters_count_for_the_case_rule(client, world):
    sign_in(client, TEACHER)
    assert change(client, PASSWORD, "Mật-khẩu#2026").status_code == 302
    assert passwords.verify_password(fresh_user(TEACHER).password_hash, "Mật-khẩu#2026")


def test_the_last_five_passwords_cannot_be_reused(client, world):
    sign_in(client, TEACHER)
    history = [PASSWORD] + [f"Mat-Khau#{n}a" for n in range(1, 6)]
    for old, new in zip(history, history[1:]):
        assert change(client, old, new).status_code == 302
    current = history[-1]
    for recent in history[1:]:  # the five most recent, the current one included
        response = change(client, current, recent)
        assert response.status_code == 422
        assert "Không được dùng lại một trong 5 mật khẩu gần nhất." in response.get_data(as_text=True)
    assert change(client, current, history[0]).status_code == 302  # the sixth-oldest is allowed again
    assert passwords.verify_password(fresh_user(TEACHER).password_hash, history[0])


def test_changing_the_password_signs_out_other_sessions(client, world):
    other = client.application.test_client()
    assert sign_in(other, TEACHER).status_code == 302
    assert sign_in(client, TEACHER).status_code == 302
    assert signed_in(other)

    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert signed_in(client)
    response = other.get("/account/")
    assert response.status_code == 302 and path_of(response) == "/login"


# --- forced password changes --------------------------------------------------------------------


def _age_password(email: str, days: int) -> None:
    user = fresh_user(email)
    user.password_changed_at = utcnow() - timedelta(days=days)
    db.session.commit()


def _assert_sent_to_password_page(client: Any) -> None:
    for page in ("/", "/account/", "/account/data.json", "/schools"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert path_of(response) == "/account/password", page


def test_expired_password_must_be_changed(client, world):
    _age_password(TEACHER, 91)
    assert sign_in(client, TEACHER).status_code == 302
    _assert_sent_to_password_page(client)
    page = client.get("/account/password")
    assert page.status_code == 200
    assert "Bạn cần đặt mật khẩu mới trước khi tiếp tục." in alerts(page)

    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    assert signed_in(client)


def test_password_younger_than_the_limit_is_not_expired(client, world):
    _age_password(TEACHER, 89)
    sign_in(client, TEACHER)
    assert client.get("/").status_code == 200
    assert signed_in(client)


def test_password_expiry_can_be_turned_off(app_with, world):
    _age_password(TEACHER, 1000)
    client = app_with(PASSWORD_EXPIRY_DAYS=0).test_client()
    sign_in(client, TEACHER)
    assert client.get("/").status_code == 200
    assert signed_in(client)


def test_expired_user_may_still_sign_out(client, world):
    _age_password(TEACHER, 91)
    sign_in(client, TEACHER)
    response = client.post("/logout")
    assert response.status_code == 302 and path_of(response) == "/login"
    assert client.get("/").status_code == 200


def test_account_flagged_by_an_admin_must_change_its_password(client, world):
    user = fresh_user(TEACHER)
    user.must_change_password = True
    db.session.commit()
    sign_in(client, TEACHER)
    _assert_sent_to_password_page(client)
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert fresh_user(TEACHER).must_change_password is False
    assert client.get("/").status_code == 200


def test_admin_created_account_is_pending_and_flagged(client, world):
    user, link = users.create_user(SystemActor(), users.UserInput("moi@thcs1.ninhbinh.edu.vn", "Người mới", "THCS01"))
    assert link and "/account/activate/" in link
    assert user.status == UserStatus.PENDING.value
    assert user.must_change_password is True
    response = sign_in(client, "moi@thcs1.ninhbinh.edu.vn", PASSWORD)
    assert response.status_code == 401
    assert alerts(response) == [BAD_CREDENTIALS]


# --- accounts that may not sign in --------------------------------------------------------------


def test_pending_account_cannot_sign_in(client, world):
    user = fresh_user(TEACHER)
    user.status = UserStatus.PENDING.value  # a pending account, even one with a password
    db.session.commit()
    response = sign_in(client, TEACHER)
    assert response.status_code == 401
    assert alerts(response) == [BAD_CREDENTIALS]
    assert not signed_in(client)


def test_disabled_account_cannot_sign_in_and_loses_its_session(client, world):
    assert sign_in(client, TEACHER).status_code == 302
    users.set_disabled(SystemActor(), fresh_user(TEACHER), True)
    response = client.get("/account/")
    assert response.status_code == 302 and path_of(response) == "/login"
    client.get(response.headers["Location"])

    response = sign_in(client, TEACHER)
    assert response.status_code == 401
    assert alerts(response) == [BAD_CREDENTIALS]
    assert not signed_in(client)


# --- personal data ------------------------------------------------------------------------------


def test_personal_data_page(client, world):
    sign_in(client, TEACHER)
    response = client.get("/account/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert TEACHER in page
    assert "Người teacher" in page
    assert "THCS01" in page
    assert "auth.sign_in" in page
    assert "giaovien@thcs2.ninhbinh.edu.vn" not in page


def test_personal_data_download(client, world):
    assert client.get("/account/data.json").status_code == 302
    sign_in(client, TEACHER)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == TEACHER
    assert data["account"]["full_name"] == "Người teacher"
    assert data["account"]["school"] == "THCS01"
    assert [(r["role"], r["school"]) for r in data["roles"]] == [("teacher", "THCS01")]
    assert "auth.sign_in" in [e["action"] for e in data["activity"]]
    assert "password" not in json.dumps(data["account"]).replace("password_changed_at", "")
    assert "giaovien@thcs2.ninhbinh.edu.vn" not in response.get_data(as_text=True)
