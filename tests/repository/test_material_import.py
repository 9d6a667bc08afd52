"""`flask --app app materials import FILE.jsonl`: good lines imported in batches, every refused line
reported by number and reason, times and states as the format says."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import func, select

from repository import demo_files
from repository.extensions import db
from repository.models import AuditEvent, Material, MaterialFile
from repository.permissions import SystemActor
from repository.services import material_import

OWNER = "giaovien@thcs1.ninhbinh.edu.vn"


def _line(**overrides: Any) -> dict[str, Any]:
    line = {"title": "Bài giảng Hàm số", "description": "Mô tả", "subject": "TOAN", "grades": [9],
            "school": "THCS01", "owner": OWNER, "file": "files/bai.txt"}
    line.update(overrides)
    return line


def _write(folder: Path, lines: list[Any]) -> Path:
    (folder / "files").mkdir(exist_ok=True)
    (folder / "files" / "bai.txt").write_text("Hàm số bậc nhất y = ax + b\n", encoding="utf-8")
    demo_files.pdf_file(folder / "files" / "de.pdf", "De kiem tra", ["Cau 1"])
    path = folder / "import.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
                    encoding="utf-8")
    return path


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_good_lines_are_imported_with_their_school_owner_state_and_time(world: dict[str, Any], tmp_path: Path) -> None:
    path = _write(tmp_path, [
        _line(),
        _line(title="Đề kiểm tra", file="files/de.pdf", type="BAI_KIEM_TRA", series="KNTT", licence="CC_BY_SA_4",
              topic="Chương 2", status="published", created_at="2025-09-10T08:30:00"),
        _line(title="Bản có múi giờ", status="school_approved", created_at="2025-09-10T08:30:00+00:00"),
    ])
    result = material_import.import_jsonl(SystemActor(), path)
    assert (result.imported, result.refused) == (3, [])
    plain, published, zoned = db.session.scalars(select(Material).order_by(Material.id)).all()
    assert (plain.status, plain.material_type, plain.licence, plain.approved_at) == ("draft", "KHAC", "CC_BY_4", None)
    assert (plain.school_id, plain.owner_id, plain.grades) == (world["thcs1"].id, world["teacher"].id, ["9"])
    # 08:30 in Asia/Ho_Chi_Minh is 01:30 UTC; with an explicit offset it is taken as given.
    assert published.created_at == datetime(2025, 9, 10, 1, 30) == published.approved_at
    assert zoned.created_at == datetime(2025, 9, 10, 8, 30) == zoned.approved_at
    assert published.files[0].mime_type == "application/pdf" and published.files[0].original_name == "de.pdf"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "material.imported")).all()
    assert len(events) == 3 and all(e.details.get("via") == "cli" for e in events)
    assert len(list(current_app.extensions["storage"].list("materials/"))) == 3


@pytest.mark.parametrize("bad, reason", [
    ("{not json", "JSON"),
    ('["a list"]', "đối tượng JSON"),
    (_line(title=""), "Tiêu đề"),
    (_line(subject="LA"), "Môn học"),
    (_line(grades=[13]), "Lớp"),
    (_line(grades="9"), "danh sách"),
    (_line(school="KHONG_CO"), "KHONG_CO"),
    (_line(owner="giaovien@thcs2.ninhbinh.edu.vn"), "không thuộc trường"),
    (_line(owner="ai@dau.edu.vn"), "ai@dau.edu.vn"),
    (_line(file="../ngoai.txt"), "thư mục"),
    (_line(file="/etc/passwd"), "thư mục"),
    (_line(file="files/khong-co.pdf"), "Không tìm thấy tệp"),
    (_line(status="approved"), "Trạng thái"),
    (_line(created_at="hôm qua"), "ISO 8601"),
    (_line(colour="red"), "colour"),
    ({k: v for k, v in _line().items() if k != "owner"}, "owner"),
])
def test_a_bad_line_is_refused_with_its_number_and_reason(app: Any, world: dict[str, Any], tmp_path: Path,
                                                          bad: Any, reason: str) -> None:
    (tmp_path.parent / "ngoai.txt").write_text("ngoài thư mục")
    path = _write(tmp_path, [_line(), bad, _line(title="Dòng ba")])
    result = app.test_cli_runner().invoke(args=["materials", "import", str(path)])
    assert result.exit_code == 1
    assert "dòng 2: " in result.output and reason in result.output.split("dòng 2: ", 1)[1].splitlines()[0]
    assert "Đã nhập 2 học liệu; từ chối 1 dòng." in result.output
    assert _count(Material) == 2


def test_a_file_that_fails_the_upload_checks_is_refused_like_on_the_web(world: dict[str, Any], tmp_path: Path) -> None:
    path = _write(tmp_path, [_line(file="files/trang.pdf")])
    (tmp_path / "files" / "trang.pdf").write_bytes(b"<html><script>alert(1)</script></html>")
    result = material_import.import_jsonl(SystemActor(), path)
    assert result.imported == 0 and result.refused[0][0] == 1 and "trang.pdf" in result.refused[0][1]
    assert list(current_app.extensions["storage"].list("")) == []


def test_many_lines_go_in_batches_and_duplicates_are_flagged(world: dict[str, Any], tmp_path: Path) -> None:
    count = material_import.BATCH * 2 + 7
    path = _write(tmp_path, [_line(title=f"Bài {n}") for n in range(count)])
    result = material_import.import_jsonl(SystemActor(), path)
    assert (result.imported, result.refused) == (count, [])
    assert _count(Material) == count and _count(MaterialFile) == count
    flagged = db.session.scalar(select(func.count()).where(MaterialFile.duplicate_of_id.is_not(None)))
    assert flagged == count - 1  # every later copy of the same file points to an earlier one


def test_only_the_department_admin_may_import(world: dict[str, Any], tmp_path: Path) -> None:
    from repository.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        material_import.import_jsonl(world["school_admin"], _write(tmp_path, [_line()]))
