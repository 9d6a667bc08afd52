"""Server-generated keys, and both backends refusing keys that could escape or misbehave."""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storage import Storage, is_valid_key, new_key
from storage.keys import MAX_KEY_LENGTH, is_valid_prefix

BAD_KEYS = [
    "", "/", "/abs/key", "../etc/passwd", "materials/../../x", "..", "a/./b", "a//b", "a/b/",
    "Materials/2025/01/x", "a b", "a\nb", "a\x00b", "a\\b", "lesson.pdf", "bài-giảng", "a?b", "a%2fb",
    "x" * (MAX_KEY_LENGTH + 1),
]


def test_new_key_shape() -> None:
    before = datetime.now(timezone.utc)
    key = new_key("materials")
    after = datetime.now(timezone.utc)
    match = re.fullmatch(r"materials/(\d{4})/(\d{2})/[0-9a-f]{32}", key)
    assert match
    assert (int(match[1]), int(match[2])) in {(before.year, before.month), (after.year, after.month)}
    assert is_valid_key(key)


def test_new_keys_are_unique() -> None:
    keys = {new_key("thumbs") for _ in range(2000)}
    assert len(keys) == 2000 and all(is_valid_key(k) for k in keys)


@pytest.mark.parametrize("area", ["", "Materials", "a/b", "../x", "bài", "a.b"])
def test_new_key_rejects_bad_areas(area: str) -> None:
    with pytest.raises(ValueError):
        new_key(area)


@pytest.mark.parametrize("key", ["a", "materials/2025/01/0123abcd", "thumbs/x_y-z/1", "x" * MAX_KEY_LENGTH])
def test_valid_keys(key: str) -> None:
    assert is_valid_key(key)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys(key: str) -> None:
    assert not is_valid_key(key)


@pytest.mark.parametrize("prefix, valid", [
    ("", True), ("materials", True), ("materials/", True), ("materials/2025/0", True),
    ("/materials", False), ("../", False), ("a//", False), ("A/", False),
])
def test_prefixes(prefix: str, valid: bool) -> None:
    assert is_valid_prefix(prefix) is valid


def refuses(operation: Callable[[], object]) -> bool:
    try:
        operation()
    except ValueError:
        return True
    return False


def test_backends_refuse_bad_keys(store: Storage, tmp_path: Path) -> None:
    def operations(key: str) -> dict[str, Callable[[], object]]:
        return {
            "put": lambda: store.put(key, io.BytesIO(b"evil")),
            "open": lambda: store.open(key),
            "exists": lambda: store.exists(key),
            "size": lambda: store.size(key),
            "delete": lambda: store.delete(key),
            "local_path": lambda: store.local_path(key),
            "download_url": lambda: store.download_url(key, filename="a.pdf", content_type="application/pdf"),
        }

    accepted = [(key, name) for key in BAD_KEYS for name, operation in operations(key).items()
                if not refuses(operation)]
    assert accepted == []
    assert list(store.list()) == []
    # Nothing was written anywhere under the test's folder (the local root lives inside it).
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("prefix", ["../", "/etc", "A"])
def test_backends_refuse_bad_prefixes(store: Storage, prefix: str) -> None:
    with pytest.raises(ValueError):
        list(store.list(prefix))
