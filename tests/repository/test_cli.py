"""The command line (flask --app app ...): every refusal exits non-zero and says why.

Click's CliRunner (8.2+) puts what goes to stderr into `result.output` too, so the reasons printed
with err=True are checked there.
"""
from __future__ import annotations

import csv
import io
import os
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from repository.extensions import db
from repository.models import (
    AdminUnit,
    AuditEvent,
    Role,
    RoleAssignment,
    School,
    User,
    UserStatus,
)
from repository.services import demo
from tests.helpers import PASSWORD, sign_in

SCHOOL_HEADER = "code,name,type,unit_code,grades,active"
USER_HEADER = "email,full_name,school_code,unit_code,roles,phone,staff_id,subjects"


def cli(app: Any, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def committed_count(model: Any, *where: Any) -> int:
    """Rows another connection sees: what the command really left in the database."""
    db.session.expire_all()
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model.__table__).where(*where))


def account(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def write(path: Path, text: str, *, bom: bool = True) -> Path:
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    return path


# --- users create -----------------------------------------------------------------------------

def test_users_create_with_a_password_makes_an_active_account(app: Any, client: Any, world: dict) -> None:
    result = cli(app, "users", "create", "gv.moi@thcs1.ninhbinh.edu.vn", "--name", "Nguyễn Thị Mới",
                 "--role", "teacher", "--school", "THCS01", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "gv.moi@thcs1.ninhbinh.edu.vn" in result.output
    assert "kích hoạt" not in result.output  # no link when the password is set
    assert PASSWORD not in result.output

    made = account("gv.moi@thcs1.ninhbinh.edu.vn")
    assert made is not None and made.status == UserStatus.ACTIVE.value
    assert made.full_name == "Nguyễn Thị Mới" and made.school.code == "THCS01"
    assert {(a.role, a.school_id) for a in made.roles} == {("teacher", world["thcs1"].id)}
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.created",
                                                          AuditEvent.target_id == made.id)).all()
    assert len(created) == 1 and created[0].details.get("via") == "cli"

    assert sign_in(client, "gv.moi@thcs1.ninhbinh.edu.vn").status_code == 302
    assert client.get("/").status_code == 200


def test_users_create_with_several_roles_and_a_commune(app: Any, world: dict) -> None:
    result = cli(app, "users", "create", "canbo.gv@giavien.ninhbinh.edu.vn", "--name", "Lê Văn Cán",
                 "--role", "unit_officer", "--unit", "14464", "--password-stdin", input=PASSWORD + "\r\n")
    assert result.exit_code == 0, result.output
    made = account("canbo.gv@giavien.ninhbinh.edu.vn")
    assert {(a.role, a.unit.code) for a in made.roles} == {("unit_officer", "14464")}
    result = cli(app, "users", "create", "tt@thcs2.ninhbinh.edu.vn", "--name", "Tổ Trưởng",
                 "--role", "school_reviewer", "--role", "teacher", "--school", "THCS02",
                 "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert {a.role for a in account("tt@thcs2.ninhbinh.edu.vn").roles} == {"school_reviewer", "teacher"}


@pytest.mark.parametrize("password, reason", [
    ("ngan1!A", "ít nhất 8 ký tự"),
    ("khongcohoa1!", "chữ hoa và chữ thường"),
    ("KhongCoSo!!", "chữ số"),
    ("KhongKyHieu12", "ký hiệu"),
    ("Gv.moi#2025x", "phần tên trong địa chỉ e-mail"),
])
def test_users_create_refuses_a_weak_password(app: Any, world: dict, password: str, reason: str) -> None:
    users_before = committed_count(User)
    result = cli(app, "users", "create", "gv.moi@thcs1.ninhbinh.edu.vn", "--name", "Nguyễn Thị Mới",
                 "--role", "teacher", "--school", "THCS01", "--password-stdin", input=password + "\n")
    assert result.exit_code != 0
    assert "Lỗi" in result.output and reason in result.output
    assert committed_count(User) == users_before
    assert account("gv.moi@thcs1.ninhbinh.edu.vn") is None


@pytest.mark.parametrize("args, reason", [
    (["--role", "hieu_truong", "--school", "THCS01"], "Vai trò không hợp lệ: hieu_truong"),
    (["--role", "teacher", "--school", "THCS99"], "THCS99"),
    (["--role", "teacher"], "cần mã trường"),
    (["--role", "unit_officer", "--unit", "99999"], "99999"),
])
def test_users_create_refuses_bad_arguments(app: Any, world: dict, args: list[str], reason: str) -> None:
    users_before, roles_before = committed_count(User), committed_count(RoleAssignment)
    result = cli(app, "users", "create", "gv.moi@thcs1.ninhbinh.edu.vn", "--name", "Nguyễn Thị Mới", *args,
                 "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code != 0
    assert reason in result.output
    assert (committed_count(User), committed_count(RoleAssignment)) == (users_before, roles_before)
    assert account("gv.moi@thcs1.ninhbinh.edu.vn") is None


def test_users_create_refuses_an_email_already_used(app: Any, world: dict) -> None:
    users_before = committed_count(User)
    result = cli(app, "users", "create", "GiaoVien@THCS1.ninhbinh.edu.vn", "--name", "Người khác",
                 "--role", "teacher", "--school", "THCS02", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code != 0
    assert "giaovien@thcs1.ninhbinh.edu.vn" in result.output and "đã được dùng" in result.output
    assert committed_count(User) == users_before
    assert account("giaovien@thcs1.ninhbinh.edu.vn").full_name == "Người teacher"


def test_users_create_refuses_a_bad_email_and_a_missing_name(app: Any, world: dict) -> None:
    result = cli(app, "users", "create", "khong-phai-email", "--name", "Ai Đó", "--role", "teacher",
                 "--school", "THCS01")
    assert result.exit_code != 0 and "E-mail không hợp lệ" in result.output
    result = cli(app, "users", "create", "ai@thcs1.ninhbinh.edu.vn", "--role", "teacher", "--school", "THCS01")
    assert result.exit_code != 0 and "--name" in result.output
    assert account("ai@thcs1.ninhbinh.edu.vn") is None


def test_users_create_without_a_password_prints_an_activation_link(app: Any, world: dict) -> None:
    result = cli(app, "users", "create", "gv.cho@thcs1.ninhbinh.edu.vn", "--name", "Trần Văn Chờ",
                 "--role", "teacher", "--school", "THCS01")
    assert result.exit_code == 0, result.output
    links = re.findall(r"https?://\S+/account/activate/\S+", result.output)
    assert len(links) == 1
    made = account("gv.cho@thcs1.ninhbinh.edu.vn")
    assert made.status == UserStatus.PENDING.value and made.password_hash is None

    with app.app_context():  # the new teacher's own browser
        browser = app.test_client()
        path = urlsplit(links[0]).path
        assert browser.get(path).status_code == 200
        assert browser.post(path, data={"new_password": PASSWORD, "confirm": PASSWORD}).status_code == 302
        assert sign_in(browser, "gv.cho@thcs1.ninhbinh.edu.vn").status_code == 302


# --- imports --------------------------------------------------------------------------------

def test_schools_import_from_a_file(app: Any, world: dict, tmp_path: Path) -> None:
    text = "\r\n".join([SCHOOL_HEADER,
                        "THCS10,Trường THCS Ninh Nhất,THCS,14329,,1",
                        "THPT10,Trường THPT Gia Viễn B,THPT,14464,,1", ""])
    path = write(tmp_path / "truong.csv", text)
    result = cli(app, "schools", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "Tạo mới 2, cập nhật 0, không đổi 0" in result.output
    assert committed_count(School, School.code.in_(["THCS10", "THPT10"])) == 2
    db.session.expire_all()
    thpt = db.session.scalar(select(School).where(School.code == "THPT10"))
    assert thpt.reports_to.kind == "department"

    again = cli(app, "schools", "import", str(path))
    assert again.exit_code == 0 and "Tạo mới 0, cập nhật 0, không đổi 2" in again.output


def test_schools_import_of_a_bad_file_exits_1_listing_the_lines(app: Any, world: dict, tmp_path: Path) -> None:
    text = "\n".join([SCHOOL_HEADER,
                      "THCS10,Trường THCS Ninh Nhất,THCS,14329,,1",
                      "THCS11,Trường THCS Ninh Hải,THCS,99999,,1",
                      "THCS10,Trường THCS lặp,THCS,14329,,1", ""])
    schools_before = committed_count(School)
    result = cli(app, "schools", "import", str(write(tmp_path / "truong.csv", text)))
    assert result.exit_code == 1
    assert "Lỗi" in result.output
    assert re.search(r"dòng 3: .*99999", result.output)
    assert re.search(r"dòng 4: .*dòng 2", result.output)
    assert "dòng 2:" not in result.output
    assert committed_count(School) == schools_before


def test_schools_import_refuses_a_windows_1258_file(app: Any, world: dict, tmp_path: Path) -> None:
    path = tmp_path / "truong.csv"
    # "Trường" in Windows-1258: base letters plus a separate combining grave accent (0xCC).
    path.write_bytes(SCHOOL_HEADER.encode() + b"\r\nTHCS10,Tr\xfd\xf5\xccng THCS Ninh Nh\xe2\xecn,THCS,14329,,1\r\n")
    result = cli(app, "schools", "import", str(path))
    assert result.exit_code == 1
    assert "Windows-1258" in result.output
    assert committed_count(School, School.code == "THCS10") == 0


def test_schools_import_of_a_missing_file_is_a_usage_error(app: Any, tmp_path: Path) -> None:
    result = cli(app, "schools", "import", str(tmp_path / "khong-co.csv"))
    assert result.exit_code == 2


def test_users_import_writes_the_activation_links(app: Any, world: dict, tmp_path: Path) -> None:
    text = "\r\n".join([USER_HEADER,
                        "gv.lan@thcs1.ninhbinh.edu.vn,Vũ Thị Lan,THCS01,,teacher,,GV1001,",
                        "duyet.hoa@so.ninhbinh.edu.vn,Trần Thị Hoà,,,dept_reviewer,,,Hóa học",
                        "giaovien@thcs1.ninhbinh.edu.vn,Người teacher,THCS01,,teacher,,,", ""])
    links_path = tmp_path / "lien-ket.csv"
    result = cli(app, "users", "import", str(write(tmp_path / "nguoi-dung.csv", text)), "--links", str(links_path))
    assert result.exit_code == 0, result.output
    assert "Tạo mới 2, cập nhật 0, không đổi 1" in result.output
    assert "Đã ghi 2 liên kết" in result.output

    raw = links_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(os.stat(links_path).st_mode) == 0o600  # the links are credentials
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r["email"] for r in rows] == ["gv.lan@thcs1.ninhbinh.edu.vn", "duyet.hoa@so.ninhbinh.edu.vn"]
    assert rows[0]["full_name"] == "Vũ Thị Lan"

    reviewer = account("duyet.hoa@so.ninhbinh.edu.vn")
    assert reviewer.status == UserStatus.PENDING.value
    assert [(a.role, a.subjects) for a in reviewer.roles] == [("dept_reviewer", ["HOA_HOC"])]
    with app.app_context():
        browser = app.test_client()
        path = urlsplit(rows[0]["activation_link"]).path
        assert browser.get(path).status_code == 200
        assert browser.post(path, data={"new_password": PASSWORD, "confirm": PASSWORD}).status_code == 302
        assert sign_in(browser, "gv.lan@thcs1.ninhbinh.edu.vn").status_code == 302

    # Nothing new the second time: no links file is written.
    links_path.unlink()
    again = cli(app, "users", "import", str(tmp_path / "nguoi-dung.csv"), "--links", str(links_path))
    assert again.exit_code == 0 and "Tạo mới 0, cập nhật 0, không đổi 3" in again.output
    assert not links_path.exists()


def test_users_import_checks_the_links_folder_before_importing(app: Any, world: dict, tmp_path: Path) -> None:
    text = USER_HEADER + "\ngv.lan@thcs1.ninhbinh.edu.vn,Vũ Thị Lan,THCS01,,teacher,,,\n"
    source = write(tmp_path / "nguoi-dung.csv", text)
    result = cli(app, "users", "import", str(source), "--links", str(tmp_path / "khong-co" / "lien-ket.csv"))
    assert result.exit_code == 2
    assert "--links" in result.output
    # Nothing was imported, so a corrected command still creates the account and writes its link.
    assert account("gv.lan@thcs1.ninhbinh.edu.vn") is None
    links_path = tmp_path / "lien-ket.csv"
    links_path.write_text("cũ")
    links_path.chmod(0o644)
    result = cli(app, "users", "import", str(source), "--links", str(links_path))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(links_path).st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(links_path.read_text(encoding="utf-8-sig"), newline="")))
    assert [r["email"] for r in rows] == ["gv.lan@thcs1.ninhbinh.edu.vn"]


def test_users_import_without_links_option(app: Any, world: dict, tmp_path: Path) -> None:
    text = USER_HEADER + "\ngv.lan@thcs1.ninhbinh.edu.vn,Vũ Thị Lan,THCS01,,teacher,,,\n"
    result = cli(app, "users", "import", str(write(tmp_path / "nguoi-dung.csv", text, bom=False)))
    assert result.exit_code == 0, result.output
    assert "Tạo mới 1" in result.output and "liên kết" not in result.output
    assert account("gv.lan@thcs1.ninhbinh.edu.vn").status == UserStatus.PENDING.value


def test_users_import_of_a_bad_file_exits_1_and_writes_no_links(app: Any, world: dict, tmp_path: Path) -> None:
    text = "\n".join([USER_HEADER,
                      "gv.lan@thcs1.ninhbinh.edu.vn,Vũ Thị Lan,THCS01,,teacher,,GV1001,",
                      "gv.hoa@thcs1.ninhbinh.edu.vn,Vũ Thị Hoa,THCS01,,giam_doc,,,",
                      "gv.mai@thcs1.ninhbinh.edu.vn,Vũ Thị Mai,THCS01,,teacher,,GV1001,",
                      "GV.LAN@thcs1.ninhbinh.edu.vn,Vũ Thị Lan,THCS01,,teacher,,,", ""])
    links_path = tmp_path / "lien-ket.csv"
    users_before = committed_count(User)
    result = cli(app, "users", "import", str(write(tmp_path / "nguoi-dung.csv", text)), "--links", str(links_path))
    assert result.exit_code == 1
    assert re.search(r"dòng 3: .*giam_doc", result.output)
    assert re.search(r"dòng 4: .*GV1001.*dòng 2", result.output)
    assert re.search(r"dòng 5: .*dòng 2", result.output)
    assert committed_count(User) == users_before
    assert not links_path.exists()


# --- units and demo ---------------------------------------------------------------------------

def test_units_load_the_province_once(app: Any) -> None:
    result = cli(app, "units", "load")
    assert result.exit_code == 0, result.output
    assert "Tỉnh 37: tạo mới 129, cập nhật 0" in result.output
    assert committed_count(AdminUnit, AdminUnit.province_code == 37) == 129
    assert committed_count(AdminUnit, AdminUnit.province_code == 37, AdminUnit.kind == "ward") == 32
    assert committed_count(AdminUnit, AdminUnit.province_code == 37, AdminUnit.kind == "commune") == 97
    assert committed_count(AdminUnit, AdminUnit.kind == "department") == 1
    assert committed_count(AdminUnit) == 130
    db.session.expire_all()
    hoa_lu = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "14329"))
    assert (hoa_lu.name, hoa_lu.kind) == ("Phường Hoa Lư", "ward")
    gia_vien = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "14464"))
    assert (gia_vien.name, gia_vien.kind) == ("Xã Gia Viễn", "commune")
    audits = committed_count(AuditEvent, AuditEvent.action == "unit.loaded")
    assert audits == 1

    again = cli(app, "units", "load", "--province", "37")
    assert again.exit_code == 0, again.output
    assert "tạo mới 0, cập nhật 0" in again.output
    assert committed_count(AdminUnit) == 130
    assert committed_count(AuditEvent, AuditEvent.action == "unit.loaded") == audits


def test_units_load_puts_back_a_changed_name(app: Any) -> None:
    assert cli(app, "units", "load").exit_code == 0
    unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "14329"))
    unit.name, unit.kind = "Tên cũ", "commune"
    db.session.commit()
    result = cli(app, "units", "load")
    assert result.exit_code == 0 and "tạo mới 0, cập nhật 1" in result.output
    db.session.expire_all()
    unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "14329"))
    assert (unit.name, unit.kind) == ("Phường Hoa Lư", "ward")


def demo_counts() -> dict[str, int]:
    return {"schools": committed_count(School), "users": committed_count(User),
            "roles": committed_count(RoleAssignment), "units": committed_count(AdminUnit)}


def test_seed_demo_is_idempotent_and_prints_the_accounts(app: Any, client: Any) -> None:
    first = cli(app, "seed-demo")
    assert first.exit_code == 0, first.output
    counts = demo_counts()
    second = cli(app, "seed-demo")
    assert second.exit_code == 0, second.output
    assert demo_counts() == counts

    assert counts["schools"] >= 12
    assert counts["units"] == 130
    assert committed_count(School, School.school_type == "THCS") >= 2
    db.session.expire_all()
    held = set(db.session.scalars(select(RoleAssignment.role).distinct()))
    assert held >= {r.value for r in Role}
    printed = second.output.splitlines()
    for email, *_rest in demo.DEMO_ACCOUNTS:
        line = next((ln for ln in printed if email in ln), None)
        assert line is not None, email
        assert demo.DEMO_PASSWORD in line
    assert len(demo.DEMO_ACCOUNTS) >= len(Role)

    # Schools report where their type says.
    thpt = db.session.scalar(select(School).where(School.code == "DEMO-THPT-02"))
    assert thpt.reports_to.kind == "department"
    thcs = db.session.scalar(select(School).where(School.code == "DEMO-THCS-01"))
    assert thcs.reports_to.code == "14329"


def test_demo_accounts_sign_in_without_a_forced_password_change(app: Any, client: Any) -> None:
    assert cli(app, "seed-demo").exit_code == 0
    for email, *_rest in demo.DEMO_ACCOUNTS:
        client.post("/logout")
        response = sign_in(client, email, demo.DEMO_PASSWORD)
        assert response.status_code == 302, email
        home = client.get("/")
        assert home.status_code == 200, email  # not sent to the change-password page
        made = account(email)
        assert made.status == UserStatus.ACTIVE.value and made.must_change_password is False


def test_seed_demo_keeps_what_exists(app: Any) -> None:
    assert cli(app, "seed-demo").exit_code == 0
    school = db.session.scalar(select(School).where(School.code == "DEMO-THCS-01"))
    school.name = "Tên do Sở sửa"
    db.session.commit()
    assert cli(app, "seed-demo").exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(select(School.name).where(School.code == "DEMO-THCS-01")) == "Tên do Sở sửa"


def test_unknown_command_exits_non_zero(app: Any) -> None:
    assert cli(app, "users", "xoa-het").exit_code != 0


def test_the_processing_worker_waits_while_the_host_is_busy(app: Any, world: dict[str, Any], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`materials process --max-load N`: requests come first; the load is read again before each file."""
    from repository import cli as cli_module
    from repository.models import FileState, MaterialFile
    from tests.repository.review_support import make_material

    make_material(world["teacher"], tmp_path, title="Phương trình bậc hai")
    make_material(world["teacher"], tmp_path, title="Hệ thức Vi-ét")
    make_material(world["teacher"], tmp_path, title="Góc nội tiếp")
    loads = [3.5]
    monkeypatch.setattr(cli_module.os, "getloadavg", lambda: (loads.pop(0) if len(loads) > 1 else loads[0], 0.0, 0.0))
    waiting = lambda: committed_count(MaterialFile, MaterialFile.state == FileState.UPLOADED.value)  # noqa: E731
    assert waiting() == 3

    busy = cli(app, "materials", "process", "--max-load", "2")
    assert busy.exit_code == 0 and "Đã xử lý 0 tệp. Máy đang bận (tải 3.5 > 2): tạm dừng." in busy.output
    assert waiting() == 3

    loads[:] = [1.0, 4.0]  # quiet for the first file, busy again before the second
    partly = cli(app, "materials", "process", "--max-load", "2")
    assert "Đã xử lý 1 tệp. Máy đang bận (tải 4.0 > 2)" in partly.output and waiting() == 2

    loads[:] = [0.5]
    assert "Đã xử lý 2 tệp." in cli(app, "materials", "process", "--max-load", "2").output and waiting() == 0
