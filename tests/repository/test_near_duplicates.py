"""Near-duplicate detection: MinHash estimates, flags recorded when text is extracted, candidates
found through the band-key index (not by comparing with every material), shown on the review page."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from repository.extensions import db
from repository.models import Material, MinHashBand, NearDuplicate
from repository.services import near_duplicates, processing, review
from tests.helpers import sign_in
from tests.repository.review_support import make_material

LESSON = ("Bài học hôm nay giới thiệu phương trình bậc hai một ẩn, cách tính biệt thức delta, công thức "
          "nghiệm tổng quát và hệ thức Vi-ét. Học sinh luyện tập giải phương trình, nhận xét số nghiệm theo "
          "dấu của delta, vận dụng vào bài toán chuyển động và bài toán năng suất lao động trong thực tế. "
          "Cuối giờ các nhóm trình bày lời giải, giáo viên nhận xét và giao bài tập về nhà.")
WORDS = ("toán văn lịch sử địa lí sinh học hoá học vật lí âm nhạc mĩ thuật công nghệ tin học thể dục "
         "ngoại ngữ đạo đức khoa học hoạt động trải nghiệm giáo dục địa phương").split()


def _jaccard(a: str, b: str) -> float:
    sa, sb = near_duplicates._shingles(a), near_duplicates._shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_the_signature_estimates_jaccard_similarity() -> None:
    rng = random.Random(5)
    base = " ".join(rng.choice(WORDS) + str(rng.randint(0, 99)) for _ in range(800))
    edited = base.replace(base[1000:1600], "đoạn văn được viết lại hoàn toàn khác")
    true = _jaccard(base, edited)
    estimate = near_duplicates.similarity(near_duplicates.signature(base), near_duplicates.signature(edited))
    assert abs(estimate - true) < 0.12, (estimate, true)
    unrelated = " ".join(rng.choice(WORDS) + str(rng.randint(100, 199)) for _ in range(800))
    assert near_duplicates.similarity(near_duplicates.signature(base), near_duplicates.signature(unrelated)) < 0.1
    # Diacritics and case do not hide a copy.
    assert near_duplicates.signature(LESSON) == near_duplicates.signature(LESSON.upper())
    assert near_duplicates.signature("") == []


def test_extraction_records_the_closest_earlier_material(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    original = make_material(world["teacher2"], tmp_path, title="Phương trình bậc hai", description=LESSON)
    copy = make_material(world["teacher"], tmp_path, title="Phương trình bậc hai (bản sao)",
                         description=LESSON.replace("Cuối giờ", "Kết thúc tiết học,"))
    other = make_material(world["teacher"], tmp_path, title="Lịch sử địa phương",
                          description="Tìm hiểu di tích cố đô Hoa Lư và các triều đại Đinh, Tiền Lê.")
    assert processing.process_pending() == 3  # the processing worker fingerprints as it goes
    [flag] = db.session.scalars(select(NearDuplicate)).all()
    assert (flag.material_id, flag.other_id) == (copy.id, original.id)
    assert 0.5 <= flag.similarity < 1.0
    assert near_duplicates.flags_for(world["school_reviewer"], other) == []
    # Re-running replaces the rows instead of adding to them.
    bands = db.session.scalar(select(func.count()).select_from(MinHashBand))
    assert bands == 3 * near_duplicates.BANDS
    near_duplicates.fingerprint(copy.id)
    assert db.session.scalar(select(func.count()).select_from(MinHashBand)) == bands
    assert db.session.scalar(select(func.count()).select_from(NearDuplicate)) == 1


def test_candidates_come_from_the_index_not_from_every_material(app: Any, world: dict[str, Any],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    for n in range(40):
        text = " ".join(rng.choice(WORDS) + str(rng.randint(0, 999)) for _ in range(120))
        db.session.add(Material(title=f"Học liệu {n}", description=text, subject="TOAN", grades=["9"],
                                material_type="KHAC", licence="CC_BY_4", school_id=world["thcs2"].id,
                                owner_id=world["teacher2"].id))
    db.session.add(Material(title="Gốc", description=LESSON, subject="TOAN", grades=["9"], material_type="KHAC",
                            licence="CC_BY_4", school_id=world["thcs2"].id, owner_id=world["teacher2"].id))
    db.session.commit()
    for material_id in db.session.scalars(select(Material.id).order_by(Material.id)):
        near_duplicates.fingerprint(material_id)
    new = Material(title="Gốc", description=LESSON + " Thêm một câu.", subject="TOAN", grades=["9"],
                   material_type="KHAC", licence="CC_BY_4", school_id=world["thcs1"].id, owner_id=world["teacher"].id)
    db.session.add(new)
    db.session.commit()
    compared: list[int] = []
    real = near_duplicates.similarity
    monkeypatch.setattr(near_duplicates, "similarity", lambda a, b: compared.append(1) or real(a, b))
    flags = near_duplicates.fingerprint(new.id)
    assert [f.other.title for f in flags] == ["Gốc"]
    assert len(compared) <= 3  # the 41 earlier materials were not all compared


def test_the_review_page_shows_same_file_and_near_duplicate_flags(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    from repository.services import materials
    from tests.repository.review_support import pdf_upload

    original = make_material(world["teacher2"], tmp_path, title="Bài gốc trường Gia Viễn", description=LESSON)
    upload = pdf_upload(tmp_path, "Cùng tệp")
    same = materials.create_material(world["teacher2"], materials.MaterialInput(
        title="Cùng tệp", subject="TOAN", grades=["9"], material_type="KHAC", licence="CC_BY_4"), [upload])
    copy = materials.create_material(world["teacher"], materials.MaterialInput(
        title="Bài gốc trường Gia Viễn", subject="TOAN", grades=["9"], material_type="KHAC", licence="CC_BY_4",
        description=LESSON), [materials.Upload(path=upload.path, filename="copy.pdf")])
    processing.process_pending()
    review.submit(world["teacher"], copy)
    client = app.test_client()
    sign_in(client, "totruong@thcs1.ninhbinh.edu.vn")
    page = client.get(f"/review/{copy.id}").get_data(as_text=True)
    assert 'class="same-file"' in page and f"/materials/{same.id}" in page
    assert 'class="near-duplicate"' in page and f"/materials/{original.id}" in page
    assert "Trường THCS Gia Viễn" in page


def test_deleting_a_draft_removes_its_fingerprints_and_flags(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    from repository.models import MaterialSignature, Notification
    from repository.services import materials

    original = make_material(world["teacher2"], tmp_path, title="Bài gốc", description=LESSON)
    draft = make_material(world["teacher"], tmp_path, title="Bài gốc", description=LESSON)
    processing.process_pending()
    review.submit(world["teacher"], draft)
    review.withdraw(world["teacher"], draft)
    assert db.session.scalar(select(func.count()).select_from(NearDuplicate)) == 1
    materials.delete_material(world["teacher"], draft)
    for model in (NearDuplicate, MinHashBand, MaterialSignature, Notification):
        remaining = db.session.scalars(select(model)).all()
        assert all(getattr(row, "material_id", None) != draft.id for row in remaining), model
    assert db.session.scalar(select(func.count()).select_from(NearDuplicate)) == 0
    assert db.session.get(MaterialSignature, original.id) is not None
