"""The contribution reports in real browsers (issues 6 and 8): a school admin sees the coverage
matrix change when a teacher's material is approved and downloads the XLSX report; a commune/ward
officer sees only the schools that report to their unit (at a desktop and a phone viewport).

The people and schools are province.py's: THCS01 (ward Hoa Lư) reports to the ward, THPT01 (also
in Hoa Lư) to the department, THCS02 to the commune Gia Viễn. The app uses the real clock, so the
period shown by default is the current month (Asia/Ho_Chi_Minh). Screenshots of every step are in
test-artifacts/browser/<test>/.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser import province, steps
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.media import make_pdf
from tests.browser.steps import Lesson

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SCHOOL_PAGE = re.compile(r"/reports/schools/\d+$")
# No other journey contributes to grade 6 × Toán of THCS01 (the distractor is grade 9, the
# material journeys grades 7 and 8), so the cell is empty until this journey fills it, in any order.
GRADE, SUBJECT = "6", "TOAN"
LESSON = Lesson("Phân số và số thập phân: phiếu luyện tập", "Phiếu luyện tập về phân số cho học sinh lớp 6.",
                GRADE, "Lớp 6", "Phân số", type_label="Phiếu học tập")
FORBIDDEN = "Không thực hiện được (403)"


def _month_now() -> str:
    return f"month:{datetime.now(LOCAL):%Y-%m}"


def _shows_current_month(page: Any, before: str) -> None:
    """The period picker holds the current month; read around the page load, so a month that ends
    while the page loads is either month."""
    assert page.locator("#period").input_value() in {before, _month_now()}


@dataclass
class Workbook:
    """What a downloaded report workbook says: its title block's text, and its school rows (the
    numbered ones) by school code, each as {column header: value}."""

    title: str
    schools: dict[str, dict[str, Any]]


def _read_report(path: Path) -> Workbook:
    sheet = load_workbook(path, read_only=True).active
    lines = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = next(i for i, line in enumerate(lines) if "Mã trường" in line)
    names = [str(name) for name in lines[header]]
    title = " | ".join(str(value) for line in lines[:header] for value in line if value)
    return Workbook(title, {line[1]: dict(zip(names, line)) for line in lines[header + 1:] if isinstance(line[0], int)})


# --- 1. the school admin ------------------------------------------------------------------------

def test_school_admin_sees_the_coverage_matrix_change_and_downloads_the_xlsx(
        new_context: Any, shots: Any, tmp_path: Path) -> None:
    people = province.ACCOUNTS
    admin = steps.sign_in(new_context(), people["school_admin"], shots)
    month = _month_now()
    steps.open_reports(admin)
    expect(admin).to_have_url(SCHOOL_PAGE)
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Trường THCS Hoa Lư")
    _shows_current_month(admin, month)
    cell_before = steps.matrix_cell(admin, GRADE, SUBJECT)
    covered_before, required = steps.fraction(admin, "#summary-coverage")
    counted_before = int(admin.locator("#summary-materials").inner_text())
    assert cell_before == (0, "empty")
    grade_gaps = admin.locator("#gaps li", has_text=f"{LESSON.grade_label}:")
    expect(grade_gaps).to_contain_text(LESSON.subject_label)
    shots(admin, "matrix-before")

    # Another person, another browser: a teacher of THCS01 contributes to the cell, the reviewer approves.
    pdf = make_pdf(tmp_path / "Phiếu luyện tập phân số.pdf", "Phieu luyen tap phan so lop 6")
    steps.upload_small_lesson(new_context(), people["teacher"], LESSON, [pdf], shots)
    steps.decide(new_context(), people["school_reviewer"], LESSON.title, "Duyệt cấp trường", "Trường đã duyệt", shots)

    admin.reload()
    expect(admin.locator(f"#matrix td[data-cell='{GRADE}:{SUBJECT}']")).to_have_attribute("data-status", "met")
    assert steps.matrix_cell(admin, GRADE, SUBJECT) == (1, "met")
    assert steps.fraction(admin, "#summary-coverage") == (covered_before + 1, required)
    assert int(admin.locator("#summary-materials").inner_text()) == counted_before + 1
    in_period = int(re.sub(r"\D", "", admin.locator("#summary-materials + div").inner_text()))
    expect(grade_gaps).not_to_contain_text(LESSON.subject_label)
    shots(admin, "matrix-after")

    row = _download_submitted_xlsx(admin, tmp_path, shots).schools["THCS01"]
    assert row["Tên trường"] == "Trường THCS Hoa Lư"
    assert (row["Số ô đã có học liệu"], row["Số ô phải có"]) == (covered_before + 1, required)
    assert row["Học liệu được duyệt (năm học)"] == counted_before + 1
    assert row["Học liệu được duyệt trong kỳ"] == in_period


def _download_submitted_xlsx(page: Any, folder: Path, shots: Any) -> Workbook:
    """Submit the school's report of the period shown, open the submitted report, download its
    XLSX: the workbook's rows."""
    page.get_by_role("button", name="Nộp báo cáo của trường").click()
    expect(page.get_by_role("alert").first).to_contain_text("Đã nộp báo cáo")
    expect(page.locator("#submission")).to_contain_text("Đã nộp báo cáo kỳ này")
    shots(page, "submitted")
    page.locator("#submission").get_by_role("link", name="Xem số liệu đã nộp").click()
    expect(page.locator("#submission-unit")).to_have_text("Trường THCS Hoa Lư")
    shots(page, "submitted-report")
    name, _digest = steps.download(page, page.locator("#submission-files").get_by_role("link", name="XLSX"), folder)
    assert name.endswith("_THCS01.xlsx"), name
    workbook = _read_report(folder / name)
    assert list(workbook.schools) == ["THCS01"], workbook.schools
    assert "Đơn vị báo cáo: Trường THCS Hoa Lư" in workbook.title, workbook.title
    return workbook


# --- 2. the commune/ward officer ------------------------------------------------------------------

@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_commune_officer_sees_only_their_schools(viewport: str, new_context: Any, shots: Any, tmp_path: Path) -> None:
    device = DESKTOP if viewport == "desktop" else PHONE
    people = province.ACCOUNTS
    other_school = _school_page_of(new_context(device), people["school_admin2"], "Trường THCS Gia Viễn", shots)

    officer = steps.sign_in(new_context(device), people["unit_officer"], shots)
    month = _month_now()
    steps.open_reports(officer)
    expect(officer.get_by_role("heading", level=1)).to_have_text("Báo cáo đóng góp học liệu: Phường Hoa Lư")
    _shows_current_month(officer, month)
    # THCS01 reports to the ward; THPT01 lies in the ward but reports to the department.
    assert _listed_codes(officer) == ["THCS01"]
    assert officer.locator("#unit option").all_inner_texts() == ["Phường Hoa Lư"]
    for absent in ("THCS02", "Trường THCS Gia Viễn", "THPT01", "Xã Gia Viễn"):
        expect(officer.locator("main")).not_to_contain_text(absent)
    shots(officer, "unit-report")

    name, _digest = steps.download(officer, officer.locator("#exports").get_by_role("link", name="XLSX"), tmp_path)
    workbook = _read_report(tmp_path / name)
    assert list(workbook.schools) == ["THCS01"], workbook.schools
    assert "Đơn vị báo cáo: Phường Hoa Lư" in workbook.title, workbook.title

    for address in (other_school, "/reports/?unit=14464"):
        answer = officer.goto(address)
        assert answer is not None and answer.status == 403, address
        expect(officer.get_by_role("heading", level=1)).to_have_text(FORBIDDEN)
        expect(officer.locator("main")).not_to_contain_text("Trường THCS Gia Viễn")
        shots(officer, f"forbidden-{'school' if 'schools' in address else 'unit'}")


def _school_page_of(context: Any, school_admin: province.Account, school_name: str, shots: Any) -> str:
    """The address of a school's report page, as its own admin reaches it from "Báo cáo"."""
    page = steps.sign_in(context, school_admin, shots)
    steps.open_reports(page)
    expect(page).to_have_url(SCHOOL_PAGE)
    expect(page.get_by_role("heading", level=1)).to_contain_text(school_name)
    shots(page, "other-school-own-report")
    return urlsplit(page.url).path


def _listed_codes(page: Any) -> list[str]:
    rows = page.locator("#schools-table tbody tr[id^='school-']")
    return [str(row.get_attribute("id")).removeprefix("school-") for row in rows.all()]
