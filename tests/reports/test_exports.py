"""Report files over the hand-built province: the XLSX opened with openpyxl (title block, headers,
grouping, subtotals, total, formats, print set-up), the CSV (BOM, the same columns, formula
injection), JSON, and the export route with its file names and refusals.

Expected figures: tests/reports/submit_support.py (November 2026, target 5%)."""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from repository.extensions import db
from repository.reports import export
from repository.services import report_submissions, reports
from tests.reports.submit_support import DEPARTMENT, NOVEMBER, OFFICER, YEAR, local, make_province
from tests.repository.review_support import DEPT_ADMIN, DEPT_REVIEWER, SCHOOL_ADMIN, SCHOOL_ADMIN2, TEACHER, signed_in

HEADERS = ["STT", "Mã trường", "Tên trường", "Loại hình", "Học liệu được duyệt (năm học)",
           "Học liệu được duyệt trong kỳ", "Số ô đã có học liệu", "Số ô phải có", "Tỉ lệ bao phủ (%)",
           "Giáo viên đang hoạt động", "Giáo viên có học liệu", "Đạt chỉ tiêu"]
THCS = "Trường trung học cơ sở"
# Rows under the header: (kind, values) with the figures worked out by hand.
EXPECTED = [
    ("group", "Đơn vị nhận báo cáo: Phường Hoa Lư"),
    ("school", [1, "THCS01", "Trường THCS Hoa Lư", THCS, 2, 1, 3, 52, 3 / 52, 2, 1, "Đạt"]),
    ("subtotal", [None, "14329", "Cộng: Phường Hoa Lư", "1 trường", 2, 1, 3, 52, 3 / 52, 2, 1, "1/1 trường đạt"]),
    ("group", f"Đơn vị nhận báo cáo: {DEPARTMENT}"),
    # m8 and m9 approved in November; m9 (Sinh học, not a declared elective) fills no cell.
    ("school", [2, "THPT01", "Trường THPT Hoa Lư A", "Trường trung học phổ thông", 2, 2, 1, 30, 1 / 30, 1, 1,
                "Chưa đạt"]),
    ("subtotal", [None, "SO_GDDT", f"Cộng: {DEPARTMENT}", "1 trường", 2, 2, 1, 30, 1 / 30, 1, 1, "0/1 trường đạt"]),
    ("group", "Đơn vị nhận báo cáo: Xã Gia Viễn"),
    ("school", [3, "THCS02", "Trường THCS Gia Viễn", THCS, 2, 0, 2, 52, 2 / 52, 3, 2, "Chưa đạt"]),
    ("subtotal", [None, "14464", "Cộng: Xã Gia Viễn", "1 trường", 2, 0, 2, 52, 2 / 52, 3, 2, "0/1 trường đạt"]),
    ("total", [None, None, "Tổng cộng", "3 trường", 6, 3, 6, 134, 6 / 134, 6, 4, "1/3 trường đạt"]),
]
THCS01_TOTAL = [None, None, "Tổng cộng", "1 trường", 2, 1, 3, 52, 3 / 52, 2, 1, "1/1 trường đạt"]


@pytest.fixture
def province(app: Any, world: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    return make_province(app, world, tmp_path)


def _november(world: dict[str, Any]) -> Any:
    return reports.contributions(world["dept_admin"], YEAR, NOVEMBER)


def _sheet(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data)).active


def _values(sheet: Any, row: int) -> list[Any]:
    return [sheet.cell(row=row, column=c).value for c in range(1, len(HEADERS) + 1)]


def _check_body(sheet: Any, expected: list[tuple[str, Any]]) -> int:
    """Compare the rows under the header with `expected`; returns the last row's number."""
    row = export.HEADER_ROW
    for kind, want in expected:
        row += 1
        got = _values(sheet, row)
        if kind == "group":
            assert got == [want] + [None] * (len(HEADERS) - 1) and sheet.cell(row=row, column=1).font.b
            continue
        assert got[:8] + got[9:] == want[:8] + want[9:], (row, got)
        assert got[8] == pytest.approx(want[8], abs=1e-4), (row, got)
        assert sheet.cell(row=row, column=9).number_format == "0.0%"
        assert sheet.cell(row=row, column=3).font.b == (kind != "school")
    return row


def test_the_xlsx_is_laid_out_like_an_official_report(world: dict[str, Any], province: dict[str, Any]) -> None:
    sheet = _sheet(export.to_xlsx(_november(world), DEPARTMENT, date(2026, 11, 30)))
    assert sheet["A1"].value == "SỞ GIÁO DỤC VÀ ĐÀO TẠO TỈNH NINH BÌNH"
    assert sheet["G1"].value == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and sheet["G2"].value == "Độc lập – Tự do – Hạnh phúc"
    assert sheet["A4"].value == "BÁO CÁO TIẾN ĐỘ XÂY DỰNG HỌC LIỆU SỐ CỦA CÁC TRƯỜNG"
    assert sheet["A5"].value == "Kỳ báo cáo: Tháng 11/2026 (từ 01/11/2026 đến 30/11/2026) – Năm học 2026-2027"
    assert sheet["A6"].value == f"Đơn vị báo cáo: {DEPARTMENT}"
    assert sheet["A7"].value == "Ngày lập báo cáo: 30/11/2026"
    assert _values(sheet, export.HEADER_ROW) == HEADERS
    last = _check_body(sheet, EXPECTED)
    assert "Chỉ tiêu: tỉ lệ bao phủ từ 5% trở lên" in sheet.cell(row=last + 2, column=1).value
    assert sheet.freeze_panes == "A10"
    assert sheet.print_title_rows == "$9:$9"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.column_dimensions["C"].width == 38 and sheet.column_dimensions["A"].width == 6


def test_a_unit_export_holds_only_its_schools(world: dict[str, Any], province: dict[str, Any]) -> None:
    report = reports.contributions(world["dept_admin"], YEAR, NOVEMBER, unit="14464")
    sheet = _sheet(export.to_xlsx(report, "Xã Gia Viễn", date(2026, 11, 30)))
    assert sheet["A1"].value == "XÃ GIA VIỄN" and sheet["A6"].value == "Đơn vị báo cáo: Xã Gia Viễn"
    total = [None, None, "Tổng cộng", "1 trường", 2, 0, 2, 52, 2 / 52, 3, 2, "0/1 trường đạt"]
    _check_body(sheet, [EXPECTED[6], ("school", [1] + EXPECTED[7][1][1:]), EXPECTED[8], ("total", total)])


def test_cells_that_look_like_formulas_stay_text(world: dict[str, Any], province: dict[str, Any]) -> None:
    world["thcs2"].name = "=HYPERLINK(\"http://x\",\"Trường\")"
    db.session.commit()
    report = _november(world)
    sheet = _sheet(export.to_xlsx(report, "=cmd|' /C calc'!A0"))
    cell = sheet.cell(row=export.HEADER_ROW + 8, column=3)
    assert cell.value == world["thcs2"].name and cell.data_type == "s"
    assert sheet["A1"].data_type == "s" and sheet["A6"].value.startswith("Đơn vị báo cáo: =cmd")
    lines = list(csv.reader(io.StringIO(export.to_csv(report).decode("utf-8-sig"))))
    assert lines[5][2] == "'" + world["thcs2"].name


def test_the_csv_has_a_bom_the_same_columns_and_rows(world: dict[str, Any], province: dict[str, Any]) -> None:
    data = export.to_csv(_november(world))
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == HEADERS
    want = [values for kind, values in EXPECTED if kind != "group"]
    assert len(lines) == 1 + len(want)
    for got, values in zip(lines[1:], want):
        text = ["" if v is None else str(v) for v in values]
        assert got[:8] + got[9:] == text[:8] + text[9:]
        assert float(got[8]) == pytest.approx(values[8] * 100, abs=0.01)
    assert lines[-1][8] == "4.48"  # 6/134 in percent


def test_the_json_export_is_the_report_json(world: dict[str, Any], province: dict[str, Any]) -> None:
    report = _november(world)
    assert json.loads(export.to_json(report)) == json.loads(json.dumps(report.as_json()))


def test_period_labels() -> None:
    assert [export.period_label(k) for k in ("month:2026-11", "quarter:2026-Q4", "year:2026", "schoolyear:2026-2027",
                                             "range:2026-11-01..2026-11-30")] == [
        "Tháng 11/2026", "Quý IV/2026", "Năm 2026", "Năm học 2026-2027", "Từ 01/11/2026 đến 30/11/2026"]


# --- the route ------------------------------------------------------------------------------------

def _get(client: Any, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response


def test_the_export_route_streams_each_format(app: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    dept = signed_in(app, DEPT_ADMIN)
    query = f"?year={YEAR}&period={NOVEMBER}"
    xlsx = _get(dept, "/reports/export.xlsx" + query)
    assert xlsx.mimetype == export_mimetype("xlsx")
    assert 'filename="bao-cao-hoc-lieu_month-2026-11_toan-tinh.xlsx"' in xlsx.headers["Content-Disposition"]
    assert xlsx.headers["Content-Disposition"].startswith("attachment")
    sheet = _sheet(xlsx.data)
    assert sheet["A1"].value == DEPARTMENT.upper()
    _check_body(sheet, EXPECTED)
    csv_file = _get(dept, "/reports/export.csv" + query + "&unit=14464")
    assert "month-2026-11_14464.csv" in csv_file.headers["Content-Disposition"]
    assert [line[1] for line in csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig")))][1:] == ["THCS02", "14464", ""]
    as_json = _get(dept, "/reports/export.json" + query).get_json()
    assert as_json["period"] == NOVEMBER and len(as_json["schools"]) == 3
    reviewer = _get(signed_in(app, DEPT_REVIEWER), "/reports/export.xlsx" + query)
    assert _sheet(reviewer.data)["A1"].value == DEPARTMENT.upper()


def export_mimetype(fmt: str) -> str:
    from repository.views.report_exports import TYPES

    return TYPES[fmt].split(";")[0]


def test_each_role_exports_its_own_scope(app: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    query = f"?year={YEAR}&period={NOVEMBER}"
    officer = _sheet(_get(signed_in(app, OFFICER), "/reports/export.xlsx" + query).data)
    assert officer["A1"].value == "PHƯỜNG HOA LƯ"
    _check_body(officer, EXPECTED[:3] + [("total", THCS01_TOTAL)])
    school = _sheet(_get(signed_in(app, SCHOOL_ADMIN), "/reports/export.xlsx" + query).data)
    assert school["A1"].value == "TRƯỜNG THCS HOA LƯ"
    _check_body(school, EXPECTED[:3] + [("total", THCS01_TOTAL)])
    _get(signed_in(app, TEACHER), "/reports/export.xlsx" + query, 403)
    _get(signed_in(app, OFFICER), "/reports/export.csv" + query + "&unit=14464", 403)


def test_a_school_page_exports_that_school_for_whoever_may_see_it(app: Any, world: dict[str, Any],
                                                                  province: dict[str, Any]) -> None:
    query = f"?year={YEAR}&period={NOVEMBER}&school=THCS01"
    for email in (DEPT_ADMIN, OFFICER, SCHOOL_ADMIN):  # the department gets the school, not the province
        response = _get(signed_in(app, email), "/reports/export.xlsx" + query)
        assert 'filename="bao-cao-hoc-lieu_month-2026-11_THCS01.xlsx"' in response.headers["Content-Disposition"]
        sheet = _sheet(response.data)
        assert sheet["A1"].value == "TRƯỜNG THCS HOA LƯ"
        _check_body(sheet, EXPECTED[:3] + [("total", THCS01_TOTAL)])
    officer_file = _get(signed_in(app, OFFICER), f"/reports/export.csv?year={YEAR}&period={NOVEMBER}")
    assert "month-2026-11_14329.csv" in officer_file.headers["Content-Disposition"]
    _get(signed_in(app, SCHOOL_ADMIN2), "/reports/export.xlsx" + query, 403)
    _get(signed_in(app, DEPT_ADMIN), f"/reports/export.xlsx?period={NOVEMBER}&school=NOPE", 404)
    page = _get(signed_in(app, SCHOOL_ADMIN), f"/reports/schools/{world['thcs1'].id}?year={YEAR}&period={NOVEMBER}")
    assert "school=THCS01" in page.get_data(as_text=True)


def test_bad_requests_get_a_message_and_a_4xx(app: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    dept = signed_in(app, DEPT_ADMIN)
    assert "Kỳ báo cáo" in _get(dept, "/reports/export.xlsx?period=month:2026-13", 400).get_data(as_text=True)
    assert "Năm học" in _get(dept, "/reports/export.csv?year=2026&period=month:2026-11", 400).get_data(as_text=True)
    _get(dept, "/reports/export.pdf?period=month:2026-11", 404)
    _get(dept, "/reports/export.xlsx?period=month:2026-11&unit=99999", 404)
    assert _get(app.test_client(), "/reports/export.xlsx", 302).headers["Location"].startswith("/login")


def test_a_submitted_report_downloads_its_frozen_figures(app: Any, world: dict[str, Any],
                                                         province: dict[str, Any]) -> None:
    row = report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER, now=local("18/11/2026"))
    world["thcs1"].name = "Trường THCS Hoa Lư (tên mới)"  # renamed after submitting: the file keeps the old name
    db.session.commit()
    client = signed_in(app, SCHOOL_ADMIN)
    response = _get(client, f"/reports/submissions/{row.id}?format=xlsx")
    assert "month-2026-11_THCS01.xlsx" in response.headers["Content-Disposition"]
    sheet = _sheet(response.data)
    assert sheet["A7"].value == "Ngày lập báo cáo: 18/11/2026"
    assert sheet["A1"].value == "TRƯỜNG THCS HOA LƯ" and sheet["C11"].value == "Trường THCS Hoa Lư"
    _check_body(sheet, EXPECTED[:3] + [("total", THCS01_TOTAL)])
    assert _get(client, f"/reports/submissions/{row.id}?format=json").get_json() == row.figures
    _get(client, f"/reports/submissions/{row.id}?format=doc", 404)
