"""The report pages of each role over the hand-built province of tests/reports/province.py.

The figures asserted here are those worked out by hand in tests/reports/test_figures.py
(November 2026, target 5%): THCS01 3/52 cells and meets the target, THCS02 2/52 (with THCS03
merged into it), THPT01 1/30; the province 6/134 cells, 1 of 3 schools meeting the target.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from lxml import html as lxml_html

from repository.extensions import db
from repository.permissions import SystemActor
from repository.services import reports, schools
from tests.reports.submit_support import OFFICER, make_province
from tests.repository.review_support import (DEPT_ADMIN, DEPT_REVIEWER, SCHOOL_ADMIN, SCHOOL_ADMIN2, TEACHER,
                                             signed_in)

NOVEMBER = "?year=2026-2027&period=month:2026-11"


@pytest.fixture
def province(app: Any, world: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    return make_province(app, world, tmp_path)


def _page(client: Any, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    body = response.get_data(as_text=True)
    assert 'style="' not in body  # the CSP forbids inline styles: charts use SVG attributes
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', body)  # nothing from another host
    return lxml_html.fromstring(body)


def _text(doc: Any, element_id: str) -> str:
    found = doc.get_element_by_id(element_id)
    return " ".join(found.text_content().split())


def _row(tr: Any) -> str:
    """A table row's cells as text, one space between cells."""
    return " ".join(" ".join(td.text_content().split()) for td in tr.xpath("td|th"))


def _ids(doc: Any, prefix: str) -> list[str]:
    return [e.get("id")[len(prefix):] for e in doc.xpath(f"//*[starts-with(@id, '{prefix}')]")]


@pytest.mark.usefixtures("province")
def test_department_sees_every_school_grouped_by_unit_with_totals(app: Any, world: dict[str, Any]) -> None:
    doc = _page(signed_in(app, DEPT_ADMIN), "/reports/" + NOVEMBER)
    assert sorted(_ids(doc, "school-")) == ["THCS01", "THCS02", "THPT01"]
    thcs1 = _text(doc, "school-THCS01")
    assert "3/52" in thcs1 and "Đạt" in thcs1 and "Chưa đạt" not in thcs1
    assert "2/52" in _text(doc, "school-THCS02") and "THCS03" in _text(doc, "school-THCS02")  # merged into it
    assert "1/30" in _text(doc, "school-THPT01") and "Chưa đạt" in _text(doc, "school-THPT01")
    # one group per reporting unit, each closed by its subtotal
    assert "1/1 đạt" in _text(doc, "subtotal-14329") and "3/52" in _text(doc, "subtotal-14329")
    assert "0/1 đạt" in _text(doc, "subtotal-14464") and "2/52" in _text(doc, "subtotal-14464")
    assert "6/134" in _text(doc, "total-row") and "1/3" in _text(doc, "total-row")
    assert _text(doc, "summary-meeting").startswith("1/3") and _text(doc, "summary-coverage").startswith("6/134")
    assert _text(doc, "summary-materials") == "6" and _text(doc, "summary-teachers").startswith("4/6")
    # ranking by coverage: 3/52 > 2/52 > 1/30; behind: furthest first
    assert [a.text for a in doc.xpath("//ol[@id='ranking']/li/a")] == ["Trường THCS Hoa Lư", "Trường THCS Gia Viễn",
                                                                       "Trường THPT Hoa Lư A"]
    assert [a.text for a in doc.xpath("//ul[@id='behind']/li/a")] == ["Trường THPT Hoa Lư A", "Trường THCS Gia Viễn"]
    link = doc.xpath("//tr[@id='school-THCS01']//a/@href")[0]
    assert link == f"/reports/schools/{world['thcs1'].id}?year=2026-2027&period=month:2026-11"
    assert "Tháng 11/2026" in _text(doc, "period-line") and "20/11/2026" in _text(doc, "period-line")
    assert doc.xpath("//select[@id='period']/optgroup/option[@selected]/@value") == ["month:2026-11"]
    assert doc.xpath("//svg[not(@aria-hidden)]") == []  # the bars repeat the figures written beside them


@pytest.mark.usefixtures("province")
def test_department_filters_by_unit(app: Any, world: dict[str, Any]) -> None:
    doc = _page(signed_in(app, DEPT_REVIEWER), "/reports/" + NOVEMBER + "&unit=14464")
    assert _ids(doc, "school-") == ["THCS02"]
    assert "Xã Gia Viễn" in _text(doc, "unit-14464") and "2/52" in _text(doc, "total-row")
    assert doc.xpath("//select[@id='unit']/option[@selected]/@value") == ["14464"]


@pytest.mark.usefixtures("province")
def test_other_periods_change_the_figures(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, DEPT_ADMIN)
    october = _page(client, "/reports/?year=2026-2027&period=month:2026-10")
    assert sorted(_ids(october, "school-")) == ["THCS01", "THCS02", "THCS03", "THPT01"]  # merged only on 20/11
    assert "2/52" in _text(october, "school-THCS01")
    quarter = _page(client, "/reports/?period=quarter:2026-Q4")
    assert "4/52" in _text(quarter, "school-THCS01")
    ranged = _page(client, "/reports/?year=2026-2027&from=2026-11-01&to=2026-11-30")
    assert "3/52" in _text(ranged, "school-THCS01") and "01/11/2026" in _text(ranged, "period-line")
    assert "không có hạn nộp" in _text(ranged, "period-line")


@pytest.mark.usefixtures("province")
def test_unit_officer_sees_only_the_schools_reporting_to_the_unit(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, OFFICER)
    doc = _page(client, "/reports/" + NOVEMBER)
    # THPT01 stands in the ward but reports to the department
    assert _ids(doc, "school-") == ["THCS01"]
    assert "Phường Hoa Lư" in doc.xpath("//h1")[0].text_content()
    assert "3/52" in _text(doc, "total-row") and _text(doc, "summary-meeting").startswith("1/1")
    assert client.get("/reports/" + NOVEMBER + "&unit=14464").status_code == 403
    assert client.get(f"/reports/schools/{world['thcs1'].id}" + NOVEMBER).status_code == 200
    assert client.get(f"/reports/schools/{world['thcs2'].id}" + NOVEMBER).status_code == 403
    assert client.get(f"/reports/schools/{world['thpt'].id}" + NOVEMBER).status_code == 403


@pytest.mark.usefixtures("province")
def test_school_admin_lands_on_the_school_matrix(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, SCHOOL_ADMIN)
    response = client.get("/reports/" + NOVEMBER + "&school_id=1&unit=14464")  # only the period is kept
    assert response.status_code == 302
    assert response.headers["Location"] == f"/reports/schools/{world['thcs1'].id}?year=2026-2027&period=month:2026-11"
    doc = _page(client, response.headers["Location"])
    assert _text(doc, "summary-coverage").startswith("3/52") and "Đạt" in _text(doc, "summary-target")
    assert _text(doc, "summary-teachers").startswith("1/2")

    def cell(grade: str, subject: str) -> tuple[str, str]:
        td = doc.xpath(f"//td[@data-cell='{grade}:{subject}']")[0]
        return td.get("data-status"), " ".join(td.text_content().split())

    assert cell("6", "TOAN") == ("met", "✓ 1 đạt")
    assert cell("7", "LS_DL") == ("met", "✓ 1 (+1) đạt")  # approved within November
    assert cell("8", "KHTN") == ("empty", "○ 0 chưa có")  # retracted on 10/11
    assert cell("9", "NGU_VAN") == ("empty", "○ 0 chưa có")  # a duplicate of THCS02's file
    assert len(doc.xpath("//table[@id='matrix']/tbody/tr")) == 4
    assert len(doc.xpath("//table[@id='matrix']/thead/tr/th")) == 1 + 13
    assert "(49)" in _text(doc, "gaps-title")
    assert [_row(r) for r in doc.xpath("//table[@id='teachers']/tbody/tr")] == [
        "Người teacher 1 ✓ có", "Người school_reviewer 0 chưa"]
    assert [_row(r) for r in doc.xpath("//table[@id='trend-table']/tbody/tr")] == [
        "09/2026 0/52 0", "10/2026 2/52 2", "11/2026 3/52 2"]
    assert doc.xpath("//svg[@id='trend-chart']/title")
    assert not doc.xpath("//a[@id='electives-link']")  # a lower-secondary school has no electives


@pytest.mark.usefixtures("province")
def test_school_pages_refused_to_others(app: Any, world: dict[str, Any]) -> None:
    url = f"/reports/schools/{world['thcs1'].id}" + NOVEMBER
    assert signed_in(app, SCHOOL_ADMIN2).get(url).status_code == 403
    assert signed_in(app, TEACHER).get(url).status_code == 403
    assert signed_in(app, DEPT_ADMIN).get("/reports/schools/999999" + NOVEMBER).status_code == 404
    assert app.test_client().get(url).status_code == 302  # sign in first
    merged = schools.school_by_code("THCS03")
    doc = _page(signed_in(app, DEPT_ADMIN), f"/reports/schools/{merged.id}" + NOVEMBER, 404)
    assert "sáp nhập" in _text(doc, "report-error")


@pytest.mark.usefixtures("province")
def test_department_sees_the_upper_secondary_school_with_its_electives(app: Any, world: dict[str, Any]) -> None:
    doc = _page(signed_in(app, DEPT_ADMIN), f"/reports/schools/{world['thpt'].id}" + NOVEMBER)
    assert _text(doc, "summary-coverage").startswith("1/30")
    headers = [" ".join(th.text_content().split()) for th in doc.xpath("//table[@id='matrix']/thead/tr/th")]
    assert "Vật lí" in headers and "Hoá học" in headers or "Hóa học" in headers
    assert doc.xpath("//td[@data-cell='10:VAT_LI']/@data-status") == ["met"]
    electives = f"/reports/schools/{world['thpt'].id}/electives?year=2026-2027"
    assert doc.xpath("//a[@id='electives-link']/@href") == [electives]


@pytest.mark.parametrize("query, message", [
    ("?period=month:2026-13", "không hợp lệ"),
    ("?period=week:2026-40", "không hợp lệ"),
    ("?from=2026-12-01&to=2026-11-01", "không hợp lệ"),
    ("?from=2026-11-01", "không hợp lệ"),
    ("?year=2026-2027&period=month:2025-11", "không kết thúc trong năm học 2026-2027"),
    ("?year=2026&period=month:2026-11", "Năm học “2026” không hợp lệ"),
    ("?period=month:2026-11&unit=99999", "Không có đơn vị mã “99999”"),
])
def test_bad_queries_are_a_400_with_the_message(app: Any, world: dict[str, Any], query: str, message: str) -> None:
    doc = _page(signed_in(app, DEPT_ADMIN), "/reports/" + query, 400)
    assert message in _text(doc, "report-error")
    assert doc.xpath("//form[@id='period-picker']")  # the picker stays, to choose again


def test_bad_queries_on_the_school_and_own_pages(app: Any, world: dict[str, Any]) -> None:
    doc = _page(signed_in(app, SCHOOL_ADMIN), f"/reports/schools/{world['thcs1'].id}?period=quarter:2026-Q5", 400)
    assert "Kỳ báo cáo “quarter:2026-Q5” không hợp lệ" in _text(doc, "report-error")
    doc = _page(signed_in(app, TEACHER), "/reports/me?year=2026-2028", 400)
    assert "Năm học “2026-2028” không hợp lệ" in _text(doc, "report-error")


@pytest.mark.usefixtures("province")
def test_teacher_sees_own_contributions_and_why_some_do_not_count(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, TEACHER)
    response = client.get("/reports/")
    assert response.status_code == 302 and response.headers["Location"] == "/reports/me"
    doc = _page(client, "/reports/me?year=2026-2027")
    rows = {" ".join(r.xpath("td")[0].text_content().split()): _row(r)
            for r in doc.xpath("//table[@id='mine']/tbody/tr")}
    assert "05/11/2026" in rows["Lịch sử 6 7"] and "được tính" in rows["Lịch sử 6 7"]
    assert "Lớp 6, Lớp 7" in rows["Lịch sử 6 7"]
    assert "không tính" in rows["Văn 9 chép"] and "trùng tệp" in rows["Văn 9 chép"]
    assert "ngoài năm học" in rows["Toán 6 cũ"]
    # m2 (Lịch sử) and m7 (Toán 7, December) count this school year; m3 and m5 do not
    assert "2/4" in _text(doc, "mine-summary")
    assert doc.xpath("//a[text()='Báo cáo']/@href") == ["/reports/"]  # the navigation entry


def test_settings_form_saves_the_year_rules(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, DEPT_ADMIN)
    doc = _page(client, "/reports/settings?year=2026-2027")
    assert doc.xpath("//input[@name='target_share']/@value") == ["100"]
    assert doc.xpath("//input[@name='starts_on']/@value") == ["2026-09-05"]
    assert "mặc định" in _text(doc, "rules-state")
    response = client.post("/reports/settings?year=2026-2027", data={
        "starts_on": "2026-09-07", "min_per_cell": "2", "target_share": "80", "approval": "publication",
        "preschool_in_target": "y", "min_per_teacher": "1,5", "min_per_subject": ""})
    assert response.status_code == 303
    db.session.expire_all()
    saved = reports.year_rules(world["dept_admin"], "2026-2027")
    assert (saved.starts_on.isoformat(), saved.min_per_cell, saved.target_share, saved.approval) == (
        "2026-09-07", 2, pytest.approx(0.8), "publication")
    assert saved.preschool_in_target and saved.min_per_teacher == pytest.approx(1.5) and saved.min_per_subject is None
    doc = _page(client, response.headers["Location"])
    assert doc.xpath("//input[@name='target_share']/@value") == ["80"] and "đã lưu" in _text(doc, "rules-state")


def test_settings_form_shows_the_validation_messages(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, DEPT_ADMIN)
    good = {"starts_on": "2026-09-05", "min_per_cell": "1", "target_share": "100", "approval": "school"}
    response = client.post("/reports/settings?year=2026-2027", data={**good, "target_share": "0"})
    assert response.status_code == 422 and "Nhập tỉ lệ từ 1 đến 100 (%)." in response.get_data(as_text=True)
    response = client.post("/reports/settings?year=2026-2027", data={
        **good, "starts_on": "2026-12-01", "min_per_cell": "abc", "approval": "who", "min_per_subject": "0"})
    assert response.status_code == 422
    doc = lxml_html.fromstring(response.get_data(as_text=True))
    errors = " ".join(e.text_content() for e in doc.xpath("//div[contains(@class, 'invalid-feedback')]"))
    assert "phải bắt đầu trong khoảng 1/7 đến 31/10 năm 2026" in errors and "Hãy nhập một số." in errors
    assert "Chọn cấp duyệt được tính" in errors and "Giá trị phải từ 1 đến 10000." in errors
    assert not reports.year_rules(world["dept_admin"], "2026-2027").stored  # nothing half-saved
    assert signed_in(app, DEPT_REVIEWER).get("/reports/settings").status_code == 403
    assert _page(client, "/reports/settings?year=abc", 400) is not None


@pytest.mark.usefixtures("province")
def test_electives_form(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, DEPT_ADMIN)
    url = f"/reports/schools/{world['thpt'].id}/electives?year=2026-2027"
    doc = _page(client, url)
    assert sorted(doc.xpath("//input[@name='subjects'][@checked]/@value")) == ["HOA_HOC", "VAT_LI"]
    assert "TIN_HOC" in doc.xpath("//input[@name='subjects']/@value")
    response = client.post(url, data={"subjects": ["VAT_LI", "TIN_HOC"]})
    assert response.status_code == 303
    assert reports.electives(world["dept_admin"], world["thpt"], "2026-2027") == ["TIN_HOC", "VAT_LI"]
    assert "1/30" in _text(_page(client, f"/reports/schools/{world['thpt'].id}" + NOVEMBER), "summary-coverage")
    response = client.post(url, data={"subjects": ["VAT_LI", "XYZ"]})
    assert response.status_code == 422
    assert "Không phải môn lựa chọn của chương trình: XYZ." in response.get_data(as_text=True)
    assert reports.electives(world["dept_admin"], world["thpt"], "2026-2027") == ["TIN_HOC", "VAT_LI"]
    own = _page(signed_in(app, SCHOOL_ADMIN), f"/reports/schools/{world['thcs1'].id}/electives?year=2026-2027")
    assert not own.xpath("//input[@name='subjects']")  # a lower-secondary school declares none
    assert signed_in(app, SCHOOL_ADMIN).get(url).status_code == 403


def _submit_form(doc: Any) -> dict[str, str]:
    form = doc.xpath("//section[@id='submission']//form")[0]
    assert form.get("action") == "/reports/submissions"
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    assert fields.pop("csrf_token")  # a CSRF-protected form like every other
    return fields


@pytest.mark.usefixtures("province")
def test_school_admin_submits_from_the_matrix_page_and_the_department_sees_it(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, SCHOOL_ADMIN)
    page = f"/reports/schools/{world['thcs1'].id}" + NOVEMBER
    doc = _page(client, page)
    assert "Chưa nộp" in _text(doc, "submission") and "20/11/2026" in _text(doc, "submission")
    form = _submit_form(doc)
    assert form == {"kind": "school", "target_id": str(world["thcs1"].id), "period": "month:2026-11"}
    response = client.post("/reports/submissions", data=form,
                           headers={"Referer": "http://localhost" + page})
    assert response.status_code == 303
    doc = _page(client, page)
    # November's report is due before the 20th, so one made on any later day is late
    assert "Đã nộp báo cáo kỳ này" in _text(doc, "submission") and "nộp muộn" in _text(doc, "submission")
    assert not doc.xpath("//section[@id='submission']//form")
    # the reviewer of the school sees the state but has no button
    assert not _page(signed_in(app, "totruong@thcs1.ninhbinh.edu.vn"), page).xpath("//section[@id='submission']//form")

    dept = _page(signed_in(app, DEPT_ADMIN), "/reports/" + NOVEMBER)
    board = {tr.get("data-code"): _row(tr) for tr in dept.xpath("//table[@id='board-table']/tbody/tr")}
    assert sorted(board) == ["14329", "14464", "THCS01", "THCS02", "THPT01"]  # the schools and their units
    assert "Đã nộp" in board["THCS01"] and "nộp muộn" in board["THCS01"] and "Mở lại" in board["THCS01"]
    assert "Chưa nộp" in board["THCS02"] and "quá hạn" in board["THCS02"] and "Chưa nộp" in board["14464"]
    assert _text(dept, "board-counts") == "Đã nộp: 1 (nộp muộn: 1) · Chưa nộp: 4 (quá hạn: 4)"
    reviewer = _page(signed_in(app, DEPT_REVIEWER), "/reports/" + NOVEMBER)
    assert not reviewer.xpath("//form[contains(@action, '/reopen')]")  # only the department admin reopens
    whole_year = _page(signed_in(app, DEPT_ADMIN), "/reports/?period=schoolyear:2026-2027")
    assert "không có hạn nộp" in _text(whole_year, "board")


@pytest.mark.usefixtures("province")
def test_unit_officer_submits_the_unit_report(app: Any, world: dict[str, Any]) -> None:
    client = signed_in(app, OFFICER)
    doc = _page(client, "/reports/" + NOVEMBER)
    unit = world["thcs1"].reports_to
    assert _submit_form(doc) == {"kind": "unit", "target_id": str(unit.id), "period": "month:2026-11"}
    assert [tr.get("data-code") for tr in doc.xpath("//table[@id='board-table']/tbody/tr")] == ["THCS01"]
    assert client.post("/reports/submissions", data={"kind": "unit", "target_id": str(unit.id),
                                                     "period": "month:2026-11"}).status_code == 303
    doc = _page(client, "/reports/" + NOVEMBER)
    assert "Đã nộp báo cáo kỳ này" in _text(doc, "submission") and "nộp muộn" in _text(doc, "submission")
    xlsx = doc.xpath("//p[@id='exports']/a/@href")[0]
    assert xlsx == "/reports/export.xlsx?year=2026-2027&period=month:2026-11&unit=14329"
    assert client.get(xlsx).status_code == 200
    dept = _page(signed_in(app, DEPT_ADMIN), "/reports/" + NOVEMBER)
    row = dept.xpath("//table[@id='board-table']/tbody/tr[@data-code='14329']")[0]
    assert "Đã nộp" in _row(row) and row.xpath(".//a[contains(@href, '/reports/submissions/')]")


@pytest.mark.usefixtures("province")
def test_a_period_to_come_has_no_submit_button(app: Any, world: dict[str, Any]) -> None:
    school = f"/reports/schools/{world['thcs1'].id}"
    doc = _page(signed_in(app, SCHOOL_ADMIN), school + "?year=2099-2100&period=month:2099-11")
    assert "chưa bắt đầu" in _text(doc, "submission") and not doc.xpath("//section[@id='submission']//form")
    doc = _page(signed_in(app, SCHOOL_ADMIN), school + "?period=schoolyear:2026-2027")
    assert "không có hạn nộp" in _text(doc, "submission") and not doc.xpath("//section[@id='submission']//form")



def test_a_preschool_is_shown_outside_the_target(app: Any, world: dict[str, Any]) -> None:
    preschool = schools.save_school(SystemActor(), None, schools.SchoolInput("MN01", "Trường MN Hoa Lư", "MN", "14329"))
    client = signed_in(app, DEPT_ADMIN)
    doc = _page(client, "/reports/")  # no query: this month of this school year
    assert doc.xpath("//select[@id='period']//option[@selected]")
    assert "ngoài chỉ tiêu" in _text(doc, "school-MN01") and "0/3" in _text(doc, "total-row")  # 3 schools in target
    page = _page(client, f"/reports/schools/{preschool.id}")
    assert "Ngoài chỉ tiêu" in _text(page, "summary-target")
    groups = [" ".join(th.text_content().split()) for th in page.xpath("//table[@id='matrix']/tbody/tr/th")]
    assert groups[0].startswith("Nhóm trẻ 3–12 tháng") and len(groups) == 6
    assert page.xpath("//td[@data-cell]/@data-status") and set(page.xpath("//td[@data-cell]/@data-status")) <= {
        "empty", "none"}
