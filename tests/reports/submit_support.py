"""Fixtures of the submission, export and report-API tests.

The figures are those of the hand-built province (tests/reports/province.py) as worked out in
tests/reports/test_figures.py, November 2026 with a 5% target: THCS01 3/52 cells (meets it),
THCS02 2/52 (THCS03 merged into it), THPT01 1/30; 6/134 cells in all, 1 of 3 schools meeting it.
"""
from __future__ import annotations

from typing import Any

from repository.services import reports
from tests.reports.province import build, local  # noqa: F401 (local: re-exported for the tests)

YEAR, NOVEMBER = "2026-2027", "month:2026-11"
DEPARTMENT = "Sở Giáo dục và Đào tạo tỉnh Ninh Bình"
OFFICER = "canbo@hoalu.ninhbinh.edu.vn"  # the unit officer of Phường Hoa Lư (14329)


def make_province(app: Any, world: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    """The hand-built province with the 2026-2027 rules of the tests (target 5%)."""
    made = build(world, tmp_path)
    reports.set_year_rules(world["dept_admin"], YEAR, {"starts_on": "2026-09-05", "target_share": 0.05})
    return made
