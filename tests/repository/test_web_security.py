"""Security headers, cookies, CSRF, self-hosted assets, output escaping, error pages and language."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from repository.extensions import db
from repository.models import User
from tests.helpers import PASSWORD, csrf_token, sign_in

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"
ADMIN = "admin@so.ninhbinh.edu.vn"
CSRF_MESSAGE = "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thử lại."
ENGLISH_CATALOG = Path(__file__).resolve().parents[2] / "repository" / "translations" / "en" / "LC_MESSAGES" / "messages.mo"


def signed_in(client: Any) -> bool:
    return client.get("/account/").status_code == 200


def session_cookie(response: Any) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def cookie_attributes(cookie: str) -> dict[str, str]:
    attributes = {}
    for part in cookie.split(";")[1:]:
        name, _sep, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


# --- headers ------------------------------------------------------------------------------------


def _csp(response: Any) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for directive in filter(None, (d.strip() for d in policy.split(";"))):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


@pytest.mark.parametrize("path", ["/", "/login", "/khong-co-trang-nay"])
def test_security_headers(client, world, path):
    response = client.get(path)
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    allowed = {"'self'", "'none'", "data:"}
    for name, sources in csp.items():
        assert set(sources) <= allowed, f"{name} allows {sources}"
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")


# --- session cookie -----------------------------------------------------------------------------


def test_session_cookie_flags_by_default(client, world):
    response = sign_in(client, TEACHER)
    assert response.status_code == 302
    attributes = cookie_attributes(session_cookie(response))
    assert "httponly" in attributes
    assert attributes.get("samesite") == "Lax"
    assert "secure" not in attributes  # plain-HTTP school networks must still be able to sign in


def test_session_cookie_is_secure_when_configured(app_with, world):
    client = app_with(SESSION_COOKIE_SECURE=True).test_client()
    response = sign_in(client, TEACHER)
    assert response.status_code == 302
    attributes = cookie_attributes(session_cookie(response))
    assert "secure" in attributes
    assert "httponly" in attributes
    assert attributes.get("samesite") == "Lax"


# --- CSRF ---------------------------------------------------------------------------------------


def test_csrf_token_is_required(app_with, world):
    client = app_with(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/login", data={"email": TEACHER, "password": PASSWORD})
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert not signed_in(client)

    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": TEACHER, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert signed_in(client)

    # Signing out is a POST too: a forged one without the token does nothing.
    response = client.post("/logout")
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert signed_in(client)
    token = csrf_token(client.get("/account/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not signed_in(client)


# --- self-hosted assets -------------------------------------------------------------------------


class _AssetCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Any]]) -> None:
        if tag in ("link", "script", "img", "source", "iframe"):
            self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _assets(html: str) -> list[str]:
    collector = _AssetCollector()
    collector.feed(html)
    return collector.urls


def test_pages_load_nothing_from_other_hosts(client, world):
    pages = {}
    for path in ("/", "/login"):
        pages[path] = client.get(path).get_data(as_text=True)
    sign_in(client, TEACHER)
    pages["/account/"] = client.get("/account/").get_data(as_text=True)

    for path, html in pages.items():
        assets = _assets(html)
        assert any("css" in url for url in assets), f"{path} has no stylesheet"
        for url in assets:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, f"{path} loads {url} from another host"
            assert client.get(url).status_code == 200, f"{path} refers to missing asset {url}"


# --- escaping -----------------------------------------------------------------------------------


def test_html_in_a_name_is_shown_as_text(client, world):
    user = db.session.scalar(select(User).where(User.email == TEACHER))
    user.full_name = "<script>alert(1)</script>"
    db.session.commit()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"

    sign_in(client, TEACHER)
    page = client.get("/account/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert escaped in page

    admin = client.application.test_client()
    sign_in(admin, ADMIN)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert escaped in page


# --- error pages --------------------------------------------------------------------------------


def test_unknown_page_is_a_vietnamese_404(client, world):
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Không tìm thấy trang." in page
    assert '<html lang="vi">' in page


def test_unknown_record_is_a_404_not_a_500(client, world):
    sign_in(client, ADMIN)
    response = client.get("/admin/users/999999")
    assert response.status_code == 404
    assert "Không tìm thấy người dùng." in response.get_data(as_text=True)


# --- language -----------------------------------------------------------------------------------


def test_english_can_be_chosen(client, world):
    response = client.post("/lang/en")
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session["lang"] == "en"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    if ENGLISH_CATALOG.exists():
        from babel.support import Translations

        with ENGLISH_CATALOG.open("rb") as catalog:
            english = Translations(catalog).gettext("Đăng nhập")
        assert english != "Đăng nhập", "the English catalog translates the sign-in button"
        assert english in page

    client.post("/lang/vi")
    with client.session_transaction() as session:
        assert session["lang"] == "vi"
    assert '<html lang="vi">' in client.get("/login").get_data(as_text=True)


def test_language_survives_signing_in_and_out(client, world):
    client.post("/lang/en")
    assert sign_in(client, TEACHER).status_code == 302
    assert '<html lang="en">' in client.get("/account/").get_data(as_text=True)
    client.post("/logout")
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_unknown_language_and_foreign_next_are_ignored(client, world):
    response = client.post("/lang/xx", data={"next": "//evil.example/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert "lang" not in session
    response = client.post("/lang/en", data={"next": "/login"})
    assert response.headers["Location"] == "/login"
