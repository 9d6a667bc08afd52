"""CSV imports of schools and accounts: all rows or none, every bad row named by its line.

Service level with the command-line operator (SystemActor) and web level through the admin pages.
The header is line 1, so the first data row is line 2.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import Any, Iterable
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from repository import csvfiles
from repository.errors import ImportRejected
from repository.extensions import db
from repository.models import (
    AccountToken,
    AuditEvent,
    Role,
    RoleAssignment,
    School,
    SchoolEvent,
    User,
    UserStatus,
)
from repository.permissions import SystemActor
from repository.services import imports, schools, users
from tests.helpers import PASSWORD, encode_cp1258, encode_tcvn3, sign_in

SCHOOL_HEADER = ["code", "name", "type", "unit_code", "grades", "active"]
USER_HEADER = ["email", "full_name", "school_code", "unit_code", "roles", "phone", "staff_id", "subjects"]

NEW_SCHOOLS = [
    ["THCS10", "Trường THCS Ninh Nhất", "THCS", "14329", "", "1"],
    ["THPT10", "Trường THPT Gia Viễn B", "THPT", "14464", "", "1"],
    ["TH10", "Trường Tiểu học Gia Viễn", "TH", "14464", "1|2|3", "1"],
]

NEW_USERS = [
    ["gv.mai@thcs1.ninhbinh.edu.vn", "Phạm Thị Mai", "THCS01", "", "teacher", "0912 345 678", "GV0001", ""],
    ["canbo@giavien.ninhbinh.edu.vn", "Lê Văn Nam", "", "14464", "unit_officer", "", "CB0001", ""],
    ["duyet.hoa@so.ninhbinh.edu.vn", "Trần Thị Hoà", "", "", "dept_reviewer", "", "", "Hóa học|Vật lý"],
    ["totruong@thcs2.ninhbinh.edu.vn", "Đỗ Văn Toàn", "THCS02", "", "school_reviewer|teacher", "", "", "Toán học"],
]


# --- building files ---------------------------------------------------------------------------

def csv_text(header: list[str], rows: Iterable[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def utf8(header: list[str], rows: Iterable[list[str]], delimiter: str = ",", bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + csv_text(header, rows, delimiter)).encode("utf-8")



# --- looking at the database ------------------------------------------------------------------

def count(model: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot() -> dict[str, int]:
    return {m.__name__: count(m) for m in (School, SchoolEvent, User, RoleAssignment, AuditEvent, AccountToken)}


def school(code: str) -> School:
    db.session.expire_all()
    found = schools.school_by_code(code)
    assert found is not None, code
    return found


def user(email: str) -> User:
    db.session.expire_all()
    found = db.session.scalar(select(User).where(User.email == email))
    assert found is not None, email
    return found


def audit_rows(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def refused(run: Any, data: bytes) -> list[tuple[int, str]]:
    """Run an import expected to be refused; check nothing changed; return its (line, reason) rows."""
    before = snapshot()
    with pytest.raises(ImportRejected) as caught:
        run(data)
    db.session.rollback()
    assert snapshot() == before, "a refused import must not change anything"
    assert caught.value.status == 422
    assert caught.value.rows, "a refusal must say why"
    return [(line, str(reason)) for line, reason in caught.value.rows]


def import_schools(data: bytes) -> imports.ImportResult:
    return imports.import_schools(SystemActor(), data)


def import_users(data: bytes) -> imports.ImportResult:
    return imports.import_users(SystemActor(), data)


def post_file(client: Any, url: str, data: bytes, filename: str = "danh-sach.csv") -> Any:
    return client.post(url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def problem_rows(html: str) -> list[tuple[str, str]]:
    """The (line, reason) cells of the page's table of bad rows."""
    table = html.split("table-danger", 1)
    assert len(table) == 2, "the page lists no bad rows"
    return re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", table[1])


# --- schools: happy path ----------------------------------------------------------------------

def test_schools_import_creates_schools_reporting_where_their_type_says(world: dict) -> None:
    department = schools.department_unit()
    result = import_schools(utf8(SCHOOL_HEADER, NEW_SCHOOLS))
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)

    thcs = school("THCS10")
    assert thcs.name == "Trường THCS Ninh Nhất"
    assert thcs.unit.code == "14329"
    assert thcs.reports_to.code == "14329"  # THCS reports to its commune/ward
    assert thcs.active is True
    assert schools.effective_grades(thcs) == ["6", "7", "8", "9"]

    thpt = school("THPT10")
    assert thpt.unit.code == "14464"
    assert thpt.reports_to_id == department.id  # THPT reports to the department

    primary = school("TH10")
    assert primary.reports_to.code == "14464"
    assert schools.effective_grades(primary) == ["1", "2", "3"]

    created = audit_rows("school.created")
    assert sorted(e.details["code"] for e in created[-3:]) == ["TH10", "THCS10", "THPT10"]
    assert all(e.details.get("via") == "cli" for e in created[-3:])
    events = db.session.scalars(select(SchoolEvent).where(SchoolEvent.school_id == thcs.id)).all()
    assert [(e.kind, e.new_value) for e in events] == [("created", "Trường THCS Ninh Nhất")]


def test_schools_import_reads_optional_columns_and_header_case(world: dict) -> None:
    rows = [["THCS11", "Trường THCS Ninh Hải", "THCS", "14329", "", "0"],
            ["THCS12", "Trường THCS Ninh Vân", "THCS", "14464", "", "không"]]
    header = ["Code", " NAME ", "Type", "Unit_Code", "Grades", "Active"]
    result = import_schools(utf8(header, rows))
    assert result.created == 2
    assert school("THCS11").active is False
    assert school("THCS12").active is False
    # Without the optional columns a school is active and teaches its type's grades.
    import_schools(utf8(["code", "name", "type", "unit_code"], [["THCS13", "Trường THCS Ninh Giang", "THCS", "14329"]]))
    assert school("THCS13").active is True
    assert school("THCS13").grades_override is None


def test_schools_import_stores_names_in_nfc(world: dict) -> None:
    decomposed = unicodedata.normalize("NFD", "Trường THCS Đinh Tiên Hoàng")
    import_schools(utf8(SCHOOL_HEADER, [["THCS14", decomposed, "THCS", "14329", "", ""]]))
    assert school("THCS14").name == "Trường THCS Đinh Tiên Hoàng"
    assert unicodedata.is_normalized("NFC", school("THCS14").name)


@pytest.mark.parametrize("encoding", ["utf-8-bom", "utf-8-semicolon", "utf-16-le-tab", "utf-16-be-tab"])
def test_schools_import_accepts_what_excel_saves(world: dict, encoding: str) -> None:
    if encoding == "utf-8-bom":  # Excel "CSV UTF-8 (Comma delimited)"
        data = utf8(SCHOOL_HEADER, NEW_SCHOOLS, bom=True)
    elif encoding == "utf-8-semicolon":  # list separator ';' in Vietnamese regional settings
        data = utf8(SCHOOL_HEADER, NEW_SCHOOLS, delimiter=";", bom=True)
    elif encoding == "utf-16-le-tab":  # Excel "Unicode text": UTF-16 LE with BOM, tab-delimited
        data = b"\xff\xfe" + csv_text(SCHOOL_HEADER, NEW_SCHOOLS, "\t").encode("utf-16-le")
    else:
        data = b"\xfe\xff" + csv_text(SCHOOL_HEADER, NEW_SCHOOLS, "\t").encode("utf-16-be")
    result = import_schools(data)
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert school("THCS10").name == "Trường THCS Ninh Nhất"
    assert school("THCS10").code == "THCS10"  # the BOM is not part of the first column
    assert school("TH10").grades_override == ["1", "2", "3"]
    assert school("THPT10").reports_to.code == schools.department_unit().code


def test_schools_reimport_of_the_same_file_changes_nothing(world: dict) -> None:
    data = utf8(SCHOOL_HEADER, NEW_SCHOOLS + [["THCS01", "Trường THCS Hoa Lư", "THCS", "14329", "", "1"]])
    first = import_schools(data)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 1)
    before = snapshot()
    again = import_schools(data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert snapshot() == before  # no audit rows, no history rows


def test_schools_reimport_with_a_new_name_updates_and_records_it(world: dict) -> None:
    import_schools(utf8(SCHOOL_HEADER, NEW_SCHOOLS))
    renamed = [list(r) for r in NEW_SCHOOLS]
    renamed[0][1] = "Trường THCS Ninh Nhất mới"
    audits_before = count(AuditEvent)
    result = import_schools(utf8(SCHOOL_HEADER, renamed))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)

    changed = school("THCS10")
    assert changed.name == "Trường THCS Ninh Nhất mới"
    events = db.session.scalars(select(SchoolEvent).where(SchoolEvent.school_id == changed.id,
                                                          SchoolEvent.kind == "name_changed")).all()
    assert [(e.old_value, e.new_value) for e in events] == [("Trường THCS Ninh Nhất", "Trường THCS Ninh Nhất mới")]
    updated = audit_rows("school.updated")
    assert len(updated) == 1 and count(AuditEvent) == audits_before + 1
    assert updated[0].target_id == changed.id
    assert updated[0].details["fields"] == ["name"]


def test_schools_reimport_with_a_new_type_moves_reporting(world: dict) -> None:
    import_schools(utf8(SCHOOL_HEADER, NEW_SCHOOLS))
    changed = [["THCS10", "Trường THCS Ninh Nhất", "THCS_THPT", "14329", "", "1"]]
    result = import_schools(utf8(SCHOOL_HEADER, changed))
    assert result.updated == 1
    assert school("THCS10").reports_to_id == schools.department_unit().id
    kinds = {e.kind for e in db.session.scalars(select(SchoolEvent).where(SchoolEvent.school_id == school("THCS10").id))}
    assert "school_type_changed" in kinds


# --- schools: refusals ------------------------------------------------------------------------

GOOD = ["THCS10", "Trường THCS Ninh Nhất", "THCS", "14329", "", "1"]

ROW_REFUSALS = {
    "code twice": (["THCS10", "Trường THCS khác", "THCS", "14464", "", "1"], ["THCS10", "dòng 2"]),
    "code twice, other case": (["thcs10", "Trường THCS khác", "THCS", "14464", "", "1"], ["THCS10", "dòng 2"]),
    "unknown commune": (["THCS11", "Trường THCS Ninh Hải", "THCS", "99999", "", "1"], ["xã/phường", "99999"]),
    "department is no commune": (["THCS11", "Trường THCS Ninh Hải", "THCS", "SO_GDDT", "", "1"], ["xã/phường"]),
    "unknown school type": (["THCS11", "Trường THCS Ninh Hải", "CAP2", "14329", "", "1"], ["Loại trường", "CAP2"]),
    "name too long": (["THCS11", "T" * 256, "THCS", "14329", "", "1"], ["Tên trường", "255"]),
    "empty name": (["THCS11", "", "THCS", "14329", "", "1"], ["Tên trường", "không được để trống"]),
    "empty code": (["", "Trường THCS Ninh Hải", "THCS", "14329", "", "1"], ["Mã trường", "không được để trống"]),
    "empty type": (["THCS11", "Trường THCS Ninh Hải", "", "14329", "", "1"], ["Loại trường"]),
    "bad code characters": (["THCS 11", "Trường THCS Ninh Hải", "THCS", "14329", "", "1"], ["Mã trường"]),
    "control character": (["THCS11", "Trường THCS\x07 Ninh Hải", "THCS", "14329", "", "1"], ["ký tự điều khiển"]),
    "escape character": (["THCS11", "\x1b[31mTrường THCS", "THCS", "14329", "", "1"], ["ký tự điều khiển"]),
    "line break in name": (["THCS11", "Trường THCS\nNinh Hải", "THCS", "14329", "", "1"], ["ký tự điều khiển"]),
    "too few columns": (["THCS11", "Trường THCS Ninh Hải", "THCS"], ["Số cột (3)", "(6)"]),
    "too many columns": (["THCS11", "Trường THCS Ninh Hải", "THCS", "14329", "", "1", "x"], ["Số cột (7)"]),
    "unknown grade": (["THCS11", "Trường THCS Ninh Hải", "THCS", "14329", "6|13", "1"], ["13"]),
}


@pytest.mark.parametrize("case", list(ROW_REFUSALS))
def test_schools_import_refuses_a_bad_row_and_imports_nothing(world: dict, case: str) -> None:
    bad, fragments = ROW_REFUSALS[case]
    rows = refused(import_schools, utf8(SCHOOL_HEADER, [GOOD, bad]))
    assert [line for line, _ in rows] == [3]
    for fragment in fragments:
        assert fragment in rows[0][1]
    assert schools.school_by_code("THCS10") is None


def test_schools_import_lists_every_bad_row(world: dict) -> None:
    rows = refused(import_schools, utf8(SCHOOL_HEADER, [
        ["THCS11", "Trường THCS Ninh Hải", "THCS", "99999", "", "1"],
        GOOD,
        ["THCS12", "", "THCS", "14329", "", "1"],
        GOOD,
        ["THCS13", "Trường THCS Ninh Vân", "XYZ", "14329", "", "1"],
    ]))
    assert [line for line, _ in rows] == [2, 4, 5, 6]
    assert "dòng 3" in rows[2][1]


def test_schools_import_counts_blank_lines(world: dict) -> None:
    text = csv_text(SCHOOL_HEADER, [GOOD]) + "\r\n" + "THCS11,Trường THCS Ninh Hải,THCS,99999,,1\r\n"
    rows = refused(import_schools, text.encode("utf-8"))
    assert [line for line, _ in rows] == [4]


def test_schools_import_numbers_rows_as_excel_does(world: dict) -> None:
    # A quoted line break keeps a cell in one spreadsheet row, so the next row is row 4, not line 5.
    rows = refused(import_schools, utf8(SCHOOL_HEADER, [
        GOOD, ["THCS11", "Trường THCS\nNinh Hải", "THCS", "14329", "", "1"],
        ["THCS12", "Trường THCS Ninh Vân", "THCS", "99999", "", "1"]]))
    assert [line for line, _ in rows] == [3, 4]


@pytest.mark.parametrize("data", [
    b"\xff\xfe" + "code\tname".encode("utf-16-le") + b"x",  # cut off mid-character
    b"\xff\xfe" + "code\tname\r\n".encode("utf-16-le") + b"\x00\xd8" + "x".encode("utf-16-le"),  # lone surrogate
    b"\xfe\xff" + "code".encode("utf-16-be") + b"\x00",
])
def test_schools_import_refuses_a_damaged_utf16_file(world: dict, data: bytes) -> None:
    rows = refused(import_schools, data)
    assert "UTF-8" in rows[0][1]


def test_schools_import_refuses_a_malformed_csv(world: dict) -> None:
    rows = refused(import_schools, utf8(SCHOOL_HEADER, [GOOD, ["THCS11", "T" * 200_000, "THCS", "14329", "", "1"]]))
    assert "CSV" in rows[0][1]


HEADER_REFUSALS = {
    "missing column": (["code", "name", "type", "grades"], ["Thiếu cột: unit_code"]),
    "unknown column": (SCHOOL_HEADER + ["principal"], ["principal"]),
    "misspelt column": (["code", "ten", "type", "unit_code"], ["name", "ten"]),
}


@pytest.mark.parametrize("case", list(HEADER_REFUSALS))
def test_schools_import_refuses_a_bad_header_on_line_1(world: dict, case: str) -> None:
    header, fragments = HEADER_REFUSALS[case]
    row = GOOD[: len(header)] + [""] * max(0, len(header) - len(GOOD))
    rows = refused(import_schools, utf8(header, [row]))
    assert [line for line, _ in rows] == [1]
    assert "tiêu đề" in rows[0][1]
    for fragment in fragments:
        assert fragment in rows[0][1]


@pytest.mark.parametrize("data, fragment", [
    (b"", "Tệp rỗng"),
    (b"\xef\xbb\xbf", "Tệp rỗng"),
    (b"\r\n \r\n", "Tệp rỗng"),
    (",".join(SCHOOL_HEADER).encode() + b"\r\n", "không có dòng dữ liệu"),
    (",".join(SCHOOL_HEADER).encode() + b"\r\n,,,,,\r\n\r\n", "không có dòng dữ liệu"),
])
def test_schools_import_refuses_a_file_without_data(world: dict, data: bytes, fragment: str) -> None:
    rows = refused(import_schools, data)
    assert len(rows) == 1 and fragment in rows[0][1]


def test_schools_import_refuses_windows_1258_naming_it(world: dict) -> None:
    data = encode_cp1258(csv_text(SCHOOL_HEADER, NEW_SCHOOLS))
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rows = refused(import_schools, data)
    assert "Windows-1258" in rows[0][1]
    assert "CSV UTF-8" in rows[0][1]


def test_schools_import_refuses_tcvn3_naming_it(world: dict) -> None:
    rows_in = [[c.lower() if i == 1 else c for i, c in enumerate(r)] for r in NEW_SCHOOLS]
    data = encode_tcvn3(csv_text(SCHOOL_HEADER, rows_in))
    rows = refused(import_schools, data)
    assert "TCVN3" in rows[0][1]


def test_schools_import_needs_the_department_admin(world: dict) -> None:
    from repository.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.import_schools(world["school_admin"], utf8(SCHOOL_HEADER, NEW_SCHOOLS))
    db.session.rollback()
    assert schools.school_by_code("THCS10") is None


def test_html_in_a_school_name_is_kept_and_shown_escaped(client: Any, world: dict) -> None:
    import_schools(utf8(SCHOOL_HEADER, [["THCS20", "<b>x</b>", "THCS", "14329", "", "1"]]))
    assert school("THCS20").name == "<b>x</b>"
    assert sign_in(client, "admin@so.ninhbinh.edu.vn").status_code == 302
    for url in ("/schools", "/admin/schools"):
        page = client.get(url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "&lt;b&gt;x&lt;/b&gt;" in html, url
        assert "<b>x</b>" not in html, url


# --- schools: web ----------------------------------------------------------------------------

def test_web_school_import_by_the_department_admin(client: Any, world: dict) -> None:
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    assert client.get("/admin/schools/import").status_code == 200
    page = post_file(client, "/admin/schools/import", utf8(SCHOOL_HEADER, NEW_SCHOOLS, bom=True))
    assert page.status_code == 200
    assert "tạo mới 3, cập nhật 0, không đổi 0" in page.get_data(as_text=True)
    assert school("THPT10").reports_to_id == schools.department_unit().id
    # The department admin's name is on the audit rows, not "via cli".
    created = audit_rows("school.created")[-1]
    assert created.actor_id == world["dept_admin"].id and "via" not in created.details

    page = post_file(client, "/admin/schools/import", utf8(SCHOOL_HEADER, NEW_SCHOOLS, bom=True))
    assert "tạo mới 0, cập nhật 0, không đổi 3" in page.get_data(as_text=True)


def test_web_school_import_refusal_lists_the_bad_rows(client: Any, world: dict) -> None:
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    before = snapshot()
    data = utf8(SCHOOL_HEADER, [GOOD, ["THCS11", "Trường THCS Ninh Hải", "THCS", "99999", "", "1"],
                                ["THCS10", "Trường THCS lặp", "THCS", "14329", "", "1"]])
    page = post_file(client, "/admin/schools/import", data)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    problems = problem_rows(html)
    assert [line for line, _ in problems] == ["3", "4"]
    assert "99999" in problems[0][1]
    assert "dòng 2" in problems[1][1]
    assert "Không nhập dữ liệu nào" in html
    assert snapshot() == before


def test_web_school_import_refuses_a_legacy_file(client: Any, world: dict) -> None:
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    page = post_file(client, "/admin/schools/import", encode_cp1258(csv_text(SCHOOL_HEADER, NEW_SCHOOLS)))
    assert page.status_code == 422
    assert "Windows-1258" in page.get_data(as_text=True)
    assert schools.school_by_code("THCS10") is None


def test_web_school_import_refuses_a_damaged_unicode_text_file(client: Any, world: dict) -> None:
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    data = b"\xff\xfe" + csv_text(SCHOOL_HEADER, NEW_SCHOOLS, "\t").encode("utf-16-le")[:-1]
    page = post_file(client, "/admin/schools/import", data)
    assert page.status_code == 422
    assert "CSV UTF-8" in page.get_data(as_text=True)
    assert schools.school_by_code("THCS10") is None


def test_web_school_import_without_a_file_is_refused(client: Any, world: dict) -> None:
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    assert client.post("/admin/schools/import", data={}, content_type="multipart/form-data").status_code == 400


def test_web_school_import_is_for_the_department_admin_only(app: Any, client: Any, world: dict) -> None:
    sign_in(client, "hieutruong@thcs1.ninhbinh.edu.vn")
    page = post_file(client, "/admin/schools/import", utf8(SCHOOL_HEADER, NEW_SCHOOLS))
    assert page.status_code == 403
    assert schools.school_by_code("THCS10") is None
    with app.app_context():  # a second browser: its own flask.g (see the activation-link test)
        other = app.test_client()
        sign_in(other, "giaovien@thcs1.ninhbinh.edu.vn")
        assert post_file(other, "/admin/schools/import", utf8(SCHOOL_HEADER, NEW_SCHOOLS)).status_code == 403
    assert schools.school_by_code("THCS10") is None


# --- users: happy path ------------------------------------------------------------------------

def grants_of(account: User) -> set[tuple[str, str | None, str | None, tuple[str, ...]]]:
    return {(a.role, a.school.code if a.school else None, a.unit.code if a.unit else None, tuple(a.subjects or []))
            for a in account.roles}


def test_users_import_creates_pending_accounts_with_scoped_roles(client: Any, world: dict) -> None:
    department = schools.department_unit().code
    result = import_users(utf8(USER_HEADER, NEW_USERS))
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    assert len(result.new_user_ids) == 4

    teacher = user("gv.mai@thcs1.ninhbinh.edu.vn")
    assert teacher.full_name == "Phạm Thị Mai"
    assert teacher.status == UserStatus.PENDING.value and teacher.password_hash is None
    assert teacher.must_change_password is True
    assert teacher.school.code == "THCS01"
    assert teacher.phone == "0912 345 678" and teacher.staff_id == "GV0001"
    assert grants_of(teacher) == {("teacher", "THCS01", None, ())}

    officer = user("canbo@giavien.ninhbinh.edu.vn")
    assert officer.unit.code == "14464"
    assert grants_of(officer) == {("unit_officer", None, "14464", ())}

    reviewer = user("duyet.hoa@so.ninhbinh.edu.vn")
    assert grants_of(reviewer) == {("dept_reviewer", None, department, ("HOA_HOC", "VAT_LI"))}

    leader = user("totruong@thcs2.ninhbinh.edu.vn")
    assert grants_of(leader) == {("school_reviewer", "THCS02", None, ("TOAN",)), ("teacher", "THCS02", None, ())}

    assert sorted(result.new_user_ids) == sorted(u.id for u in (teacher, officer, reviewer, leader))
    assert {e.target_id for e in audit_rows("user.created")} >= set(result.new_user_ids)
    # Pending accounts cannot sign in before they choose a password.
    assert sign_in(client, "gv.mai@thcs1.ninhbinh.edu.vn").status_code != 302


def test_users_import_defaults_to_teacher_and_lower_cases_email(world: dict) -> None:
    import_users(utf8(["email", "full_name", "school_code"], [["Gv.Lan@THCS1.NinhBinh.edu.vn", "Vũ Thị Lan", "THCS01"]]))
    account = user("gv.lan@thcs1.ninhbinh.edu.vn")
    assert grants_of(account) == {("teacher", "THCS01", None, ())}


def test_users_reimport_of_the_same_file_changes_nothing(world: dict) -> None:
    data = utf8(USER_HEADER, NEW_USERS, bom=True)
    import_users(data)
    before = snapshot()
    again = import_users(data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert again.new_user_ids == []
    assert snapshot() == before


def test_users_reimport_with_a_new_name_updates_and_records_it(world: dict) -> None:
    import_users(utf8(USER_HEADER, NEW_USERS))
    changed = [list(r) for r in NEW_USERS]
    changed[0][1] = "Phạm Thị Mai Anh"
    audits_before = count(AuditEvent)
    result = import_users(utf8(USER_HEADER, changed))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    assert result.new_user_ids == []
    account = user("gv.mai@thcs1.ninhbinh.edu.vn")
    assert account.full_name == "Phạm Thị Mai Anh"
    assert account.status == UserStatus.PENDING.value
    updated = audit_rows("user.updated")
    assert count(AuditEvent) == audits_before + 1
    assert updated[-1].target_id == account.id and updated[-1].details["fields"] == ["full_name"]


def test_users_import_updates_an_existing_account_by_email(world: dict) -> None:
    existing = world["teacher"]
    rows = [[existing.email.upper(), "Người teacher", "THCS01", "", "teacher", "0987 654 321", "", ""]]
    result = import_users(utf8(USER_HEADER, rows))
    assert (result.created, result.updated) == (0, 1)
    account = user(existing.email)
    assert account.phone == "0987 654 321"
    assert account.status == UserStatus.ACTIVE.value  # still signs in with their password
    assert count(User) == 8


# --- users: refusals --------------------------------------------------------------------------

GOOD_USER = NEW_USERS[0]

USER_REFUSALS = {
    "email twice": (["GV.MAI@thcs1.ninhbinh.edu.vn", "Người khác", "THCS01", "", "teacher", "", "", ""],
                    ["gv.mai@thcs1.ninhbinh.edu.vn", "dòng 2"]),
    "bad email": (["gv.lan@@thcs1", "Vũ Thị Lan", "THCS01", "", "teacher", "", "", ""], ["E-mail", "gv.lan@@thcs1"]),
    "empty email": (["", "Vũ Thị Lan", "THCS01", "", "teacher", "", "", ""], ["E-mail", "không được để trống"]),
    "empty name": (["gv.lan@thcs1.ninhbinh.edu.vn", "", "THCS01", "", "teacher", "", "", ""], ["Họ và tên"]),
    "unknown school": (["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ Thị Lan", "THCS99", "", "teacher", "", "", ""],
                       ["trường", "THCS99"]),
    "unknown unit": (["cb@x.ninhbinh.edu.vn", "Vũ Thị Lan", "", "99999", "unit_officer", "", "", ""], ["99999"]),
    "unknown role": (["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ Thị Lan", "THCS01", "", "hieu_pho", "", "", ""],
                     ["Vai trò", "hieu_pho"]),
    "teacher without school": (["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ Thị Lan", "", "", "teacher", "", "", ""],
                               ["mã trường"]),
    "officer without commune": (["cb@x.ninhbinh.edu.vn", "Vũ Thị Lan", "", "", "unit_officer", "", "", ""],
                                ["xã/phường"]),
    "unknown subject": (["duyet@x.ninhbinh.edu.vn", "Vũ Thị Lan", "", "", "dept_reviewer", "", "", "Thiên văn"],
                        ["Môn học", "Thiên văn"]),
    "bad phone": (["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ Thị Lan", "THCS01", "", "teacher", "goi toi", "", ""],
                  ["điện thoại"]),
    "staff id twice": (["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ Thị Lan", "THCS01", "", "teacher", "", "GV0001", ""],
                       ["GV0001", "dòng 2"]),
    "control character": (["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ\x00 Thị Lan", "THCS01", "", "teacher", "", "", ""],
                          ["ký tự điều khiển"]),
    "wrong column count": (["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ Thị Lan"], ["Số cột (2)", "(8)"]),
}


@pytest.mark.parametrize("case", list(USER_REFUSALS))
def test_users_import_refuses_a_bad_row_and_imports_nothing(world: dict, case: str) -> None:
    bad, fragments = USER_REFUSALS[case]
    rows = refused(import_users, utf8(USER_HEADER, [GOOD_USER, bad]))
    assert [line for line, _ in rows] == [3]
    for fragment in fragments:
        assert fragment in rows[0][1], rows
    assert db.session.scalar(select(User).where(User.email == GOOD_USER[0])) is None


def test_users_import_refuses_a_staff_id_another_account_holds(world: dict) -> None:
    holder = world["teacher2"]
    holder.staff_id = "GV0001"
    db.session.commit()
    rows = refused(import_users, utf8(USER_HEADER, [NEW_USERS[1], GOOD_USER]))
    assert [line for line, _ in rows] == [3]
    assert "GV0001" in rows[0][1] and "đã được dùng" in rows[0][1]


def test_users_import_reports_every_bad_row_including_staff_id_duplicates(world: dict) -> None:
    rows = refused(import_users, utf8(USER_HEADER, [
        GOOD_USER,
        ["gv.lan@@thcs1", "Vũ Thị Lan", "THCS01", "", "teacher", "", "", ""],
        ["gv.hoa@thcs1.ninhbinh.edu.vn", "Vũ Thị Hoa", "THCS01", "", "teacher", "", "GV0001", ""],
    ]))
    assert [line for line, _ in rows] == [3, 4]


def test_users_import_refuses_a_legacy_file(world: dict) -> None:
    rows = refused(import_users, encode_cp1258(csv_text(USER_HEADER, NEW_USERS)))
    assert "Windows-1258" in rows[0][1]
    lower = [[c.lower() for c in r] for r in NEW_USERS]
    rows = refused(import_users, encode_tcvn3(csv_text(USER_HEADER, lower)))
    assert "TCVN3" in rows[0][1]


def test_users_import_refuses_a_bad_header(world: dict) -> None:
    rows = refused(import_users, utf8(["email", "name"], [["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ Thị Lan"]]))
    assert rows[0][0] == 1 and "full_name" in rows[0][1] and "name" in rows[0][1]


# --- users: web, school admin ------------------------------------------------------------------

SCHOOL_ADMIN = "hieutruong@thcs1.ninhbinh.edu.vn"


def own_school_rows() -> list[list[str]]:
    return [
        ["gv.lan@thcs1.ninhbinh.edu.vn", "Vũ Thị Lan", "", "", "teacher", "", "GV1001", ""],
        ["gv.hoa@thcs1.ninhbinh.edu.vn", "Ngô Thị Hoa", "THCS01", "", "school_reviewer|teacher", "", "", "Ngữ văn"],
    ]


def test_school_admin_imports_accounts_into_their_own_school(client: Any, world: dict) -> None:
    sign_in(client, SCHOOL_ADMIN)
    page = post_file(client, "/admin/users/import", utf8(USER_HEADER, own_school_rows(), bom=True))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "tạo mới 2, cập nhật 0, không đổi 0" in html
    lan = user("gv.lan@thcs1.ninhbinh.edu.vn")
    assert lan.school.code == "THCS01" and lan.status == UserStatus.PENDING.value
    assert grants_of(lan) == {("teacher", "THCS01", None, ())}
    hoa = user("gv.hoa@thcs1.ninhbinh.edu.vn")
    assert grants_of(hoa) == {("school_reviewer", "THCS01", None, ("NGU_VAN",)), ("teacher", "THCS01", None, ())}
    ids = sorted(int(v) for v in re.findall(r'name="user_id" value="(\d+)"', html))
    assert ids == sorted([lan.id, hoa.id])


@pytest.mark.parametrize("bad, fragment", [
    (["gv.x@thcs2.ninhbinh.edu.vn", "Người trường khác", "THCS02", "", "teacher", "", "", ""], "THCS01"),
    (["quantri@so.ninhbinh.edu.vn", "Người muốn làm quản trị", "", "", "dept_admin", "", "", ""], "không có quyền"),
    (["quantri@so.ninhbinh.edu.vn", "Người muốn làm quản trị", "THCS01", "", "school_admin", "", "", ""],
     "không có quyền"),
    (["canbo@x.ninhbinh.edu.vn", "Cán bộ xã", "", "14329", "unit_officer", "", "", ""], "không có quyền"),
    (["giaovien@thcs2.ninhbinh.edu.vn", "Người teacher2", "", "", "teacher", "", "", ""], "không có quyền"),
    (["admin@so.ninhbinh.edu.vn", "Người dept_admin", "", "", "teacher", "", "", ""], "không có quyền"),
])
def test_school_admin_import_beyond_their_school_is_refused(client: Any, world: dict, bad: list[str],
                                                            fragment: str) -> None:
    sign_in(client, SCHOOL_ADMIN)
    before = snapshot()
    page = post_file(client, "/admin/users/import", utf8(USER_HEADER, own_school_rows() + [bad]))
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    problems = problem_rows(html)
    assert [line for line, _ in problems] == ["4"]
    assert fragment in problems[0][1]
    assert snapshot() == before
    assert 'name="user_id"' not in html


def test_school_admin_cannot_take_over_another_schools_teacher(world: dict) -> None:
    other = world["teacher2"]
    rows = refused(lambda data: imports.import_users(world["school_admin"], data, school=world["thcs1"]),
                   utf8(USER_HEADER, [[other.email, "Tên mới", "THCS01", "", "teacher", "", "", ""]]))
    assert rows[0][0] == 2
    assert user(other.email).full_name == "Người teacher2"
    assert user(other.email).school.code == "THCS02"


def test_school_admin_cannot_import_for_another_school(world: dict) -> None:
    from repository.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.import_users(world["school_admin"], utf8(USER_HEADER, own_school_rows()), school=world["thcs2"])
    db.session.rollback()
    assert count(User) == 8


def test_teachers_cannot_import_accounts(client: Any, world: dict) -> None:
    sign_in(client, "giaovien@thcs1.ninhbinh.edu.vn")
    assert post_file(client, "/admin/users/import", utf8(USER_HEADER, own_school_rows())).status_code == 403
    assert count(User) == 8


def test_department_admin_web_import_and_refusal(client: Any, world: dict) -> None:
    sign_in(client, "admin@so.ninhbinh.edu.vn")
    page = post_file(client, "/admin/users/import", utf8(USER_HEADER, NEW_USERS))
    assert page.status_code == 200
    assert "tạo mới 4, cập nhật 0, không đổi 0" in page.get_data(as_text=True)
    before = snapshot()
    page = post_file(client, "/admin/users/import", utf8(USER_HEADER, [
        ["gv.z@thcs1.ninhbinh.edu.vn", "Nguyễn Z", "THCS01", "", "teacher", "", "", ""],
        ["gv.y@thcs1.ninhbinh.edu.vn", "Nguyễn Y", "THCS01", "", "teacher", "", "GV0001", ""],
        ["gv.x@thcs1.ninhbinh.edu.vn", "Nguyễn X", "THCS01", "", "teacher", "", "GV0002", ""],
        ["gv.w@thcs1.ninhbinh.edu.vn", "Nguyễn W", "THCS01", "", "teacher", "", "GV0002", ""],
    ]))
    assert page.status_code == 422
    problems = problem_rows(page.get_data(as_text=True))
    assert [line for line, _ in problems] == ["3", "5"]
    assert "GV0001" in problems[0][1] and "dòng 4" in problems[1][1]
    assert snapshot() == before


# --- activation links ------------------------------------------------------------------------

def read_links(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read the file as UTF-8"
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0] == "email,full_name,activation_link"
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_activation_links_after_a_web_import_work(app: Any, client: Any, world: dict) -> None:
    sign_in(client, SCHOOL_ADMIN)
    rows = own_school_rows() + [
        ["gv.cong@thcs1.ninhbinh.edu.vn", '=HYPERLINK("http://evil.example/?x","Bấm vào đây")', "", "", "teacher",
         "", "", ""],
        ["gv.cong2@thcs1.ninhbinh.edu.vn", "@SUM(1+1)*cmd", "", "", "teacher", "", "", ""],
    ]
    page = post_file(client, "/admin/users/import", utf8(USER_HEADER, rows))
    assert page.status_code == 200
    ids = re.findall(r'name="user_id" value="(\d+)"', page.get_data(as_text=True))
    assert len(ids) == 4

    links = read_links(client.post("/admin/users/activation-links", data={"user_id": ids}))
    by_email = {row["email"]: row for row in links}
    assert set(by_email) == {r[0] for r in rows}
    assert by_email["gv.lan@thcs1.ninhbinh.edu.vn"]["full_name"] == "Vũ Thị Lan"
    assert by_email["gv.cong@thcs1.ninhbinh.edu.vn"]["full_name"] == "'" + rows[2][1]
    assert by_email["gv.cong2@thcs1.ninhbinh.edu.vn"]["full_name"] == "'@SUM(1+1)*cmd"
    # The stored name is still what was typed; only the spreadsheet cell is neutralised.
    assert user("gv.cong@thcs1.ninhbinh.edu.vn").full_name == rows[2][1]

    link = by_email["gv.lan@thcs1.ninhbinh.edu.vn"]["activation_link"]
    assert link.startswith(app.config["BASE_URL"].rstrip("/") + "/account/activate/")
    path = urlsplit(link).path
    # The teacher opens the link in their own browser. The fixture keeps one application context
    # pushed and Flask-Login caches the signed-in user in flask.g, so a second browser needs its
    # own context or it would share the school admin's identity (and they its own).
    with app.app_context():
        teacher = app.test_client()
        form = teacher.get(path)
        assert form.status_code == 200
        assert "new_password" in form.get_data(as_text=True)
        done = teacher.post(path, data={"new_password": PASSWORD, "confirm": PASSWORD})
        assert done.status_code == 302
        assert sign_in(teacher, "gv.lan@thcs1.ninhbinh.edu.vn").status_code == 302
        assert teacher.get(path).status_code == 404  # used once
    assert user("gv.lan@thcs1.ninhbinh.edu.vn").status == UserStatus.ACTIVE.value

    # A fresh download replaces the earlier links of accounts still pending.
    old = by_email["gv.hoa@thcs1.ninhbinh.edu.vn"]["activation_link"]
    again = read_links(client.post("/admin/users/activation-links", data={"user_id": ids}))
    assert "gv.lan@thcs1.ninhbinh.edu.vn" not in {row["email"] for row in again}  # active now
    assert len(again) == 3
    assert app.test_client().get(urlsplit(old).path).status_code == 404
    fresh = {row["email"]: row["activation_link"] for row in again}["gv.hoa@thcs1.ninhbinh.edu.vn"]
    assert app.test_client().get(urlsplit(fresh).path).status_code == 200


def test_activation_links_only_for_accounts_the_admin_manages(client: Any, world: dict) -> None:
    outsider, _link = users.create_user(SystemActor(), users.UserInput(
        "gv.moi@thcs2.ninhbinh.edu.vn", "Giáo viên mới", "THCS02", "", [Role.TEACHER.value]))
    tokens = count(AccountToken)
    sign_in(client, SCHOOL_ADMIN)
    response = client.post("/admin/users/activation-links", data={"user_id": [str(outsider.id)]})
    assert response.status_code == 403
    assert response.mimetype != "text/csv" and b"/account/activate/" not in response.get_data()
    assert count(AccountToken) == tokens


def test_links_csv_neutralises_formula_cells() -> None:
    class Person:
        def __init__(self, email: str, full_name: str) -> None:
            self.email, self.full_name = email, full_name

    text = csvfiles.links_csv([
        (Person("a@x.vn", "=1+2"), "http://h/account/activate/a"),
        (Person("b@x.vn", "+84 912"), "http://h/account/activate/b"),
        (Person("c@x.vn", "-Lan"), "http://h/account/activate/c"),
        (Person("d@x.vn", "Nguyễn Văn An"), "http://h/account/activate/d"),
    ])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows[0] == ["email", "full_name", "activation_link"]
    assert [r[1] for r in rows[1:]] == ["'=1+2", "'+84 912", "'-Lan", "Nguyễn Văn An"]
