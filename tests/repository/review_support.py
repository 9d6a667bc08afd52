"""Helpers for the review workflow tests: materials made through the real services, in a state."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from repository import demo_files
from repository.extensions import db
from repository.services import materials, review

_counter = itertools.count()

# The `world` fixture's accounts (tests/conftest.py), by the role they play in the workflow.
TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"
TEACHER2 = "giaovien@thcs2.ninhbinh.edu.vn"
REVIEWER = "totruong@thcs1.ninhbinh.edu.vn"
SCHOOL_ADMIN = "hieutruong@thcs1.ninhbinh.edu.vn"
SCHOOL_ADMIN2 = "hieutruong@thcs2.ninhbinh.edu.vn"
DEPT_REVIEWER = "duyet@so.ninhbinh.edu.vn"
DEPT_ADMIN = "admin@so.ninhbinh.edu.vn"


def signed_in(app: Any, email: str) -> Any:
    """A test client of `app` signed in as `email`."""
    from tests.helpers import sign_in

    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def pdf_upload(tmp_path: Path, title: str = "Phương trình bậc hai", lines: list[str] | None = None) -> materials.Upload:
    path = tmp_path / f"upload-{next(_counter)}.pdf"
    demo_files.pdf_file(path, title, lines or ["Bài 1", "Bài 2", str(next(_counter))])
    return materials.Upload(path=path, filename=f"{title}.pdf")


def make_material(author: Any, tmp_path: Path, title: str = "Phương trình bậc hai", *, subject: str = "TOAN",
                  grades: list[str] | None = None, licence: str = "CC_BY_4", description: str = "",
                  lines: list[str] | None = None) -> Any:
    data = materials.MaterialInput(title=title, subject=subject, grades=grades or ["9"], material_type="BAI_GIANG_DIEN_TU",
                                   licence=licence, description=description)
    return materials.create_material(author, data, [pdf_upload(tmp_path, title, lines)])


def submitted(world: dict[str, Any], tmp_path: Path, author: str = "teacher", **kwargs: Any) -> Any:
    material = make_material(world[author], tmp_path, **kwargs)
    return review.submit(world[author], material)


def school_approved(world: dict[str, Any], tmp_path: Path, **kwargs: Any) -> Any:
    material = submitted(world, tmp_path, **kwargs)
    return review.school_approve(world["school_reviewer"], material)


def published(world: dict[str, Any], tmp_path: Path, **kwargs: Any) -> Any:
    material = school_approved(world, tmp_path, **kwargs)
    return review.publish(world["dept_reviewer"], material)


def status_of(material_id: int) -> str:
    from repository.models import Material

    db.session.expire_all()
    return db.session.get(Material, material_id).status
