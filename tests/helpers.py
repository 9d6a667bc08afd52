"""Helpers shared by the tests (import as tests.helpers)."""
from __future__ import annotations

import re
import tempfile
import unicodedata
from typing import Any

from flask.testing import FlaskClient

PASSWORD = "Bai-Giang#2025"
# Every test app gets its own local object store, removed when the test run ends.
_STORAGE_ROOT = tempfile.TemporaryDirectory(prefix="kho-test-storage-")


class FreshContextClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Tests hold an app context open to call services; without this, requests would reuse it and
    Flask-Login's cached user in `g` would leak from one request (and one client) to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import has_app_context

        from repository.extensions import db

        if has_app_context():
            # The test's own writes become visible to the request, and the test holds no locks
            # while it waits for the server (one connection at a time, as with a real client).
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(url: str, **overrides: Any) -> Any:
    """A test app on the database at `url`; `overrides` replace any configuration value."""
    from app import create_app

    config = {"DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "ARGON2_PROFILE": "test",
              "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://", "SECRET_KEY": "test-secret",
              "MAIL_SERVER": "", "SERVER_NAME": None, "PROCESSING": "worker",
              "STORAGE_DIR": tempfile.mkdtemp(prefix="store-", dir=_STORAGE_ROOT.name),
              "SEARCH_INDEX_DIR": tempfile.mkdtemp(prefix="index-", dir=_STORAGE_ROOT.name)}
    if url.startswith("postgresql"):
        # Tests need no durability; waiting for WAL flushes only slows them down.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True,
                                               "connect_args": {"options": "-c synchronous_commit=off"}}
    config.update(overrides)
    application = create_app(config)
    application.test_client_class = FreshContextClient
    return application


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"email": email, "password": password})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def encode_cp1258(text: str) -> bytes:
    """What Excel on Vietnamese Windows writes: base letters plus separate combining tone marks."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for char in text:
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append(base + "".join(c for c in parts if c in tones))
    return "".join(out).encode("cp1258")


def encode_tcvn3(text: str) -> bytes:
    """Lower-case Vietnamese text in TCVN3 (ABC): one byte per accented letter."""
    from repository.legacy_text import TCVN3_LOWER

    table = {letter: byte for byte, letter in TCVN3_LOWER.items()}
    return bytes(table[c] if c in table else ord(c) for c in text)
