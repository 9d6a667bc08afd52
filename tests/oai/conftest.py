"""The OAI-PMH tests' catalogue: published, taken-down and unpublished materials with fixed
last-change times, a small page size so that lists need resumption tokens, and the app served by
a real HTTP server thread for the harvester."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

from repository.extensions import db
from repository.models import Material, MaterialFile


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    # MAIL_FROM is Identify's adminEmail: the default (…@localhost) is not an address the protocol's
    # schema accepts, so a deployment must set a real one, as these tests do.
    return {"OAI_PAGE_SIZE": 3, "BASE_URL": "http://kho.ninhbinh.edu.vn", "MAIL_FROM": "kho-hoc-lieu@ninhbinh.edu.vn"}


@pytest.fixture
def base_url(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/oai"
    finally:
        server.shutdown()
        thread.join(5)


T0 = datetime(2026, 3, 1, 8, 0, 0)


def _material(world: dict[str, Any], number: int, status: str, subject: str = "TOAN", grades: tuple = ("9",),
              **extra: Any) -> Material:
    material = Material(title=f"Bài {number}. Phương trình bậc hai", description="Mô tả", subject=subject,
                        grades=list(grades), material_type="BAI_GIANG_DIEN_TU", licence="CC_BY_4", language="vi",
                        school_id=world["thcs1"].id, owner_id=world["teacher"].id, status=status,
                        topic="Chương 4", **extra)
    material.files = [MaterialFile(original_name=f"bai-{number}.pdf", extension="pdf", object_key=f"k/{number}",
                                   size=1000 + number, sha256=f"{number:064d}", mime_type="application/pdf",
                                   kind="pdf")]
    db.session.add(material)
    db.session.flush()
    material.updated_at = T0 + timedelta(days=number)  # after the flush: onupdate would replace it
    return material


@pytest.fixture
def catalogue(world: dict[str, Any]) -> dict[str, Material]:
    made = {f"pub{i}": _material(world, i, "published") for i in range(1, 8)}
    made["literature"] = _material(world, 8, "published", subject="NGU_VAN", grades=("10", "11"))
    made["taken_down"] = _material(world, 9, "taken_down")
    made["draft"] = _material(world, 10, "draft")
    made["approved"] = _material(world, 11, "school_approved")
    db.session.commit()
    for material in made.values():  # the onupdate of the flush must not have replaced the dates
        db.session.refresh(material)
    return made

