"""Submitted reports over the hand-built province: freezing, late flags, 409 on a second
submission, reopening, the board, reminders, the CLI and the facts check, and the web routes.

Expected figures: tests/reports/submit_support.py (November 2026, target 5%)."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from repository.cli_reports import reports_cli
from repository.errors import Conflict, NotFound, PermissionDenied, ValidationError
from repository.extensions import db
from repository.models import AuditEvent, ContributionFact, Notification, ReportSubmission, ReportYear, RoleAssignment
from repository.reports import periods
from repository.reports.consistency import check_facts
from repository.services import report_reminders, report_submissions, reports, settings
from tests.reports.province import approved, build
from tests.reports.submit_support import DEPARTMENT, NOVEMBER, OFFICER, YEAR, local, make_province
from tests.repository.review_support import DEPT_ADMIN, SCHOOL_ADMIN, SCHOOL_ADMIN2, signed_in
from tests.smtp import smtp_server


@pytest.fixture
def province(app: Any, world: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    return make_province(app, world, tmp_path)


def _thcs1(figures: dict[str, Any]) -> dict[str, Any]:
    return next(row for row in figures["schools"] if row["school"]["code"] == "THCS01")


def _unit(code: str) -> Any:
    return reports.unit_by_code(code)


# --- submitting -----------------------------------------------------------------------------------

def test_a_submitted_report_keeps_its_figures_when_the_data_changes(world: dict[str, Any], province: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    row = report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER, now=local("15/11/2026"))
    assert (row.school_year, row.period, row.due_on, row.late) == (YEAR, NOVEMBER, date(2026, 11, 20), False)
    assert row.submitted_by_id == world["school_admin"].id
    assert [r["school"]["code"] for r in row.figures["schools"]] == ["THCS01"]
    assert (_thcs1(row.figures)["covered_cells"], _thcs1(row.figures)["approved_materials"]) == (3, 2)
    # Later: a new approved material (Ngoại ngữ 1, grade 6) and m2 retracted; the live report moves.
    approved(world, world["teacher"], tmp_path, "Tiếng Anh 6", "NGOAI_NGU_1", ["6"], "16/11/2026")
    live = reports.contributions(world["dept_admin"], YEAR, NOVEMBER)
    assert next(r for r in live.schools if r.code == "THCS01").covered_cells == 4
    db.session.expire_all()
    stored, figures = report_submissions.submitted_report(world["school_admin"], row.id)
    assert (_thcs1(figures)["covered_cells"], _thcs1(figures)["approved_materials"]) == (3, 2)
    assert figures["total"]["required_cells"] == 52 and stored.late is False
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.submit"))
    assert (event.actor_id, event.target_type, event.target_id) == (world["school_admin"].id, "report_submissions", row.id)
    assert event.details == {"period": NOVEMBER, "school": "THCS01", "late": False}


def test_submitting_stores_the_year_rules_so_the_year_stays_reproducible(world: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    build(world, tmp_path)  # no rules stored for 2026-2027: the defaults apply
    assert db.session.get(ReportYear, YEAR) is None
    report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER, now=local("15/11/2026"))
    stored = db.session.get(ReportYear, YEAR)
    assert stored is not None and stored.starts_on == date(2026, 9, 5)
    assert stored.rules["target_share"] == 1.0 and stored.rules["min_per_cell"] == 1
    assert stored.updated_by_id == world["school_admin"].id


def test_late_from_the_due_date_in_local_time(world: dict[str, Any], province: dict[str, Any]) -> None:
    # 19/11 at 23:00 in Vietnam is 16:00 UTC: still the 19th locally, so on time.
    on_time = report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER,
                                               now=local("19/11/2026", 23))
    # 20/11 at 06:00 in Vietnam is still 19/11 in UTC: the local date makes it late.
    late = report_submissions.submit_school(world["school_admin2"], world["thcs2"], NOVEMBER,
                                            now=local("20/11/2026", 6))
    assert (on_time.late, late.late) == (False, True)
    quarter = report_submissions.submit_school(world["school_admin"], world["thcs1"], "quarter:2026-Q4",
                                               now=local("19/12/2026"))
    year = report_submissions.submit_school(world["school_admin"], world["thcs1"], "year:2026", now=local("10/12/2026"))
    assert (quarter.due_on, quarter.late, year.due_on, year.late) == (date(2026, 12, 20), False, date(2026, 12, 10), True)


def test_a_second_submission_is_refused_until_the_department_reopens(world: dict[str, Any],
                                                                     province: dict[str, Any]) -> None:
    admin, school = world["school_admin"], world["thcs1"]
    first = report_submissions.submit_school(admin, school, NOVEMBER, now=local("15/11/2026"))
    with pytest.raises(Conflict) as caught:
        report_submissions.submit_school(admin, school, NOVEMBER, now=local("16/11/2026"))
    assert caught.value.status == 409 and "đã được nộp" in str(caught.value)
    with pytest.raises(PermissionDenied):
        report_submissions.reopen(admin, first.id, "Sai số liệu")
    with pytest.raises(ValidationError) as caught:
        report_submissions.reopen(world["dept_admin"], first.id, "   ")
    assert "lý do" in str(caught.value)
    reopened = report_submissions.reopen(world["dept_admin"], first.id, "Trường bổ sung học liệu")
    assert reopened.reopened_at is not None and reopened.reopened_by_id == world["dept_admin"].id
    assert report_submissions.in_force(school.id, None, NOVEMBER) is None
    with pytest.raises(Conflict):
        report_submissions.reopen(world["dept_admin"], first.id, "Lần nữa")
    second = report_submissions.submit_school(admin, school, NOVEMBER, now=local("22/11/2026"))
    assert second.late and report_submissions.in_force(school.id, None, NOVEMBER).id == second.id
    kept = db.session.get(ReportSubmission, first.id)
    assert kept.reopen_reason == "Trường bổ sung học liệu" and not kept.late
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(["report.submit",
                                                                                      "report.reopen"]))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["report.submit", "report.reopen", "report.submit"]
    with pytest.raises(NotFound):
        report_submissions.reopen(world["dept_admin"], 999_999, "Không có")


def test_who_may_submit_and_which_periods(world: dict[str, Any], province: dict[str, Any]) -> None:
    november = local("15/11/2026")
    for actor in ("teacher", "school_admin2", "unit_officer", "dept_admin"):
        with pytest.raises(PermissionDenied):
            report_submissions.submit_school(world[actor], world["thcs1"], NOVEMBER, now=november)
    for actor in ("school_admin", "dept_admin"):
        with pytest.raises(PermissionDenied):
            report_submissions.submit_unit(world[actor], _unit("14329"), NOVEMBER, now=november)
    with pytest.raises(PermissionDenied):
        report_submissions.submit_unit(world["unit_officer"], _unit("14464"), NOVEMBER, now=november)
    for period, word in (("schoolyear:2026-2027", "không có hạn"), ("range:2026-11-01..2026-11-30", "không có hạn"),
                         ("month:2026-12", "chưa bắt đầu"), ("month:2026-13", "không hợp lệ")):
        with pytest.raises(ValidationError) as caught:
            report_submissions.submit_school(world["school_admin"], world["thcs1"], period, now=november)
        assert word in str(caught.value), period
    assert db.session.scalar(select(func.count()).select_from(ReportSubmission)) == 0


def test_a_merged_school_has_no_report_of_its_own(world: dict[str, Any], province: dict[str, Any]) -> None:
    thcs3 = province["thcs3"]  # merged into THCS02 on 20/11/2026
    db.session.add(RoleAssignment(user_id=world["school_admin"].id, role="school_admin", school_id=thcs3.id))
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(Conflict) as caught:
        report_submissions.submit_school(world["school_admin"], thcs3, NOVEMBER, now=local("25/11/2026"))
    assert "sáp nhập" in str(caught.value)
    october = report_submissions.submit_school(world["school_admin"], thcs3, "month:2026-10", now=local("25/10/2026"))
    assert [r["school"]["code"] for r in october.figures["schools"]] == ["THCS03"]  # before the merge


def test_a_unit_officer_submits_the_consolidated_report_of_the_unit(world: dict[str, Any],
                                                                   province: dict[str, Any]) -> None:
    row = report_submissions.submit_unit(world["unit_officer"], _unit("14329"), NOVEMBER, now=local("18/11/2026"))
    assert row.unit_id == _unit("14329").id and row.school_id is None and not row.late
    # THPT01 is in the ward but reports to the department: only THCS01 reports to the ward.
    assert [r["school"]["code"] for r in row.figures["schools"]] == ["THCS01"]
    assert [u["unit"]["code"] for u in row.figures["units"]] == ["14329"]
    assert (row.figures["total"]["covered_cells"], row.figures["total"]["schools_meeting_target"]) == (3, 1)
    with pytest.raises(Conflict):
        report_submissions.submit_unit(world["unit_officer"], _unit("14329"), NOVEMBER, now=local("19/11/2026"))
    # The school's own report is a separate submission.
    report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER, now=local("19/11/2026"))
    stored, figures = report_submissions.submitted_report(world["dept_reviewer"], row.id)
    assert figures["period"] == NOVEMBER
    with pytest.raises(PermissionDenied):
        report_submissions.submitted_report(world["school_admin"], row.id)  # a unit's report, not the school's
    with pytest.raises(PermissionDenied):
        report_submissions.submitted_report(world["teacher"], row.id)


# --- the board ------------------------------------------------------------------------------------

def _board(actor: Any, today: date, unit: str | None = None) -> list[tuple[str, str, bool, bool, bool]]:
    found = report_submissions.board(actor, NOVEMBER, unit, today=today)
    return [(r.kind, r.code, r.submission is not None, r.late, r.overdue) for r in found.rows]


def test_the_board_shows_who_has_submitted_late_and_overdue(world: dict[str, Any], province: dict[str, Any]) -> None:
    report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER, now=local("15/11/2026"))
    report_submissions.submit_school(world["school_admin2"], world["thcs2"], NOVEMBER, now=local("21/11/2026"))
    after = date(2026, 11, 25)
    # Grouped by the unit reported to: each commune/ward first, then its schools; THCS03 merged on
    # 20/11 owes no report of its own for November.
    assert _board(world["dept_admin"], after) == [
        ("unit", "14329", False, False, True), ("school", "THCS01", True, False, False),
        ("school", "THPT01", False, False, True),
        ("unit", "14464", False, False, True), ("school", "THCS02", True, True, False)]
    before = _board(world["dept_reviewer"], date(2026, 11, 19))
    assert [overdue for *_, overdue in before] == [False] * 5
    assert _board(world["dept_admin"], after, "14464") == [("unit", "14464", False, False, True),
                                                           ("school", "THCS02", True, True, False)]
    assert _board(world["unit_officer"], after) == [("school", "THCS01", True, False, False)]
    assert _board(world["unit_officer"], after, "14329") == [("school", "THCS01", True, False, False)]
    assert _board(world["school_admin2"], after) == [("school", "THCS02", True, True, False)]
    names = {r.code: r.reports_to_name for r in report_submissions.board(world["dept_admin"], NOVEMBER).rows}
    assert names == {"14329": DEPARTMENT, "14464": DEPARTMENT, "THCS01": "Phường Hoa Lư", "THCS02": "Xã Gia Viễn",
                     "THPT01": DEPARTMENT}
    with pytest.raises(PermissionDenied):
        report_submissions.board(world["teacher"], NOVEMBER)
    with pytest.raises(PermissionDenied):
        report_submissions.board(world["unit_officer"], NOVEMBER, "14464")
    with pytest.raises(ValidationError):
        report_submissions.board(world["dept_admin"], "schoolyear:2026-2027")


def test_a_reopened_submission_leaves_the_board(world: dict[str, Any], province: dict[str, Any]) -> None:
    row = report_submissions.submit_unit(world["unit_officer"], _unit("14329"), NOVEMBER, now=local("15/11/2026"))
    report_submissions.reopen(world["dept_admin"], row.id, "Số liệu chưa đủ")
    rows = {r.code: r for r in report_submissions.board(world["dept_admin"], NOVEMBER, today=date(2026, 11, 25)).rows}
    assert rows["14329"].submission is None and rows["14329"].overdue


# --- reminders ------------------------------------------------------------------------------------

def _reminders() -> list[tuple[str, str, str]]:
    from repository.models import User

    notes = db.session.scalars(select(Notification).where(Notification.kind == report_reminders.REMINDER)
                               .order_by(Notification.id))
    return [(db.session.get(User, n.user_id).email, n.details["period"], n.details["code"]) for n in notes]


def test_reminders_go_once_to_who_has_not_submitted(world: dict[str, Any], province: dict[str, Any]) -> None:
    report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER, now=local("15/11/2026"))
    assert report_reminders.send_reminders(date(2026, 11, 16)) == 0  # 4 days before the 20th
    # 3 days before: THCS02's admin and the ward's officer (THCS01 has submitted; THPT01 has no
    # admin account; the commune 14464 has no officer).
    assert report_reminders.send_reminders(date(2026, 11, 17)) == 2
    assert _reminders() == [("hieutruong@thcs2.ninhbinh.edu.vn", NOVEMBER, "THCS02"),
                            ("canbo@hoalu.ninhbinh.edu.vn", NOVEMBER, "14329")]
    assert report_reminders.send_reminders(date(2026, 11, 17)) == 0  # never twice
    assert report_reminders.send_reminders(date(2026, 11, 18)) == 0
    # Reopened: THCS01 owes the report again and has not been reminded of it yet.
    report_submissions.reopen(world["dept_admin"], report_submissions.in_force(world["thcs1"].id, None, NOVEMBER).id,
                              "Bổ sung")
    assert report_reminders.send_reminders(date(2026, 11, 19)) == 1
    assert _reminders()[-1] == ("hieutruong@thcs1.ninhbinh.edu.vn", NOVEMBER, "THCS01")
    assert report_reminders.send_reminders(date(2026, 11, 20)) == 0  # the deadline itself: late, no reminder
    # The calendar year's report is due before 10 December; the quarter's before 20 December.
    assert report_reminders.send_reminders(date(2026, 12, 7)) == 3
    assert {period for _, period, _ in _reminders()[-3:]} == {"year:2026"}
    settings.update(world["dept_admin"], {"reports.reminder_days": 13})
    assert report_reminders.send_reminders(date(2026, 12, 7)) == 6  # now December's month and quarter too
    assert {period for _, period, _ in _reminders()[-6:]} == {"month:2026-12", "quarter:2026-Q4"}
    # Days replayed with --today (later than the real clock, in this test) remember them too.
    assert report_reminders.send_reminders(date(2026, 12, 18)) == 0


def test_a_reminder_is_worded_in_the_reader_language(app: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER, now=local("15/11/2026"))
    report_reminders.send_reminders(date(2026, 11, 17))
    notes = {n.details["target"]: n for n in db.session.scalars(select(Notification).where(
        Notification.kind == report_reminders.REMINDER))}
    template = '{% from "reports/_reminder.txt" import reminder %}{{ reminder(note) }}'
    with app.test_request_context():
        assert render_template_string(template, note=notes["school"]) == (
            "Nhắc nộp báo cáo Tháng 11/2026 của trường THCS02: hạn nộp trước ngày 20/11/2026.")
        assert render_template_string(template, note=notes["unit"]) == (
            "Nhắc nộp báo cáo tổng hợp Tháng 11/2026 của đơn vị 14329: hạn nộp trước ngày 20/11/2026.")


def test_reminders_are_e_mailed(app_with: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    with smtp_server() as (box, port):
        mail_app = app_with(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="kho@so.ninhbinh.edu.vn")
        with mail_app.app_context():
            assert report_reminders.send_reminders(date(2026, 11, 17)) == 3  # nobody has submitted
    assert box.recipients() == ["canbo@hoalu.ninhbinh.edu.vn", "hieutruong@thcs1.ninhbinh.edu.vn",
                                "hieutruong@thcs2.ninhbinh.edu.vn"]
    assert all("Thông báo" in subject for subject in box.subjects())


def test_the_reminder_days_setting_is_checked(world: dict[str, Any]) -> None:
    assert settings.get("reports.reminder_days") == 3
    for bad in ("0", "16", "ba"):
        with pytest.raises(ValidationError):
            settings.update(world["dept_admin"], {"reports.reminder_days": bad})
    assert report_reminders.due_soon(date(2026, 11, 17), 3)[0].key == NOVEMBER
    assert report_reminders.due_soon(date(2026, 11, 20), 15) == []  # the deadline day itself


# --- commands and the facts check -------------------------------------------------------------------

def test_the_remind_and_rebuild_commands(app: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(reports_cli, ["remind", "--today", "2026-11-17"])
    assert result.exit_code == 0 and "Đã gửi 3 thông báo" in result.output, result.output
    assert "Đã gửi 0 thông báo" in runner.invoke(reports_cli, ["remind", "--today", "2026-11-17"]).output
    rows = db.session.scalar(select(func.count()).select_from(ContributionFact))
    result = runner.invoke(reports_cli, ["rebuild"])
    assert result.exit_code == 0 and f"Đã tính lại {rows} dòng" in result.output, result.output
    assert runner.invoke(reports_cli, ["remind", "--today", "17/11/2026"]).exit_code == 2  # a bad date: usage error


def test_check_facts_finds_and_repairs_stale_facts(world: dict[str, Any], province: dict[str, Any]) -> None:
    assert check_facts(repair=False) == ([], 0)
    m2 = province["m2"].id
    db.session.query(ContributionFact).filter_by(material_id=m2).delete()
    db.session.commit()
    assert check_facts(repair=False) == ([m2], 0)
    assert check_facts(repair=True) == ([m2], 1)
    assert check_facts(repair=False) == ([], 0)
    assert next(r for r in reports.contributions(world["dept_admin"], YEAR, NOVEMBER).schools
                if r.code == "THCS01").covered_cells == 3


# --- the web routes -------------------------------------------------------------------------------

def test_submit_reopen_and_view_through_the_web(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    build(world, tmp_path)
    current = periods.current_month().key  # the web uses the real clock: this month has begun
    admin = signed_in(app, SCHOOL_ADMIN)
    form = {"kind": "school", "target_id": str(world["thcs1"].id), "period": current}
    page = f"http://localhost/reports/schools/{world['thcs1'].id}?period={current}"
    response = admin.post("/reports/submissions", data=form, headers={"Referer": page})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/reports/schools/{world['thcs1'].id}?period={current}")
    row = report_submissions.in_force(world["thcs1"].id, None, current)
    assert row is not None
    again = admin.post("/reports/submissions", data=form, headers={"Referer": "http://elsewhere.example/x"})
    assert again.status_code == 409 and "đã được nộp" in again.get_data(as_text=True)
    away = admin.post("/reports/submissions", data={**form, "target_id": str(world["thcs2"].id)},
                      headers={"Referer": "http://elsewhere.example/x"})
    assert away.status_code == 403
    for bad in ({**form, "kind": "province"}, {**form, "target_id": "x"}, {**form, "period": "week:1"}):
        assert admin.post("/reports/submissions", data=bad).status_code == 422, bad
    shown = admin.get(f"/reports/submissions/{row.id}")
    assert shown.status_code == 200
    body = shown.get_data(as_text=True)
    assert "Trường THCS Hoa Lư" in body and "THCS01" in body and 'id="submission-table"' in body
    assert [body.count(f'data-kind="{kind}"') for kind in ("school", "subtotal", "total")] == [1, 1, 1]
    assert 'style="' not in body  # the CSP forbids inline styles
    assert signed_in(app, SCHOOL_ADMIN2).get(f"/reports/submissions/{row.id}").status_code == 403
    dept = signed_in(app, DEPT_ADMIN)
    assert dept.post(f"/reports/submissions/{row.id}/reopen", data={"reason": ""}).status_code == 422
    reopened = dept.post(f"/reports/submissions/{row.id}/reopen", data={"reason": "Bổ sung số liệu"})
    assert reopened.status_code == 303 and "/reports/" in reopened.headers["Location"]
    assert "Bổ sung số liệu" in dept.get(f"/reports/submissions/{row.id}").get_data(as_text=True)
    assert admin.post(f"/reports/submissions/{row.id}/reopen", data={"reason": "x"}).status_code == 403
    resubmitted = admin.post("/reports/submissions", data=form, headers={"Referer": "http://localhost//evil.example/x"})
    assert resubmitted.status_code == 303  # submitted again; a protocol-relative referrer is not followed
    assert resubmitted.headers["Location"].startswith(f"/reports/schools/{world['thcs1'].id}")
    assert dept.get("/reports/submissions/999999").status_code == 404


def test_an_officer_submits_the_unit_report_through_the_web(app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    build(world, tmp_path)
    current = periods.current_month().key
    officer = signed_in(app, OFFICER)
    form = {"kind": "unit", "target_id": str(_unit("14329").id), "period": current}
    response = officer.post("/reports/submissions", data=form)
    assert response.status_code == 303 and "unit=14329" in response.headers["Location"]
    row = report_submissions.in_force(None, _unit("14329").id, current)
    assert row is not None and [r["school"]["code"] for r in row.figures["schools"]] == ["THCS01"]
    other = {**form, "target_id": str(_unit("14464").id)}
    assert officer.post("/reports/submissions", data=other).status_code == 403
    assert officer.get(f"/reports/submissions/{row.id}").status_code == 200
