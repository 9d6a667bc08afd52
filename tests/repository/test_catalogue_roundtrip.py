"""A catalogue moves between deployments: the JSON Lines export, and the CSV export, of one
deployment import into a second, empty one (its own database and object store) with every
material's uid, and importing the same export again, anywhere it has already been imported, adds
nothing. A uid already present is skipped and reported whatever the line's metadata; a malformed
uid refuses its line (JSON Lines) or the whole file (CSV, all rows or none)."""
from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select

from repository import spreadsheets
from repository.extensions import db
from repository.models import AdminUnit, Material, MaterialFile
from repository.permissions import SystemActor
from repository.services import exchange, material_import, schools
from tests.helpers import make_app

OWNER = "giaovien@thcs1.ninhbinh.edu.vn"
OWNER2 = "giaovien@thcs2.ninhbinh.edu.vn"


@pytest.fixture
def second_deployment(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Another deployment: a migrated database of its own (a second SQLite file, or a second database
    on the same PostgreSQL server) and its own object store."""
    url, dropped = f"sqlite:///{tmp_path / 'second.sqlite3'}", ""
    if database_url.startswith("postgresql"):
        dropped = f"kho_second_{uuid.uuid4().hex[:12]}"
        server = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{dropped}"'))
        url = sa.engine.make_url(database_url).set(database=dropped).render_as_string(hide_password=False)
    application = make_app(url, BASE_URL="https://kho.other.example")
    with application.app_context():
        upgrade()
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if dropped:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)'))
        server.dispose()


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
                    encoding="utf-8")
    return path


def _line(**overrides: Any) -> dict[str, Any]:
    line = {"title": "Bài giảng Hàm số", "description": "Mô tả", "subject": "TOAN", "grades": [9],
            "school": "THCS01", "owner": OWNER, "file": "files/bai.txt"}
    line.update(overrides)
    return line


def _seed_catalogue(tmp_path: Path) -> None:
    """Three materials imported with files, plus one created by hand (its uid from the model default)."""
    folder = tmp_path / "source"
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "bai.txt").write_text("Hàm số bậc nhất y = ax + b\n", encoding="utf-8")
    (folder / "files" / "on-tap.txt").write_text("Ôn tập chương 1: tập hợp\n", encoding="utf-8")
    path = _write_jsonl(folder / "seed.jsonl", [
        _line(),
        _line(title="Đề ôn tập", file="files/on-tap.txt", type="BAI_KIEM_TRA", series="KNTT", topic="Chương 1",
              status="published", created_at="2025-09-10T08:30:00"),
        _line(title="Bài của trường khác", school="THCS02", owner=OWNER2, grades=[8], status="school_approved"),
    ])
    result = material_import.import_jsonl(SystemActor(), path)
    assert (result.imported, result.refused, result.skipped) == (3, [], [])
    school = schools.school_by_code("THCS01")
    owner = db.session.scalar(select(Material.owner_id).limit(1))
    db.session.add(Material(title="Không có tệp", subject="TOAN", grades=["6"], material_type="KHAC",
                            licence="CC_BY_4", school_id=school.id, owner_id=owner))
    db.session.commit()


def _export(folder: Path, fmt: str = "jsonl") -> Path:
    """The catalogue export plus, at the `file` path each line names, that material's stored file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"catalogue.{fmt}"
    target.write_bytes(b"".join(exchange.export_catalogue(SystemActor(), fmt)))
    store = current_app.extensions["storage"]
    for stored in db.session.scalars(select(MaterialFile).where(MaterialFile.is_current)):
        destination = folder / "files" / str(stored.material_id) / stored.original_name
        destination.parent.mkdir(parents=True, exist_ok=True)
        with store.open(stored.object_key) as source:
            destination.write_bytes(source.read())
    return target


def _catalogue_by_uid() -> dict[str, dict[str, Any]]:
    """The exported entries keyed by uid, without what names this deployment (its ids)."""
    entries = [json.loads(line) for line in b"".join(exchange.export_catalogue(SystemActor(), "jsonl")).splitlines()]
    return {e["uid"]: {k: v for k, v in e.items() if k not in ("identifier", "file")} for e in entries}


def _prepare_people(application: Any, tmp_path: Path) -> None:
    """The second deployment's schools and accounts, moved with the school and account exports."""
    (tmp_path / "truong.csv").write_bytes(exchange.export_schools(SystemActor(), "csv"))
    (tmp_path / "nguoi.csv").write_bytes(exchange.export_users(SystemActor(), "csv"))
    with application.app_context():
        schools.department_unit()
        db.session.add_all([AdminUnit(code="14329", name="Phường Hoa Lư", kind="ward", province_code=37),
                            AdminUnit(code="14464", name="Xã Gia Viễn", kind="commune", province_code=37)])
        db.session.commit()
        exchange.import_schools_file(SystemActor(), (tmp_path / "truong.csv").read_bytes(), "truong.csv")
        exchange.import_users_file(SystemActor(), (tmp_path / "nguoi.csv").read_bytes(), "nguoi.csv")
        db.session.remove()


def test_every_material_has_a_distinct_uuid_uid(world: dict[str, Any], tmp_path: Path) -> None:
    _seed_catalogue(tmp_path)
    uids = db.session.scalars(select(Material.uid)).all()
    assert len(uids) == 4 and len(set(uids)) == 4
    assert all(str(uuid.UUID(uid)) == uid for uid in uids)


def test_a_catalogue_moves_to_an_empty_deployment_and_a_reimport_adds_nothing(
        world: dict[str, Any], tmp_path: Path, second_deployment: Any) -> None:
    _seed_catalogue(tmp_path)
    # The hand-made material has no file: an export line without one is refused by the import.
    db.session.execute(sa.delete(Material).where(Material.title == "Không có tệp"))
    db.session.commit()
    source = _catalogue_by_uid()
    export = _export(tmp_path / "export")
    _prepare_people(second_deployment, tmp_path)

    with second_deployment.app_context():
        first = material_import.import_jsonl(SystemActor(), export)
        assert (first.imported, first.refused, first.skipped) == (3, [], [])
        assert _catalogue_by_uid() == source  # same uids, metadata, states and times
        assert _count(Material) == 3 and _count(MaterialFile) == 3
        assert len(list(current_app.extensions["storage"].list("materials/"))) == 3

        again = second_deployment.test_cli_runner().invoke(args=["materials", "import", str(export)])
        assert again.exit_code == 0, again.output
        assert "Đã nhập 0 học liệu; từ chối 0 dòng." in again.output
        assert "Bỏ qua 3 dòng có uid đã có." in again.output
        assert _count(Material) == 3 and _count(MaterialFile) == 3
        assert len(list(current_app.extensions["storage"].list("materials/"))) == 3
        moved = _export(tmp_path / "moved-back")
        db.session.remove()

    # The second deployment's export, imported where the catalogue came from, is a no-op as well.
    back = material_import.import_jsonl(SystemActor(), moved)
    assert (back.imported, back.refused, len(back.skipped)) == (0, [], 3)
    assert _count(Material) == 3 and _catalogue_by_uid() == source


def _add_spreadsheet_hazards(world: dict[str, Any], tmp_path: Path) -> None:
    """A material whose cells a spreadsheet would take for formulas, with a comma and line breaks."""
    folder = tmp_path / "hazards"
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "he.txt").write_text("Hệ hai phương trình bậc nhất\n", encoding="utf-8")
    path = _write_jsonl(folder / "seed.jsonl", [_line(
        title="=Hệ phương trình", file="files/he.txt", grades=[8, 9], topic="@Chương 3", status="published",
        description="- Mục tiêu: giải hệ, bằng hai cách\n- Bài tập +5 câu", created_at="2025-10-01T07:15:00")])
    assert material_import.import_jsonl(SystemActor(), path).imported == 1


def test_a_csv_catalogue_moves_to_an_empty_deployment_and_a_reimport_adds_nothing(
        world: dict[str, Any], tmp_path: Path, second_deployment: Any) -> None:
    _seed_catalogue(tmp_path)
    _add_spreadsheet_hazards(world, tmp_path)
    db.session.execute(sa.delete(Material).where(Material.title == "Không có tệp"))
    db.session.commit()
    source = _catalogue_by_uid()
    export = _export(tmp_path / "export", "csv")
    assert b"'=H" in export.read_bytes()  # the export protects the formula-like cells
    _prepare_people(second_deployment, tmp_path)

    with second_deployment.app_context():
        runner = second_deployment.test_cli_runner()
        first = runner.invoke(args=["materials", "import", str(export)])
        assert first.exit_code == 0, first.output
        assert "Đã nhập 4 học liệu; từ chối 0 dòng." in first.output
        assert _catalogue_by_uid() == source  # same uids, metadata (apostrophes gone), states and times
        assert _count(Material) == 4 and _count(MaterialFile) == 4
        assert len(list(current_app.extensions["storage"].list("materials/"))) == 4

        again = runner.invoke(args=["materials", "import", str(export)])
        assert again.exit_code == 0, again.output
        assert "Đã nhập 0 học liệu; từ chối 0 dòng." in again.output and "Bỏ qua 4 dòng có uid đã có." in again.output
        assert "dòng 2: " in again.output  # skipped rows are named by their line; the header is line 1
        assert _count(Material) == 4 and len(list(current_app.extensions["storage"].list("materials/"))) == 4
        moved = _export(tmp_path / "moved-back", "csv")
        db.session.remove()

    # Back where the catalogue came from: every row is already here.
    back = material_import.import_catalogue(SystemActor(), moved)
    assert (back.imported, back.refused, len(back.skipped)) == (0, [], 4)
    assert _count(Material) == 4 and _catalogue_by_uid() == source


def test_the_csv_export_saved_as_xlsx_imports_too(world: dict[str, Any], tmp_path: Path) -> None:
    """Excel's Save As .xlsx of the CSV export: the same columns, numbers typed as numbers."""
    _seed_catalogue(tmp_path)
    export = _export(tmp_path / "export", "csv")
    rows = list(csv.reader(io.StringIO(export.read_text(encoding="utf-8-sig"))))
    uid = rows[0].index("uid")
    fresh = [row[:uid] + [str(uuid.uuid4())] + row[uid + 1:] for row in rows[1:] if row[rows[0].index("file")]]
    book = export.with_suffix(".xlsx")
    book.write_bytes(spreadsheets.to_xlsx(rows[0], [[int(c) if c.isdigit() else c for c in row] for row in fresh]))
    result = material_import.import_catalogue(SystemActor(), book)
    assert (result.imported, result.refused, result.skipped) == (3, [], [])
    grades = db.session.scalars(select(Material.grades).where(Material.uid.in_([r[uid] for r in fresh]))).all()
    assert sorted(map(tuple, grades)) == [("8",), ("9",), ("9",)]


def test_a_uid_already_present_is_skipped_and_reported_whatever_its_metadata(
        app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    _seed_catalogue(tmp_path)
    here = db.session.scalar(select(Material).where(Material.title == "Bài giảng Hàm số"))
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "bai.txt").write_text("Một nội dung khác\n", encoding="utf-8")
    fresh = str(uuid.uuid4())
    path = _write_jsonl(tmp_path / "import.jsonl", [
        _line(uid=here.uid, title="Tiêu đề khác", subject="NGU_VAN", grades=[7], status="published"),
        _line(uid=fresh.upper(), title="Bài mới có uid"),  # any spelling of a UUID; stored canonical
        _line(title="Bài mới không có uid"),
    ])
    result = app.test_cli_runner().invoke(args=["materials", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 2 học liệu; từ chối 0 dòng." in result.output and "Bỏ qua 1 dòng" in result.output
    reported = result.output.split("dòng 1: ", 1)[1].splitlines()[0]
    assert here.uid in reported and "Bài giảng Hàm số" in reported
    db.session.expire_all()
    assert (here.title, here.subject, here.status) == ("Bài giảng Hàm số", "TOAN", "draft")
    assert db.session.scalar(select(Material.title).where(Material.uid == fresh)) == "Bài mới có uid"
    assert _count(Material) == 6

    # Run again: the two lines with a uid are skipped; the line without one is imported again, as before.
    second = material_import.import_jsonl(SystemActor(), path)
    assert (second.imported, second.refused, [n for n, _ in second.skipped]) == (1, [], [1, 2])
    assert _count(Material) == 7


@pytest.mark.parametrize("bad", ["khong-phai-uuid", 12345, ["x"], "123e4567-e89b-12d3-a456-42661417400"])
def test_a_malformed_uid_refuses_its_line(app: Any, world: dict[str, Any], tmp_path: Path, bad: Any) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "bai.txt").write_text("Hàm số\n", encoding="utf-8")
    path = _write_jsonl(tmp_path / "import.jsonl", [_line(), _line(uid=bad), _line(title="Dòng ba")])
    result = app.test_cli_runner().invoke(args=["materials", "import", str(path)])
    assert result.exit_code == 1
    reason = result.output.split("dòng 2: ", 1)[1].splitlines()[0]
    assert "uid phải là một UUID" in reason and str(bad) in reason
    assert "Đã nhập 2 học liệu; từ chối 1 dòng." in result.output and _count(Material) == 2


def test_a_uid_repeated_in_the_file_refuses_the_later_line(world: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "bai.txt").write_text("Hàm số\n", encoding="utf-8")
    same = str(uuid.uuid4())
    path = _write_jsonl(tmp_path / "import.jsonl", [
        _line(uid=same, file="files/khong-co.txt"),  # refused: its uid stays free for a later line
        _line(uid=same), _line(uid=same, title="Lặp lại")])
    result = material_import.import_jsonl(SystemActor(), path)
    assert result.imported == 1 and [n for n, _ in result.refused] == [1, 3]
    assert "dòng 2" in result.refused[1][1] and same in result.refused[1][1]
    assert db.session.scalar(select(Material.title).where(Material.uid == same)) == "Bài giảng Hàm số"


def test_the_migration_gives_existing_materials_distinct_uids(world: dict[str, Any], tmp_path: Path) -> None:
    _seed_catalogue(tmp_path)
    db.session.remove()
    try:
        downgrade(revision="0005_api")
        assert "uid" not in {c["name"] for c in sa.inspect(db.engine).get_columns("materials")}
    finally:
        upgrade()
    uids = db.session.scalars(select(Material.uid)).all()
    assert len(uids) == 4 and len(set(uids)) == 4 and all(str(uuid.UUID(u)) == u for u in uids)
