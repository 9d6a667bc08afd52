"""Helpers of the API tests: tokens for the accounts of the `world` fixture, material forms."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any, Optional

from repository import demo_files
from repository.permissions import SystemActor
from repository.services import tokens

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"


def token_for(user: Any, *, read_only: bool = False, expires_on: Optional[date] = None, name: str = "script") -> str:
    _token, raw = tokens.create_token(SystemActor(), user, name, read_only=read_only, expires_on=expires_on)
    return raw


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def pdf_bytes(tmp_path: Path, title: str = "Phương trình bậc hai") -> bytes:
    return demo_files.pdf_file(tmp_path / f"{abs(hash(title))}.pdf", title, ["Bài 1", "Bài 2"]).read_bytes()


def material_form(data: bytes, name: str = "bai-giang.pdf", **fields: Any) -> dict[str, Any]:
    form = {"title": "Phương trình bậc hai", "subject": "TOAN", "grades": "9", "material_type": "BAI_GIANG_DIEN_TU",
            "licence": "CC_BY_4", "language": "vi", "series": "KNTT", "description": "Bài giảng",
            "file": (io.BytesIO(data), name)}
    form.update(fields)
    return form
