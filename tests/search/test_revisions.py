"""A new file version under review is not searchable until it is approved."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from repository.extensions import db
from repository.services import materials, review, search
from tests.repository.review_support import pdf_upload, published


def _found(actor, q: str) -> int:
    return search.search(actor, search.parse(MultiDict({"q": q}))).total


def test_the_text_of_a_pending_version_waits_for_its_approval(world, tmp_path):
    material = published(world, tmp_path)
    old = material.current_files[0]
    old.extracted_text = "Bài cũ về thấu kính hội tụ"
    db.session.commit()
    reader = world["teacher2"]
    assert _found(reader, "thau kinh") == 1
    new = materials.replace_file(world["teacher"], material, old, pdf_upload(tmp_path, "Bản mới"))
    new.extracted_text = "Bài mới về gương cầu lõm"
    db.session.commit()
    assert _found(reader, "thau kinh") == 1 and _found(reader, "guong cau") == 0
    review.school_approve(world["school_reviewer"], material)
    review.publish(world["dept_reviewer"], material)
    assert _found(reader, "guong cau") == 1 and _found(reader, "thau kinh") == 0
