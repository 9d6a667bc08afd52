"""The contribution figures over the hand-built province of tests/reports/province.py.

Every expected number is worked out by hand from the table in that module's docstring."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from repository.errors import PermissionDenied, ValidationError
from repository.extensions import db
from repository.permissions import SystemActor
from repository.reports import facts
from repository.services import reports
from tests.reports.province import build

# Grades 6-9: Ngữ văn, Toán, Ngoại ngữ 1, GDCD, LS&ĐL, KHTN, Công nghệ, Tin học, GDTC, Âm nhạc,
# Mĩ thuật, HĐTN-HN, GDĐP = 13 cells a grade.
THCS_CELLS = 13 * 4
# Grades 10-12: Ngữ văn, Toán, Ngoại ngữ 1, Lịch sử, GDTC, GDQP-AN, HĐTN-HN, GDĐP + the two declared
# electives (Vật lí, Hoá học) = 10 cells a grade.
THPT_CELLS = 10 * 3


@pytest.fixture
def province(world: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    made = build(world, tmp_path)
    reports.set_year_rules(world["dept_admin"], "2026-2027", {"starts_on": "2026-09-05", "target_share": 0.05})
    return made


def _rows(report: Any) -> dict[str, Any]:
    return {row.code: row for row in report.schools}


def test_november_figures_school_by_school(world: dict[str, Any], province: dict[str, Any]) -> None:
    report = reports.contributions(world["dept_admin"], "2026-2027", "month:2026-11")
    rows = _rows(report)
    assert sorted(rows) == ["THCS01", "THCS02", "THPT01"]  # THCS03 merged on 20/11: inside THCS02
    thcs1 = rows["THCS01"]
    # m1 (Toán 6) and m2 (LS&ĐL 6 and 7) count; m3 before the year, m4 retracted on 10/11, m5 a
    # duplicate of THCS02's earlier file, m7 approved in December.
    assert (thcs1.required_cells, thcs1.covered_cells) == (THCS_CELLS, 3)
    assert (thcs1.approved_materials, thcs1.contributed_in_period) == (2, 1)
    assert thcs1.cells[("6", "TOAN")] == (1, 0) and thcs1.cells[("7", "LS_DL")] == (1, 1)
    assert thcs1.cells[("8", "KHTN")] == (0, 0) and thcs1.cells[("9", "NGU_VAN")] == (0, 0)
    # teacher and school_reviewer teach there now; only the teacher's m2 counts (m1's author moved).
    assert (thcs1.teachers_active, thcs1.teachers_contributing) == (2, 1)
    assert thcs1.meets_target  # 3/52 = 5.8% >= 5%
    thcs2 = rows["THCS02"]
    # m6 (Văn 9) and THCS03's m10 (Toán 6), both approved in October.
    assert (thcs2.covered_cells, thcs2.approved_materials, thcs2.contributed_in_period) == (2, 2, 0)
    assert thcs2.merged_from == ["THCS03"]
    # teacher2, mover (moved in) and t3 (THCS03's); m6 by teacher2 and m10 by t3 count.
    assert (thcs2.teachers_active, thcs2.teachers_contributing) == (3, 2)
    assert not thcs2.meets_target  # 2/52 = 3.8%
    thpt = rows["THPT01"]
    # m8 fills Vật lí 10; m9 (Sinh học, not declared) counts as a material but fills no cell.
    assert (thpt.required_cells, thpt.covered_cells, thpt.approved_materials) == (THPT_CELLS, 1, 2)
    assert (thpt.teachers_active, thpt.teachers_contributing) == (1, 1)
    assert thpt.reports_to["code"] == "SO_GDDT" or thpt.reports_to["name"].startswith("Sở")


def test_november_units_and_province_total(world: dict[str, Any], province: dict[str, Any]) -> None:
    report = reports.contributions(world["dept_admin"], "2026-2027", "month:2026-11")
    units = {u.name: u for u in report.units}
    assert units["Phường Hoa Lư"].schools == 1 and units["Phường Hoa Lư"].schools_meeting_target == 1
    assert units["Xã Gia Viễn"].schools == 1 and units["Xã Gia Viễn"].approved_materials == 2
    total = report.total
    assert (total.schools, total.schools_in_target, total.schools_meeting_target) == (3, 3, 1)
    assert (total.covered_cells, total.required_cells) == (3 + 2 + 1, THCS_CELLS * 2 + THPT_CELLS)
    assert total.coverage == pytest.approx(6 / 134)
    assert (total.approved_materials, total.teachers_active, total.teachers_contributing) == (6, 6, 4)
    data = report.as_json()
    assert data["year"] == "2026-2027" and data["period"] == "month:2026-11"
    assert data["total"]["schools_meeting_target"] == 1 and data["total"]["meeting_share"] == pytest.approx(1 / 3, abs=1e-4)
    row = next(r for r in data["schools"] if r["school"]["code"] == "THCS01")
    assert row == {"school": {"code": "THCS01", "name": "Trường THCS Hoa Lư", "type": "THCS", "unit": "14329"},
                   "approved_materials": 2, "contributed_in_period": 1, "covered_cells": 3, "required_cells": 52,
                   "coverage": round(3 / 52, 4), "teachers_active": 2, "teachers_contributing": 1,
                   "meets_target": True, "in_target": True}


def test_october_keeps_the_merged_school_and_the_later_retracted_material(world: dict[str, Any],
                                                                         province: dict[str, Any]) -> None:
    rows = _rows(reports.contributions(world["dept_admin"], "2026-2027", "month:2026-10"))
    assert sorted(rows) == ["THCS01", "THCS02", "THCS03", "THPT01"]  # merged only on 20/11
    # m1 (Toán 6, 10/10) and m4 (KHTN 8, 01/10; retracted only in November).
    assert (rows["THCS01"].covered_cells, rows["THCS01"].approved_materials) == (2, 2)
    assert rows["THCS01"].contributed_in_period == 2
    assert (rows["THCS02"].covered_cells, rows["THCS03"].covered_cells, rows["THPT01"].covered_cells) == (1, 1, 0)


def test_december_counts_the_december_approval(world: dict[str, Any], province: dict[str, Any]) -> None:
    rows = _rows(reports.contributions(world["dept_admin"], "2026-2027", "month:2026-12"))
    assert rows["THCS01"].covered_cells == 4 and rows["THCS01"].contributed_in_period == 1  # + Toán 7


def test_publication_only_counts_published_materials(world: dict[str, Any], province: dict[str, Any]) -> None:
    reports.set_year_rules(world["dept_admin"], "2026-2027", {"approval": "publication", "target_share": 0.05})
    rows = _rows(reports.contributions(world["dept_admin"], "2026-2027", "month:2026-11"))
    assert (rows["THCS01"].covered_cells, rows["THCS01"].approved_materials) == (1, 1)  # m1 only
    assert (rows["THPT01"].covered_cells, rows["THCS02"].covered_cells) == (1, 0)  # m8 published 25/11


def test_minimum_per_cell_and_other_minimums(world: dict[str, Any], province: dict[str, Any]) -> None:
    reports.set_year_rules(world["dept_admin"], "2026-2027", {"min_per_cell": 2, "target_share": 0.01})
    rows = _rows(reports.contributions(world["dept_admin"], "2026-2027", "month:2026-11"))
    assert rows["THCS01"].covered_cells == 0 and not rows["THCS01"].meets_target
    reports.set_year_rules(world["dept_admin"], "2026-2027", {"target_share": 0.01, "min_per_teacher": 1.5})
    rows = _rows(reports.contributions(world["dept_admin"], "2026-2027", "month:2026-11"))
    assert not rows["THCS01"].meets_target  # 2 materials / 2 teachers = 1 < 1.5
    assert rows["THPT01"].meets_target  # 2 materials / 1 teacher, 1/30 cells >= 1%


def test_quarter_year_school_year_and_range(world: dict[str, Any], province: dict[str, Any]) -> None:
    admin = world["dept_admin"]
    q4 = _rows(reports.contributions(admin, None, "quarter:2026-Q4"))
    assert q4["THCS01"].covered_cells == 4 and q4["THCS01"].contributed_in_period == 3  # m1, m2, m7 (m4 retracted)
    whole = _rows(reports.contributions(admin, None, "schoolyear:2026-2027"))
    assert whole["THCS01"].approved_materials == 3
    window = _rows(reports.contributions(admin, None, "range:2026-11-01..2026-11-30"))
    assert window["THCS01"].contributed_in_period == 1 and window["THCS01"].covered_cells == 3


def test_unit_scopes(world: dict[str, Any], province: dict[str, Any]) -> None:
    ward = reports.contributions(world["unit_officer"], "2026-2027", "month:2026-11")
    assert [row.code for row in ward.schools] == ["THCS01"]  # THPT01 is in the ward but reports to the department
    assert [row.code for row in reports.contributions(world["school_admin"], None, "month:2026-11").schools] == ["THCS01"]
    with pytest.raises(PermissionDenied):
        reports.contributions(world["unit_officer"], None, "month:2026-11", unit="14464")
    with pytest.raises(PermissionDenied):
        reports.contributions(world["teacher"], None, "month:2026-11")
    one = reports.contributions(world["dept_reviewer"], None, "month:2026-11", unit="14464")
    assert [row.code for row in one.schools] == ["THCS02"]


def test_school_matrix_teachers_gaps_and_trend(world: dict[str, Any], province: dict[str, Any]) -> None:
    matrix = reports.school_matrix(world["school_admin"], world["thcs1"], "2026-2027", "month:2026-11")
    assert matrix.grades == ["6", "7", "8", "9"] and len(matrix.subjects) == 13
    assert matrix.status("6", "TOAN") == "met" and matrix.status("8", "KHTN") == "empty"
    assert matrix.status("6", "VAT_LI") == "none"
    assert len(matrix.gaps) == THCS_CELLS - 3
    assert [(user.email, n) for user, n in matrix.teachers] == [("giaovien@thcs1.ninhbinh.edu.vn", 1),
                                                               ("totruong@thcs1.ninhbinh.edu.vn", 0)]
    # September: nothing yet; October: m1 and m4; November: m1, m2 (m4 retracted).
    assert [(m.month, covered, n) for m, covered, n in matrix.trend] == [(9, 0, 0), (10, 2, 2), (11, 3, 2)]
    with pytest.raises(PermissionDenied):
        reports.school_matrix(world["school_admin2"], world["thcs1"], None, "month:2026-11")


def test_teacher_sees_own_contributions(world: dict[str, Any], province: dict[str, Any]) -> None:
    when, mine = reports.my_contributions(world["teacher"], "2026-2027")
    by_title = {item.material.title: item for item in mine}
    assert by_title["Lịch sử 6 7"].counts and by_title["Lịch sử 6 7"].counted_from.isoformat() == "2026-11-05"
    assert not by_title["Văn 9 chép"].counts  # a duplicate
    assert not by_title["Toán 6 cũ"].counts  # approved before the school year


@pytest.mark.parametrize("period", ["month:2026-13", "quarter:2026-Q5", "week:2026-40", "range:2026-12-01..2026-11-01",
                                    "", "month:2025-11"])
def test_bad_periods_are_refused_with_a_message(world: dict[str, Any], period: str) -> None:
    with pytest.raises(ValidationError) as caught:
        reports.contributions(world["dept_admin"], "2026-2027", period or "x")
    assert "Kỳ" in str(caught.value)


def test_facts_follow_the_history_and_check_finds_drift(world: dict[str, Any], province: dict[str, Any]) -> None:
    assert facts.stale(db.session) == []
    from repository.models import ContributionFact
    db.session.query(ContributionFact).filter_by(material_id=province["m2"].id).delete()
    db.session.commit()
    assert facts.stale(db.session) == [province["m2"].id]
    facts.rebuild(db.session)
    db.session.commit()
    assert facts.stale(db.session) == []


def test_query_count_does_not_grow_with_the_number_of_schools(world: dict[str, Any], province: dict[str, Any]) -> None:
    from repository.services import schools

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            db.session.expire_all()
            reports.contributions(world["dept_admin"], "2026-2027", "month:2026-11")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    before = statements()
    for i in range(25):
        schools.save_school(SystemActor(), None, schools.SchoolInput(f"TH{i:03d}", f"Trường TH số {i}", "TH", "14464"))
    after = statements()
    assert before == after and after <= 12
