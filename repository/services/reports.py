"""Contribution reports for each role: the department sees every unit and school, a commune/ward
officer the schools that report to their unit, a school's admins and reviewers their school, a
teacher their own contributions. The department admin sets each school year's rules; a school's
admin declares its grade 10-12 electives.

Rules: the permission check comes first; year and period are resolved once (the school year
containing the period's last day unless one is named, and then the period must end inside it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from repository.errors import NotFound, ValidationError
from repository.extensions import db
from repository.models import AdminUnit, ContributionFact, Material, Role, School, SchoolElectives, User
from repository.permissions import can, require, units_where
from repository.reports import cells as cellmod
from repository.reports import figures, periods, rules as rulesmod
from repository.reports.figures import Province, Report, SchoolFigures
from repository.reports.periods import Period
from repository.reports.rules import Calendar, YearRules
from repository.services import audit, guarded, unguarded


@dataclass(frozen=True)
class When:
    """A resolved request: the year's rules, the calendar and the period with real bounds."""

    rules: YearRules
    calendar: Calendar
    period: Period


@unguarded("parses the year and period texts of a request; no data is revealed")
def resolve(year: Optional[str], period: Optional[str]) -> When:
    """The school year and period a request names; defaults: this month, its school year."""
    calendar = Calendar()
    chosen = periods.parse(period) if period else periods.current_month()
    if chosen.kind == "schoolyear" and not year:
        year = chosen.key.split(":")[1]
    first_year = rulesmod.parse_year(year) if year else None
    if chosen.kind == "schoolyear":
        chosen = calendar.resolve(chosen)
        first_year = first_year if first_year is not None else chosen.first.year
    if first_year is None:
        first_year = calendar.year_of(chosen.last)
    start, end = calendar.bounds(first_year)
    if not start <= chosen.last <= end:
        msg = _l("Kỳ %(period)s không kết thúc trong năm học %(year)s (%(start)s – %(end)s).", period=chosen.key,
                 year=periods.school_year_label(first_year), start=start.strftime("%d/%m/%Y"),
                 end=end.strftime("%d/%m/%Y"))
        raise ValidationError(msg, field_errors={"period": [msg]})
    return When(calendar.rules(first_year), calendar, chosen)


@unguarded("finds a unit by its public code; the caller checks what may be seen of it")
def unit_by_code(code: str) -> AdminUnit:
    unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == (code or "").strip()))
    if unit is None:
        raise NotFound(_l("Không có đơn vị mã “%(code)s”.", code=(code or "")[:32]))
    return unit


def _reporting_to(unit_ids: set[int]) -> set[int]:
    return set(db.session.scalars(select(School.id).where(School.reports_to_id.in_(sorted(unit_ids)))))


@guarded("report.view_all")
def default_scope(actor: Any) -> Optional[set[int]]:
    """The department: every school (None); a unit officer: the schools reporting to their units;
    a school's admin or reviewer: their school."""
    if can(actor, "report.view_all"):
        return None
    mine = units_where(actor, Role.UNIT_OFFICER) if isinstance(actor, User) else set()
    if mine:
        return _reporting_to(mine)
    schools = [s for s in _own_schools(actor) if can(actor, "report.view_school", s)]
    if not schools:
        require(actor, "report.view_all")  # raises: nothing consolidated to show
    return {s.id for s in schools}


def _own_schools(actor: Any) -> list[School]:
    ids = {a.school_id for a in getattr(actor, "roles", []) if a.school_id is not None}
    return list(db.session.scalars(select(School).where(School.id.in_(ids)))) if ids else []


@guarded("report.view_unit")
def contributions(actor: Any, year: Optional[str], period: Optional[str], unit: Optional[str] = None) -> Report:
    """The consolidated report the actor may see: one unit's schools when `unit` names one."""
    if unit:
        target = unit_by_code(unit)
        require(actor, "report.view_unit", target)
        scope = _reporting_to({target.id})
    else:
        scope = default_scope(actor)
    when = resolve(year, period)
    return figures.compute(when.rules, when.calendar, when.period, scope)


@guarded("report.view_school")
def school_report(actor: Any, school: School, year: Optional[str], period: Optional[str]) -> Report:
    """One school's report (its row, the unit it reports to, the total), for its page's files."""
    require(actor, "report.view_school", school)
    when = resolve(year, period)
    return figures.compute(when.rules, when.calendar, when.period, {school.id})


@dataclass
class Matrix:
    """A school's coverage matrix and what goes with it on its page."""

    when: When
    row: SchoolFigures
    grades: list[str]
    subjects: list[str]  # cell subjects in programme order
    teachers: list[tuple[User, int]]  # active teachers with their counted materials, most first
    gaps: list[tuple[str, str, int]]  # (grade, subject, count) below the minimum
    trend: list[tuple[date, int, int]] = field(default_factory=list)  # (month, covered, materials)

    def count(self, grade: str, subject: str) -> Optional[tuple[int, int]]:
        return self.row.cells.get((grade, subject))

    def status(self, grade: str, subject: str) -> str:
        """"met", "partial", "empty", or "none" when the cell is not required."""
        found = self.row.cells.get((grade, subject))
        if found is None:
            return "none"
        if found[0] >= self.when.rules.min_per_cell:
            return "met"
        return "partial" if found[0] else "empty"


@guarded("report.view_school")
def school_matrix(actor: Any, school: School, year: Optional[str], period: Optional[str],
                  with_trend: bool = True) -> Matrix:
    """One school's figures, cell by cell, with its teachers, gaps and monthly trend."""
    require(actor, "report.view_school", school)
    when = resolve(year, period)
    province = Province(when.rules.school_year)
    report = figures.compute(when.rules, when.calendar, when.period, {school.id}, province)
    if not report.schools:
        raise NotFound(_l("Trường này không có báo cáo riêng trong kỳ này (đã sáp nhập hoặc ngừng hoạt động)."))
    row = report.schools[0]
    win = figures.window(when.rules, when.calendar, when.period)
    feeding = figures.feeding_schools(province, school, win.end)
    grades = list(dict.fromkeys(grade for grade, _ in row.cells))
    subjects = list(dict.fromkeys(subject for _, subject in row.cells))
    matrix = Matrix(when, row, grades, subjects, _teachers(win, feeding, province, school),
                    [(g, s, n) for (g, s), (n, _) in row.cells.items() if n < when.rules.min_per_cell])
    if with_trend:
        matrix.trend = _trend(when, province, school, feeding)
    return matrix


def _teachers(win: figures.Window, feeding: set[int], province: Province, school: School) -> list[tuple[User, int]]:
    counts = figures.per_owner(win, feeding)
    ids = figures.teacher_ids(win, feeding)
    people = list(db.session.scalars(select(User).where(User.id.in_(sorted(ids))))) if ids else []
    return sorted(((u, counts.get(u.id, 0)) for u in people), key=lambda item: (-item[1], item[0].full_name))


def _trend(when: When, province: Province, school: School, feeding: set[int]) -> list[tuple[date, int, int]]:
    """Covered cells and counted materials at the end of each month of the school year so far."""
    first, last = when.calendar.bounds(when.rules.first_year)
    stop = min(last, when.period.last, periods.today())
    out = []
    for month in periods.months(first, stop):
        period = periods.parse(f"month:{month.year:04d}-{month.month:02d}")
        covered, materials = figures.covered_at(when.rules, when.calendar, province, school, period, feeding)
        out.append((month, covered, materials))
    return out


@dataclass
class OwnContribution:
    material: Material
    counted_from: Optional[date]
    counts: bool
    reason: str  # why it does not count, empty when it does


@guarded("report.view_own")
def my_contributions(actor: Any, year: Optional[str] = None) -> tuple[When, list[OwnContribution]]:
    """The actor's materials with whether and from when each counts in the school year."""
    require(actor, "report.view_own")
    when = resolve(year, f"schoolyear:{year}") if year else resolve(None, None)
    start, end = when.calendar.bounds(when.rules.first_year)
    column = "school_approved_at" if when.rules.approval == "school" else "published_at"
    facts: dict[int, list[ContributionFact]] = {}
    for fact in db.session.scalars(select(ContributionFact).where(ContributionFact.owner_id == actor.id)):
        facts.setdefault(fact.material_id, []).append(fact)
    mine = db.session.scalars(select(Material).where(Material.owner_id == actor.id).order_by(Material.created_at.desc()))
    return when, [_own(material, facts.get(material.id, []), column, start, end) for material in mine]


def _own(material: Material, facts: list[ContributionFact], column: str, start: date, end: date) -> OwnContribution:
    spans = [f for f in facts if getattr(f, column) is not None]
    if not spans:
        return OwnContribution(material, None, False, str(_l("chưa được duyệt")))
    newest = max(spans, key=lambda f: getattr(f, column))
    since = periods.local_date(getattr(newest, column))
    if newest.duplicate:
        return OwnContribution(material, since, False, str(_l("trùng tệp với học liệu của trường khác")))
    if newest.ended_at is not None:
        return OwnContribution(material, since, False, str(_l("đã thu hồi hoặc gỡ xuống")))
    if not start <= since <= end:
        return OwnContribution(material, since, False, str(_l("được duyệt ngoài năm học này")))
    return OwnContribution(material, since, True, "")


# --- the department admin's rules of a year; a school's electives -------------------------------

@guarded("report.configure")
def year_rules(actor: Any, year: str) -> YearRules:
    require(actor, "report.configure")
    return Calendar().rules(rulesmod.parse_year(year))


@guarded("report.configure")
def set_year_rules(actor: Any, year: str, values: dict[str, Any]) -> YearRules:
    """Store the year's rules (validated); the change is audited with the old and new values."""
    require(actor, "report.configure")
    first_year = rulesmod.parse_year(year)
    before = Calendar().rules(first_year)
    saved = rulesmod.store(rulesmod.check(first_year, values), getattr(actor, "id", None))
    audit.record(actor, "report.year_rules", None, year=saved.school_year, before=before.as_dict(),
                 after=saved.as_dict())
    db.session.commit()
    return saved


@guarded("report.electives")
def electives(actor: Any, school: School, year: str) -> list[str]:
    require(actor, "report.electives", school)
    row = db.session.get(SchoolElectives, (school.id, periods.school_year_label(rulesmod.parse_year(year))))
    return list(row.subjects) if row else []


@guarded("report.electives")
def set_electives(actor: Any, school: School, year: str, subjects: list[str]) -> list[str]:
    """Declare the grade 10-12 electives a school teaches in a year (codes the programme offers)."""
    require(actor, "report.electives", school)
    first_year = rulesmod.parse_year(year)
    label = periods.school_year_label(first_year)
    offered = cellmod.elective_choices(Calendar().rules(first_year).starts_on)
    wrong = [code for code in subjects if code not in offered]
    if wrong:
        msg = _l("Không phải môn lựa chọn của chương trình: %(codes)s.", codes=", ".join(wrong)[:200])
        raise ValidationError(msg, field_errors={"subjects": [msg]})
    row = db.session.get(SchoolElectives, (school.id, label)) or SchoolElectives(school_id=school.id, school_year=label)
    row.subjects, row.updated_by_id = sorted(set(subjects)), getattr(actor, "id", None)
    db.session.add(row)
    audit.record(actor, "report.electives", school, year=label, subjects=row.subjects)
    db.session.commit()
    return row.subjects


# --- where each role's report pages start (the views ask; they never test roles) ----------------

@dataclass
class Landing:
    """The actor's report home: "province" (department staff, with the units schools report to),
    "unit" (a commune/ward officer's units), "school" (the schools whose report they may see) or
    "own" (everyone else: their own contributions)."""

    kind: str
    units: list[AdminUnit] = field(default_factory=list)
    schools: list[School] = field(default_factory=list)


@guarded("report.view_own")
def landing(actor: Any) -> Landing:
    """Which report the actor sees first; the department's units are those with reporting schools."""
    require(actor, "report.view_own")
    if can(actor, "report.view_all"):
        reporting = select(School.reports_to_id).where(School.reports_to_id.is_not(None))
        units = db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(reporting)).order_by(AdminUnit.name))
        return Landing("province", list(units))
    mine = units_where(actor, Role.UNIT_OFFICER) if isinstance(actor, User) else set()
    if mine:
        units = db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(sorted(mine))).order_by(AdminUnit.name))
        return Landing("unit", list(units))
    schools = sorted((s for s in _own_schools(actor) if can(actor, "report.view_school", s)), key=lambda s: s.name)
    return Landing("school", schools=schools) if schools else Landing("own")


@guarded("report.electives")
def elective_options(actor: Any, school: School, year: str) -> list[str]:
    """The elective subject codes the school may declare for the year (the programme in force)."""
    require(actor, "report.electives", school)
    return cellmod.elective_choices(Calendar().rules(rulesmod.parse_year(year)).starts_on)
