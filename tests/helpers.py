"""Helpers shared by the tests (import as tests.helpers)."""
from __future__ import annotations

import re
from typing import Any

PASSWORD = "Bai-Giang#2025"


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"email": email, "password": password})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
