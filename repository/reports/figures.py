"""The contribution figures of a period: per school, per reporting unit and for the province.

Rules (issue 6): at the end of the period, a school's required cells (repository.reports.cells)
are covered when they hold at least `min_per_cell` counted materials of the school year; a
material counts from the approval the year's rules name until it is retracted, taken down,
rejected or sent back, never when it duplicates an earlier material of another school; a merged
school's contributions count for its successor once the merge has happened (the rows keep their
own school, so the history stays). "Contributed within the period" is the same count restricted
to approvals inside the period. Teachers: active accounts with the teacher role at the school.

Cost: a fixed number of queries whatever the number of schools — the aggregates are grouped in
SQL and the cells are matched in Python over the groups, not over the materials.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Optional

from sqlalchemy import and_, case, distinct, func, or_, select

from repository import curriculum
from repository.extensions import db
from repository.models import (AdminUnit, ContributionFact, Role, RoleAssignment, School, SchoolElectives, User,
                               UserStatus)
from repository.reports import cells as cellmod
from repository.reports.periods import Period, local_midnight_utc
from repository.reports.rules import Calendar, YearRules
from repository.services.schools import effective_grades


@dataclass
class SchoolFigures:
    """One school's row. `in_target` is False for schools outside the general-education target
    (preschools by default); they are shown but not counted among schools meeting it."""

    id: int
    code: str
    name: str
    school_type: str
    unit: dict[str, str]  # the commune/ward the school is in
    reports_to: dict[str, str]  # the unit it reports to
    in_target: bool
    approved_materials: int = 0
    contributed_in_period: int = 0
    covered_cells: int = 0
    required_cells: int = 0
    teachers_active: int = 0
    teachers_contributing: int = 0
    meets_target: bool = False
    merged_from: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (grade, subject) -> (year, period)

    @property
    def coverage(self) -> float:
        return self.covered_cells / self.required_cells if self.required_cells else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"school": {"code": self.code, "name": self.name, "type": self.school_type,
                           "unit": self.reports_to["code"]},
                "approved_materials": self.approved_materials, "contributed_in_period": self.contributed_in_period,
                "covered_cells": self.covered_cells, "required_cells": self.required_cells,
                "coverage": round(self.coverage, 4), "teachers_active": self.teachers_active,
                "teachers_contributing": self.teachers_contributing, "meets_target": self.meets_target,
                "in_target": self.in_target}


@dataclass
class Totals:
    """Sums over a group of schools (a reporting unit or the province)."""

    code: str
    name: str
    schools: int = 0
    schools_in_target: int = 0
    schools_meeting_target: int = 0
    approved_materials: int = 0
    contributed_in_period: int = 0
    covered_cells: int = 0
    required_cells: int = 0
    teachers_active: int = 0
    teachers_contributing: int = 0

    def add(self, row: SchoolFigures) -> None:
        self.schools += 1
        self.approved_materials += row.approved_materials
        self.contributed_in_period += row.contributed_in_period
        self.teachers_active += row.teachers_active
        self.teachers_contributing += row.teachers_contributing
        if row.in_target:
            self.schools_in_target += 1
            self.schools_meeting_target += row.meets_target
            self.covered_cells += row.covered_cells
            self.required_cells += row.required_cells

    @property
    def coverage(self) -> float:
        return self.covered_cells / self.required_cells if self.required_cells else 0.0

    @property
    def meeting_share(self) -> float:
        return self.schools_meeting_target / self.schools_in_target if self.schools_in_target else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"unit": {"code": self.code, "name": self.name}, "schools": self.schools,
                "schools_in_target": self.schools_in_target, "schools_meeting_target": self.schools_meeting_target,
                "meeting_share": round(self.meeting_share, 4), "approved_materials": self.approved_materials,
                "contributed_in_period": self.contributed_in_period, "covered_cells": self.covered_cells,
                "required_cells": self.required_cells, "coverage": round(self.coverage, 4),
                "teachers_active": self.teachers_active, "teachers_contributing": self.teachers_contributing}


@dataclass
class Report:
    """The figures of a period over a set of schools, grouped by the unit they report to."""

    rules: YearRules
    period: Period
    schools: list[SchoolFigures]
    units: list[Totals]
    total: Totals

    def as_json(self) -> dict[str, Any]:
        return {"year": self.rules.school_year, "period": self.period.key,
                "period_first": self.period.first.isoformat(), "period_last": self.period.last.isoformat(),
                "rules": self.rules.as_dict(),
                "schools": [row.as_json() for row in self.schools],
                "units": [unit.as_json() for unit in self.units],
                "total": self.total.as_json()}


@dataclass(frozen=True)
class Window:
    """The instants a report counts at: the year start, the period start, the period end."""

    year_start: datetime
    period_start: datetime
    end: datetime
    on: date  # the programme in force: the school year's first day
    approval: str


def window(rules: YearRules, calendar: Calendar, period: Period) -> Window:
    first, _last = calendar.bounds(rules.first_year)
    return Window(local_midnight_utc(first), max(period.start_utc, local_midnight_utc(first))
                  if period.kind == "schoolyear" else period.start_utc, period.end_utc, first, rules.approval)


def _counted(win: Window) -> tuple[Any, Any, Any]:
    """(counting column, counted at the end of the window, approved within the period)."""
    column = ContributionFact.school_approved_at if win.approval == "school" else ContributionFact.published_at
    alive = and_(column.is_not(None), column < win.end, ContributionFact.duplicate.is_(False),
                 or_(ContributionFact.ended_at.is_(None), ContributionFact.ended_at >= win.end))
    return column, and_(alive, column >= win.year_start), and_(alive, column >= win.period_start)


def _scoped(query: Any, column: Any, ids: Optional[set[int]]) -> Any:
    return query if ids is None else query.where(column.in_(sorted(ids)))


def cell_counts(win: Window, school_ids: Optional[set[int]]) -> list[tuple]:
    """One query: per (school, subject, grade) the facts counted in the year and approved within
    the period, and the same for materials (each material's `main` fact only, so a material
    tagged with two grades is one material)."""
    column, in_year, in_period = _counted(win)
    main = ContributionFact.main.is_(True)
    query = (select(ContributionFact.school_id, ContributionFact.subject, ContributionFact.grade,
                    func.sum(case((in_year, 1), else_=0)), func.sum(case((in_period, 1), else_=0)),
                    func.sum(case((and_(in_year, main), 1), else_=0)),
                    func.sum(case((and_(in_period, main), 1), else_=0)))
             .where(column < win.end, column >= min(win.year_start, win.period_start))
             .group_by(ContributionFact.school_id, ContributionFact.subject, ContributionFact.grade))
    return [tuple(row) for row in db.session.execute(_scoped(query, ContributionFact.school_id, school_ids))]


def _teacher_rows(win: Window) -> Any:
    """Active accounts holding the teacher role at a school, created before the period ended."""
    return (select(RoleAssignment.school_id, RoleAssignment.user_id)
            .join(User, User.id == RoleAssignment.user_id)
            .where(RoleAssignment.role == Role.TEACHER.value, User.status == UserStatus.ACTIVE.value,
                   User.created_at < win.end, RoleAssignment.school_id.is_not(None)))


def teacher_ids(win: Window, school_ids: set[int]) -> set[int]:
    """The active teachers of these schools (for one school's page)."""
    query = _teacher_rows(win).where(RoleAssignment.school_id.in_(sorted(school_ids)))
    return {user_id for _school, user_id in db.session.execute(query)}


def _teacher_counts(win: Window, school_ids: Optional[set[int]]) -> dict[int, tuple[int, int]]:
    """Per school: (active teachers, those of them with a material counted in the year) — one
    query, grouped in SQL. A contributor is matched at the school their material counts for."""
    _column, in_year, _ = _counted(win)
    teachers = _scoped(_teacher_rows(win), RoleAssignment.school_id, school_ids).subquery()
    authors = (select(ContributionFact.school_id, ContributionFact.owner_id).where(in_year)
               .group_by(ContributionFact.school_id, ContributionFact.owner_id))
    authors = _scoped(authors, ContributionFact.school_id, school_ids).subquery()
    query = (select(teachers.c.school_id, func.count(distinct(teachers.c.user_id)), func.count(distinct(authors.c.owner_id)))
             .outerjoin(authors, and_(authors.c.school_id == teachers.c.school_id,
                                      authors.c.owner_id == teachers.c.user_id))
             .group_by(teachers.c.school_id))
    return {row[0]: (row[1], row[2]) for row in db.session.execute(query)}


class Province:
    """Schools, units and electives as they stand, loaded once per report (three queries)."""

    def __init__(self, school_year: str) -> None:
        self.schools = {s.id: s for s in db.session.scalars(select(School))}
        self.units = {u.id: u for u in db.session.scalars(select(AdminUnit))}
        self.electives = {row.school_id: list(row.subjects or []) for row in db.session.scalars(
            select(SchoolElectives).where(SchoolElectives.school_year == school_year))}
        self._reporting: dict[tuple[int, datetime], int] = {}

    def reporting_school(self, school_id: int, end: datetime) -> int:
        """The school a school's figures count for at `end`: its successor once merged."""
        key = (school_id, end)
        if key not in self._reporting:
            self._reporting[key] = self._follow(school_id, end)
        return self._reporting[key]

    def _follow(self, school_id: int, end: datetime) -> int:
        seen = set()
        school = self.schools[school_id]
        while school.successor_id and school.merged_at and school.merged_at < end and school.id not in seen:
            seen.add(school.id)
            school = self.schools[school.successor_id]
        return school.id

    def shown(self, school: School, end: datetime) -> bool:
        """A school has its own row unless it was merged before `end` or closed."""
        return self.reporting_school(school.id, end) == school.id and (school.active or school.successor_id is not None)

    def unit_json(self, unit_id: int) -> dict[str, str]:
        unit = self.units.get(unit_id)
        return {"code": unit.code, "name": unit.name} if unit else {"code": "", "name": ""}

    def in_target(self, school: School, rules: YearRules) -> bool:
        kind = curriculum.school_type(school.school_type)
        if kind is None:
            return False
        return kind.general_education or (rules.preschool_in_target and "MAM_NON" in kind.levels)


def _blank(province: Province, school: School, rules: YearRules, win: Window) -> SchoolFigures:
    row = SchoolFigures(school.id, school.code, school.name, school.school_type, province.unit_json(school.unit_id),
                        province.unit_json(school.reports_to_id), province.in_target(school, rules))
    required = cellmod.required_cells(effective_grades(school), win.on, province.electives.get(school.id, ()))
    row.cells = {(c.grade, c.subject): (0, 0) for c in required}
    row.required_cells = len(row.cells)
    return row


def _fill_cells(rows: dict[int, SchoolFigures], counts: Iterable[tuple], province: Province, win: Window) -> None:
    for school_id, subject, grade, in_year, in_period, materials_year, materials_period in counts:
        row = rows.get(province.reporting_school(school_id, win.end))
        if row is None:
            continue
        row.approved_materials += int(materials_year or 0)
        row.contributed_in_period += int(materials_period or 0)
        cell = cellmod.cell_of(subject, grade, win.on)
        if cell is None or (grade, cell) not in row.cells:
            continue
        year_n, period_n = row.cells[(grade, cell)]
        row.cells[(grade, cell)] = (year_n + int(in_year or 0), period_n + int(in_period or 0))


def _judge(row: SchoolFigures, rules: YearRules) -> None:
    row.covered_cells = sum(1 for year_n, _ in row.cells.values() if year_n >= rules.min_per_cell)
    ok = row.required_cells > 0 and row.coverage >= rules.target_share - 1e-9
    if ok and rules.min_per_teacher is not None:
        ok = row.teachers_active > 0 and row.approved_materials / row.teachers_active >= rules.min_per_teacher
    if ok and rules.min_per_subject is not None:
        per_subject: dict[str, int] = defaultdict(int)
        for (_grade, subject), (year_n, _) in row.cells.items():
            per_subject[subject] += year_n
        ok = all(n >= rules.min_per_subject for n in per_subject.values())
    row.meets_target = ok


def compute(rules: YearRules, calendar: Calendar, period: Period, school_ids: Optional[set[int]] = None,
            province: Optional[Province] = None) -> Report:
    """The report of `period` over `school_ids` (None: every active school), in six queries."""
    win = window(rules, calendar, period)
    province = province or Province(rules.school_year)
    shown = [s for s in province.schools.values() if province.shown(s, win.end)
             and (school_ids is None or s.id in school_ids)]
    rows = {s.id: _blank(province, s, rules, win) for s in shown}
    feeding = {sid for sid in province.schools if province.reporting_school(sid, win.end) in rows}
    for sid in feeding - set(rows):
        rows[province.reporting_school(sid, win.end)].merged_from.append(province.schools[sid].code)
    ids = None if school_ids is None else feeding
    _fill_cells(rows, cell_counts(win, ids), province, win)
    _fill_people(rows, province, win, ids)
    for row in rows.values():
        _judge(row, rules)
    return _group(rules, period, rows, province)


def _fill_people(rows: dict[int, SchoolFigures], province: Province, win: Window, ids: Optional[set[int]]) -> None:
    for school_id, (active, contributing) in _teacher_counts(win, ids).items():
        row = rows.get(province.reporting_school(school_id, win.end))
        if row is not None:
            row.teachers_active += active
            row.teachers_contributing += contributing


def _group(rules: YearRules, period: Period, rows: dict[int, SchoolFigures], province: Province) -> Report:
    units: dict[int, Totals] = {}
    total = Totals("", "Toàn tỉnh")
    for row in sorted(rows.values(), key=lambda r: (r.reports_to["name"], r.name, r.code)):
        school = province.schools[row.id]
        unit = units.setdefault(school.reports_to_id, Totals(row.reports_to["code"], row.reports_to["name"]))
        unit.add(row)
        total.add(row)
    ordered = sorted(rows.values(), key=lambda r: (r.reports_to["name"], r.name, r.code))
    return Report(rules, period, ordered, sorted(units.values(), key=lambda u: u.name), total)


def ranking(report: Report) -> list[SchoolFigures]:
    """Schools in the target, best coverage first (ties: more materials, then name)."""
    return sorted((r for r in report.schools if r.in_target),
                  key=lambda r: (-r.coverage, -r.approved_materials, r.name))


def behind(report: Report) -> list[SchoolFigures]:
    """Schools in the target that do not meet it, furthest behind first."""
    return [r for r in reversed(ranking(report)) if not r.meets_target]


def per_owner(win: Window, school_ids: set[int]) -> dict[int, int]:
    """Counted materials of the school year per author, over these schools (one query)."""
    _column, in_year, _ = _counted(win)
    query = (select(ContributionFact.owner_id, func.count(distinct(ContributionFact.material_id)))
             .where(in_year, ContributionFact.school_id.in_(sorted(school_ids)))
             .group_by(ContributionFact.owner_id))
    return {owner: n for owner, n in db.session.execute(query)}


def covered_at(rules: YearRules, calendar: Calendar, province: Province, school: School, period: Period,
               feeding: set[int]) -> tuple[int, int]:
    """(covered cells, counted materials) of one school at the end of `period`, in one query."""
    win = window(rules, calendar, period)
    rows = {school.id: _blank(province, school, rules, win)}
    _fill_cells(rows, cell_counts(win, feeding), province, win)
    _judge(rows[school.id], rules)
    return rows[school.id].covered_cells, rows[school.id].approved_materials


def feeding_schools(province: Province, school: School, end: datetime) -> set[int]:
    """The school and every school merged into it before `end`."""
    return {sid for sid in province.schools if province.reporting_school(sid, end) == school.id}
