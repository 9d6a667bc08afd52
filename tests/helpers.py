"""Helpers shared by the tests (import as tests.helpers)."""
from __future__ import annotations

import re
from typing import Any

PASSWORD = "Bai-Giang#2025"


def make_app(url: str, **overrides: Any) -> Any:
    """A test app on the database at `url`; `overrides` replace any configuration value."""
    from app import create_app

    config = {"DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "ARGON2_PROFILE": "test",
              "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://", "SECRET_KEY": "test-secret",
              "MAIL_SERVER": "", "SERVER_NAME": None}
    config.update(overrides)
    return create_app(config)


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"email": email, "password": password})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
