"""GET /api/v1/reports/contributions and /api/v1/reports/submissions over the hand-built province,
with personal access tokens: the issue's shape, each role's scope, and the JSON errors.

Expected figures: tests/reports/submit_support.py (November 2026, target 5%)."""
from __future__ import annotations

from typing import Any

import pytest

import repository.api.reports  # noqa: F401 (attaches the routes before any app registers the API blueprint)
from repository.services import report_submissions
from tests.api.helpers import bearer, token_for
from tests.reports.submit_support import DEPARTMENT, NOVEMBER, YEAR, local, make_province

URL = "/api/v1/reports/contributions"
BOARD = "/api/v1/reports/submissions"
SCHOOL_KEYS = {"school", "approved_materials", "covered_cells", "required_cells", "coverage", "teachers_active",
               "teachers_contributing", "meets_target"}


@pytest.fixture
def province(app: Any, world: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    return make_province(app, world, tmp_path)


def _get(client: Any, user: Any, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url, headers=bearer(token_for(user)))
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/json"
    return response.get_json()


def _error(client: Any, user: Any, url: str, status: int) -> str:
    body = _get(client, user, url, status)["error"]
    assert body["code"] == status and body["message"]
    return body["message"]


def _codes(body: dict[str, Any]) -> list[str]:
    return [row["school"]["code"] for row in body["schools"]]


def test_the_department_gets_the_issue_shape(client: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    body = _get(client, world["dept_admin"], f"{URL}?year={YEAR}&period={NOVEMBER}")
    assert {"year", "period", "schools", "units", "total"} <= set(body)
    assert (body["year"], body["period"]) == (YEAR, NOVEMBER)
    assert _codes(body) == ["THCS01", "THPT01", "THCS02"]  # grouped by the unit they report to
    thcs1 = body["schools"][0]
    assert SCHOOL_KEYS <= set(thcs1)
    assert thcs1["school"] == {"code": "THCS01", "name": "Trường THCS Hoa Lư", "type": "THCS", "unit": "14329"}
    assert (thcs1["approved_materials"], thcs1["covered_cells"], thcs1["required_cells"]) == (2, 3, 52)
    assert thcs1["coverage"] == pytest.approx(3 / 52, abs=1e-4) and 0 <= thcs1["coverage"] <= 1
    assert (thcs1["teachers_active"], thcs1["teachers_contributing"], thcs1["meets_target"]) == (2, 1, True)
    assert [u["unit"]["code"] for u in body["units"]] == ["14329", "SO_GDDT", "14464"]
    assert body["units"][1]["unit"]["name"] == DEPARTMENT
    total = body["total"]
    assert (total["covered_cells"], total["required_cells"], total["schools_meeting_target"]) == (6, 134, 1)
    assert total["coverage"] == pytest.approx(6 / 134, abs=1e-4)
    one = _get(client, world["dept_reviewer"], f"{URL}?year={YEAR}&period={NOVEMBER}&unit=14464")
    assert _codes(one) == ["THCS02"] and one["total"]["covered_cells"] == 2
    assert _codes(_get(client, world["dept_reviewer"], f"{URL}?period=quarter:2026-Q4")) == ["THCS01", "THPT01", "THCS02"]


def test_each_role_sees_its_own_scope(client: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    query = f"{URL}?year={YEAR}&period={NOVEMBER}"
    assert _codes(_get(client, world["unit_officer"], query)) == ["THCS01"]
    assert _codes(_get(client, world["unit_officer"], query + "&unit=14329")) == ["THCS01"]
    assert _codes(_get(client, world["school_admin"], query)) == ["THCS01"]
    assert _codes(_get(client, world["school_admin2"], query)) == ["THCS02"]
    _error(client, world["unit_officer"], query + "&unit=14464", 403)
    _error(client, world["school_admin"], query + "&unit=14329", 403)
    _error(client, world["teacher"], query, 403)
    assert client.get(query).status_code == 401


def test_bad_queries_are_json_errors(client: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    admin = world["dept_admin"]
    for period in ("month:2026-13", "week:2026-40", "range:2026-12-01..2026-11-01", "x" * 500):
        assert "Kỳ" in _error(client, admin, f"{URL}?period={period}", 400), period
    assert "Năm học" in _error(client, admin, f"{URL}?year=2026&period={NOVEMBER}", 400)
    assert "không kết thúc trong năm học" in _error(client, admin, f"{URL}?year=2025-2026&period={NOVEMBER}", 400)
    _error(client, admin, f"{URL}?period={NOVEMBER}&unit=NOPE", 404)


def test_the_board_of_submissions(client: Any, world: dict[str, Any], province: dict[str, Any]) -> None:
    report_submissions.submit_school(world["school_admin"], world["thcs1"], NOVEMBER, now=local("15/11/2026"))
    body = _get(client, world["dept_admin"], f"{BOARD}?period={NOVEMBER}")
    assert (body["period"], body["due"], body["total"], body["page"]) == (NOVEMBER, "2026-11-20", 5, 1)
    rows = {row["code"]: row for row in body["items"]}
    assert rows["THCS01"]["submitted"] and not rows["THCS01"]["late"] and rows["THCS01"]["submission_id"]
    assert rows["THCS01"]["submitted_at"].endswith("Z")
    overdue = rows["14464"].pop("overdue")  # the real clock decides it; the board tests fix the day
    assert isinstance(overdue, bool)
    assert rows["14464"] == {"kind": "unit", "code": "14464", "name": "Xã Gia Viễn", "reports_to": DEPARTMENT,
                             "submitted": False, "submission_id": None, "submitted_at": None, "late": False}
    paged = _get(client, world["dept_admin"], f"{BOARD}?period={NOVEMBER}&per_page=2&page=3")
    assert (paged["total"], len(paged["items"])) == (5, 1)
    assert [r["code"] for r in _get(client, world["unit_officer"], f"{BOARD}?period={NOVEMBER}")["items"]] == ["THCS01"]
    _error(client, world["teacher"], f"{BOARD}?period={NOVEMBER}", 403)
    _error(client, world["dept_admin"], f"{BOARD}?period=schoolyear:2026-2027", 400)
    _error(client, world["dept_admin"], f"{BOARD}?period={NOVEMBER}&per_page=1000", 422)


def test_the_endpoints_are_in_the_openapi_document(client: Any) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"/reports/contributions", "/reports/submissions"} <= set(document["paths"])
    school = document["components"]["schemas"]["ReportSchool"]
    assert SCHOOL_KEYS <= set(school["required"])
