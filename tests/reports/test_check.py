"""`flask --app app check` covers the report facts: drift is reported, --repair recomputes it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from repository.extensions import db
from repository.models import ContributionFact
from tests.repository.review_support import published


def _check(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["check", *args])


def test_check_reports_stale_report_facts_and_repair_recomputes_them(app: Any, world: dict[str, Any],
                                                                     tmp_path: Any) -> None:
    material = published(world, tmp_path)
    assert _check(app).exit_code == 0
    expected = [tuple(row) for row in db.session.execute(
        select(ContributionFact.grade, ContributionFact.school_approved_at, ContributionFact.published_at)
        .where(ContributionFact.material_id == material.id))]
    assert expected  # a published material counts
    db.session.execute(delete(ContributionFact).where(ContributionFact.material_id == material.id))
    db.session.commit()
    stale = _check(app)
    assert stale.exit_code == 1 and f"report_facts_stale: {material.id}" in stale.output
    repaired = _check(app, "--repair")
    assert "đã sửa dữ liệu báo cáo: 1 học liệu" in repaired.output
    assert _check(app).exit_code == 0
    assert [tuple(row) for row in db.session.execute(
        select(ContributionFact.grade, ContributionFact.school_approved_at, ContributionFact.published_at)
        .where(ContributionFact.material_id == material.id))] == expected


def test_materials_added_without_the_services_get_their_facts_at_commit(world: dict[str, Any]) -> None:
    """The session hook sees rows flushed by the commit itself, not only earlier flushes."""
    from tests.search.materials import add_material

    made = [add_material(world["teacher"], f"Bài {n}", commit=False, grades=("8", "9")) for n in range(3)]
    db.session.commit()
    rows = db.session.execute(select(ContributionFact.material_id, ContributionFact.grade)).all()
    assert sorted(rows) == sorted((m.id, g) for m in made for g in ("8", "9"))
