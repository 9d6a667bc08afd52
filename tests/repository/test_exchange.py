"""Sector data exchange: schools and accounts round-trip through CSV and Excel (export, import
the export: nothing changes), formula-looking cells survive, Excel's number-typed codes import,
exports hold only what the actor may list, and the catalogue exports in the bulk-import format."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from repository.errors import ImportRejected, PermissionDenied
from repository.extensions import db
from repository.models import AuditEvent, Material, School
from repository.permissions import SystemActor
from repository.services import exchange, users


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    return [list(r) for r in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_schools_round_trip_unchanged(world: dict[str, Any], fmt: str) -> None:
    system = SystemActor()
    world["thpt"].grades_override = ["10", "11"]
    db.session.commit()
    data = exchange.export_schools(system, fmt)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    result = exchange.import_schools_file(system, data, f"truong.{fmt}")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_users_round_trip_unchanged(world: dict[str, Any], fmt: str) -> None:
    system = SystemActor()
    world["teacher"].phone = "+84 912 345 678"  # "+..." is a formula to Excel
    world["teacher"].staff_id = "GV-0001"
    db.session.commit()
    data = exchange.export_users(system, fmt)
    result = exchange.import_users_file(system, data, f"nguoi-dung.{fmt}")
    assert (result.created, result.updated) == (0, 0) and result.unchanged == len(world) - 3
    db.session.expire_all()
    assert world["teacher"].phone == "+84 912 345 678"


def test_formula_cells_are_neutralised(world: dict[str, Any]) -> None:
    world["teacher"].phone = "+84 912 345 678"
    db.session.commit()
    rows = _csv_rows(exchange.export_users(SystemActor(), "csv"))
    phone = next(r["phone"] for r in rows if r["email"] == world["teacher"].email)
    assert phone == "'+84 912 345 678"
    book = load_workbook(io.BytesIO(exchange.export_users(SystemActor(), "xlsx")))
    cells = [c for row in book.worksheets[0].iter_rows() for c in row if c.value == "+84 912 345 678"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_an_edited_excel_file_updates_and_creates(world: dict[str, Any]) -> None:
    """What a department does: open the export in Excel, edit a name, add a row typed by hand
    (Excel stores the commune code as a number), save as .xlsx, import."""
    rows = _xlsx_rows(exchange.export_schools(SystemActor(), "xlsx"))
    book = Workbook()
    sheet = book.active
    for row in rows:
        if row[0] == "THCS01":
            row[1] = "Trường THCS Hoa Lư Mới"
        sheet.append(row)
    sheet.append(["THCS09", "Trường THCS Mới", "THCS", 14464, None, 1, None, None])  # blank trailing cells
    out = io.BytesIO()
    book.save(out)
    result = exchange.import_schools_file(SystemActor(), out.getvalue(), "sua.xlsx")
    assert (result.created, result.updated, result.unchanged) == (1, 1, 2)
    created = db.session.scalar(select(School).where(School.code == "THCS09"))
    assert created.unit.code == "14464"
    assert db.session.scalar(select(School.name).where(School.code == "THCS01")) == "Trường THCS Hoa Lư Mới"


def test_a_damaged_excel_file_is_refused_and_nothing_changes(world: dict[str, Any]) -> None:
    with pytest.raises(ImportRejected):
        exchange.import_schools_file(SystemActor(), b"PK\x03\x04 not really a zip", "hong.xlsx")
    assert db.session.scalar(select(func.count()).select_from(School)) == 3


def test_a_school_admin_exports_only_their_school(world: dict[str, Any]) -> None:
    emails = {r["email"] for r in _csv_rows(exchange.export_users(world["school_admin"], "csv"))}
    assert world["teacher"].email in emails and world["teacher2"].email not in emails
    with pytest.raises(PermissionDenied):
        exchange.export_users(world["teacher"], "csv")
    with pytest.raises(PermissionDenied):
        exchange.export_schools(world["school_admin"], "csv")


def test_anonymised_accounts_are_not_exported(world: dict[str, Any]) -> None:
    email = world["teacher2"].email
    users.anonymise_user(SystemActor(), world["teacher2"])
    db.session.expire_all()
    assert world["teacher2"].status == "anonymised"
    emails = {r["email"] for r in _csv_rows(exchange.export_users(SystemActor(), "csv"))}
    assert email not in emails and world["teacher2"].email not in emails and world["teacher"].email in emails


def _material(world: dict[str, Any], title: str, **extra: Any) -> Material:
    material = Material(title=title, description="Mô tả, có dấu phẩy", subject="TOAN", grades=["8", "9"],
                        material_type="BAI_GIANG_DIEN_TU", licence="CC_BY_4", language="vi",
                        school_id=world["thcs1"].id, owner_id=world["teacher"].id, status="published", **extra)
    db.session.add(material)
    db.session.commit()
    return material


def test_the_catalogue_exports_in_the_bulk_import_format(world: dict[str, Any], app: Any) -> None:
    first = _material(world, "Phương trình bậc hai", series="KNTT")
    second = _material(world, "=Hệ phương trình")
    lines = b"".join(exchange.export_catalogue(SystemActor(), "jsonl")).decode("utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["identifier"] for e in entries] == [exchange.stable_identifier(m.id) for m in (first, second)]
    entry = entries[0]
    assert (entry["title"], entry["subject"], entry["grades"], entry["school"], entry["owner"]) == (
        "Phương trình bậc hai", "TOAN", ["8", "9"], "THCS01", world["teacher"].email)
    assert entry["status"] == "published" and entry["series"] == "KNTT" and entry["type"] == "BAI_GIANG_DIEN_TU"
    from repository.services.material_import import KNOWN

    assert set(entry) - {"identifier"} <= KNOWN  # the keys the bulk import reads
    table = _csv_rows(b"".join(exchange.export_catalogue(SystemActor(), "csv")))
    assert [r["title"] for r in table] == ["Phương trình bậc hai", "'=Hệ phương trình"]
    assert table[0]["grades"] == "8|9" and table[0]["description"] == "Mô tả, có dấu phẩy"
    with pytest.raises(PermissionDenied):
        exchange.export_catalogue(world["school_admin"], "jsonl")


def test_the_command_line_exports_and_imports_excel(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    target = tmp_path / "truong.xlsx"
    assert runner.invoke(args=["schools", "export", str(target)]).exit_code == 0
    result = runner.invoke(args=["schools", "import", str(target)])
    assert result.exit_code == 0 and "không đổi 3" in result.output
    people = tmp_path / "nguoi.csv"
    assert runner.invoke(args=["users", "export", str(people)]).exit_code == 0
    assert runner.invoke(args=["users", "import", str(people)]).exit_code == 0
    catalogue = tmp_path / "hoc-lieu.jsonl"
    _material(world, "Bài 1")
    assert runner.invoke(args=["materials", "export", str(catalogue)]).exit_code == 0
    assert json.loads(catalogue.read_text(encoding="utf-8"))["title"] == "Bài 1"
    assert runner.invoke(args=["schools", "export", str(tmp_path / "x.pdf")]).exit_code != 0
