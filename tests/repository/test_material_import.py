"""`flask --app app materials import FILE.jsonl`: good lines imported in batches, every refused line
reported by number and reason, times and states as the format says. `materials import FILE.csv`
(the catalogue's CSV export): the same checks, but all rows or none, each bad row reported by its
line (the header is line 1)."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import func, select

from repository import demo_files, spreadsheets
from repository.errors import ImportRejected
from repository.extensions import db
from repository.models import AuditEvent, Material, MaterialFile, PendingUpload
from repository.permissions import SystemActor
from repository.services import exchange, material_import
from tests.helpers import encode_cp1258

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


# --- the catalogue's CSV export as import file: the same checks, all rows or none ------------------

def _csv_row(**overrides: Any) -> dict[str, Any]:
    """A row in the export's columns, as `materials export FILE.csv` writes it (grades joined by '|')."""
    row = {key: "" for key in exchange.CATALOGUE_HEADER}
    line = _line(**overrides)
    row.update({key: "|".join(map(str, value)) if key == "grades" and isinstance(value, list) else value
                for key, value in line.items()})
    return row


def _write_csv(folder: Path, rows: list[Any]) -> Path:
    """The rows through the export's own CSV writer (BOM, quoting, formula protection); a str row is
    written as the raw text of one line."""
    _write(folder, [])
    path = folder / "catalogue.csv"
    with path.open("wb") as out:
        out.write(spreadsheets.to_csv(exchange.CATALOGUE_HEADER, []))
        for row in rows:
            if isinstance(row, str):
                out.write(row.encode("utf-8") + b"\r\n")
            else:
                out.write(spreadsheets.csv_lines([[row[key] for key in exchange.CATALOGUE_HEADER]]))
    return path


def _nothing_written() -> None:
    assert _count(Material) == 0 and _count(MaterialFile) == 0 and _count(PendingUpload) == 0
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "material.imported")) == 0
    assert list(current_app.extensions["storage"].list("")) == []


def test_a_csv_in_the_export_columns_imports_like_json_lines(world: dict[str, Any], tmp_path: Path) -> None:
    path = _write_csv(tmp_path, [
        _csv_row(title="-5 là số âm", grades="8|9"),  # written as "'-5 ..." by the export's writer
        _csv_row(title="Đề kiểm tra", file="files/de.pdf", type="BAI_KIEM_TRA", series="KNTT",
                 status="published", created_at="2025-09-10T08:30:00", description="Hai dòng,\nmột dấu phẩy"),
    ])
    assert b"'-5" in path.read_bytes()
    result = material_import.import_catalogue(SystemActor(), path)
    assert (result.imported, result.refused, result.skipped) == (2, [], [])
    plain, published = db.session.scalars(select(Material).order_by(Material.id)).all()
    assert (plain.title, plain.grades, plain.status, plain.material_type) == ("-5 là số âm", ["8", "9"], "draft", "KHAC")
    assert (plain.licence, plain.language, plain.series, plain.approved_at) == ("CC_BY_4", "vi", None, None)
    assert published.created_at == datetime(2025, 9, 10, 1, 30) == published.approved_at
    assert published.description == "Hai dòng,\nmột dấu phẩy" and published.files[0].mime_type == "application/pdf"
    assert len(list(current_app.extensions["storage"].list("materials/"))) == 2


@pytest.mark.parametrize("bad, reason", [
    (_csv_row(subject="LA"), "Môn học"),
    (_csv_row(grades="13"), "Lớp"),
    (_csv_row(grades=""), "Lớp"),
    (_csv_row(title=""), "Tiêu đề"),
    (_csv_row(school="KHONG_CO"), "KHONG_CO"),
    (_csv_row(owner="giaovien@thcs2.ninhbinh.edu.vn"), "không thuộc trường"),
    (_csv_row(file=""), "Chưa có đường dẫn tệp"),  # the export of a material without a current file
    (_csv_row(file="../ngoai.txt"), "thư mục"),
    (_csv_row(file="files/trang.pdf"), "trang.pdf"),  # fails the upload checks
    (_csv_row(status="approved"), "Trạng thái"),
    (_csv_row(created_at="hôm qua"), "ISO 8601"),
    (_csv_row(uid="khong-phai-uuid"), "uid phải là một UUID"),
    ("Bài thiếu cột,TOAN,9", "Số cột"),
])
def test_a_bad_csv_row_refuses_the_whole_file_with_its_line(app: Any, world: dict[str, Any], tmp_path: Path,
                                                            bad: Any, reason: str) -> None:
    (tmp_path.parent / "ngoai.txt").write_text("ngoài thư mục")
    path = _write_csv(tmp_path, [_csv_row(), bad, _csv_row(title="Dòng bốn")])
    (tmp_path / "files" / "trang.pdf").write_bytes(b"<html><script>alert(1)</script></html>")
    result = app.test_cli_runner().invoke(args=["materials", "import", str(path)])
    assert result.exit_code == 1
    assert "Không nhập học liệu nào: 1 dòng có lỗi." in result.output
    # The header is line 1: the bad row is line 3.
    assert reason in result.output.split("dòng 3: ", 1)[1].splitlines()[0]
    assert "dòng 2" not in result.output and "dòng 4" not in result.output
    _nothing_written()


def test_every_bad_csv_row_is_reported(world: dict[str, Any], tmp_path: Path) -> None:
    same = "123e4567-e89b-12d3-a456-426614174000"
    path = _write_csv(tmp_path, [_csv_row(subject="LA"), _csv_row(uid=same), _csv_row(), _csv_row(uid=same, title="Lặp")])
    with pytest.raises(ImportRejected) as refused:
        material_import.import_catalogue(SystemActor(), path)
    assert [line for line, _reason in refused.value.rows] == [2, 5]
    assert "uid" in refused.value.rows[1][1] and "dòng 3" in refused.value.rows[1][1]
    _nothing_written()


@pytest.mark.parametrize("header, reason", [
    ("title,subject,grades,school,owner,file,colour", "colour"),
    ("title,subject,school,owner,file", "grades"),
])
def test_a_csv_header_that_is_not_the_catalogue_is_refused_at_line_1(world: dict[str, Any], tmp_path: Path,
                                                                    header: str, reason: str) -> None:
    _write(tmp_path, [])
    path = tmp_path / "sai.csv"
    path.write_text(header + "\nBài,TOAN,9,THCS01," + OWNER + ",files/bai.txt,đỏ\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as refused:
        material_import.import_catalogue(SystemActor(), path)
    assert refused.value.rows[0][0] == 1 and reason in refused.value.rows[0][1]
    _nothing_written()


def test_a_legacy_encoded_csv_is_refused_with_advice(world: dict[str, Any], tmp_path: Path) -> None:
    _write(tmp_path, [])
    path = tmp_path / "cu.csv"
    path.write_bytes(encode_cp1258(",".join(exchange.CATALOGUE_HEADER) + "\n"
                                   + f",,Bài giảng Hàm số,TOAN,9,THCS01,{OWNER},files/bai.txt" + "," * 8 + "\n"))
    with pytest.raises(ImportRejected) as refused:
        material_import.import_catalogue(SystemActor(), path)
    assert "UTF-8" in str(refused.value)
    _nothing_written()


def test_a_hand_made_csv_needs_only_the_required_columns_in_any_order(world: dict[str, Any], tmp_path: Path) -> None:
    """Semicolons between columns (Excel in some locales) and grades separated by commas."""
    _write(tmp_path, [])
    path = tmp_path / "tu-lam.csv"
    path.write_text(f"file;owner;school;grades;subject;title;status\n"
                    f"files/bai.txt;{OWNER};thcs01;8, 9;Toán;Hàm số;published\n", encoding="utf-8")
    result = material_import.import_catalogue(SystemActor(), path)
    assert (result.imported, result.refused) == (1, [])
    material = db.session.scalar(select(Material))
    assert (material.title, material.subject, material.grades, material.status) == ("Hàm số", "TOAN", ["8", "9"],
                                                                                    "published")
