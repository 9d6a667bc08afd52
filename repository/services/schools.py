"""Administrative units and schools: creation, changes with history, merges and visibility.

A school reports to the unit its type names in data/school_types.yaml: preschools, primary and
lower-secondary schools to the commune/ward they stand in, the others to the department.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Query

from repository import curriculum
from repository.errors import NotFound, ValidationError
from repository.extensions import db
from repository.fields import clean_code, clean_text
from repository.models import AdminUnit, Role, School, SchoolEvent, UnitKind, utcnow
from repository.permissions import can, require, schools_where, units_where
from repository.services import audit, guarded, unguarded


@dataclass
class SchoolInput:
    """The editable fields of a school, as typed in a form or a CSV row."""

    code: str
    name: str
    school_type: str
    unit_code: str
    grades: Optional[list[str]] = None  # None: the grades of the school type
    active: bool = True


@unguarded("the department's own unit is public reference data; it is created on first use")
def department_unit() -> AdminUnit:
    """The department's own unit, created on first use from DEPARTMENT_UNIT_CODE/_NAME."""
    code = current_app.config["DEPARTMENT_UNIT_CODE"]
    unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == code))
    if unit is None:
        unit = AdminUnit(code=code, name=current_app.config["DEPARTMENT_NAME"], kind=UnitKind.DEPARTMENT.value)
        db.session.add(unit)
        db.session.flush()
    return unit


@unguarded("a lookup of public reference data by its official code; callers check the policy")
def unit_by_code(code: str) -> Optional[AdminUnit]:
    return db.session.scalar(select(AdminUnit).where(AdminUnit.code == code))


@unguarded("a lookup of a school by its official code; callers check the policy")
def school_by_code(code: str) -> Optional[School]:
    """School codes are stored upper-case, so "thcs01" and "THCS01" are one school."""
    return db.session.scalar(select(School).where(School.code == code.strip().upper()))


@unguarded("derives a school's grades from data the caller already holds")
def effective_grades(school: School) -> list[str]:
    """The grades or age groups a school teaches: its override, else its type's default."""
    if school.grades_override:
        return list(school.grades_override)
    return list(curriculum.school_type(school.school_type).grades)


@guarded("unit.view")
def list_units(actor: Any, *, kind: Optional[str] = None) -> list[AdminUnit]:
    require(actor, "unit.view")
    query = select(AdminUnit).order_by(AdminUnit.kind, AdminUnit.name)
    if kind:
        query = query.where(AdminUnit.kind == kind)
    return list(db.session.scalars(query))


@guarded("unit.manage")
def load_units(actor: Any, province_code: int) -> tuple[int, int]:
    """Create or update the communes/wards of a province from the vietnam-provinces package.

    Returns (created, updated). Running it again with unchanged data changes nothing.
    """
    require(actor, "unit.manage")
    from vietnam_provinces import Ward

    department_unit()
    created = updated = 0
    for ward in Ward.iter_all():
        if int(ward.province_code) != province_code:
            continue
        kind = UnitKind.WARD.value if ward.division_type.value == "phường" else UnitKind.COMMUNE.value
        code = str(int(ward.code)).zfill(5)
        unit = unit_by_code(code)
        if unit is None:
            db.session.add(AdminUnit(code=code, name=ward.name, kind=kind, province_code=province_code))
            created += 1
        elif (unit.name, unit.kind) != (ward.name, kind):
            unit.name, unit.kind = ward.name, kind
            updated += 1
    if not created and not updated:
        return 0, 0
    audit.record(actor, "unit.loaded", None, province=province_code, created=created, updated=updated)
    db.session.commit()
    return created, updated


@unguarded("pure validation of typed input; reads reference data only")
def validate_school_input(data: SchoolInput) -> tuple[SchoolInput, AdminUnit]:
    """Normalise and check a school's fields; returns the cleaned input and its commune/ward."""
    code = clean_code(data.code, "code", _l("Mã trường")).upper()
    name = clean_text(data.name, "name", _l("Tên trường")) or ""
    stype = (data.school_type or "").strip()
    if curriculum.school_type(stype) is None:
        message = _l("Loại trường không hợp lệ: %(value)s", value=stype)
        raise ValidationError(message, field_errors={"school_type": [message]})
    unit_code = (data.unit_code or "").strip()
    unit = unit_by_code(unit_code)
    if unit is None or unit.kind == UnitKind.DEPARTMENT.value:
        message = _l("Không tìm thấy xã/phường có mã %(value)s", value=unit_code)
        raise ValidationError(message, field_errors={"unit_code": [message]})
    grades = None
    if data.grades:
        bad = [g for g in data.grades if not curriculum.is_grade_code(g)]
        if bad:
            message = _l("Lớp/nhóm tuổi không hợp lệ: %(value)s", value=", ".join(bad))
            raise ValidationError(message, field_errors={"grades": [message]})
        order = [g.code for g in curriculum.grades()]
        grades = sorted(set(data.grades), key=order.index)
    return SchoolInput(code, name, stype, unit.code, grades, bool(data.active)), unit


def _reports_to(school_type: str, unit: AdminUnit) -> AdminUnit:
    if curriculum.school_type(school_type).reports_to == "SO_GDDT":
        return department_unit()
    return unit


@unguarded("building block of save_school and import_schools, which require school.manage / school.import first")
def apply_school_input(actor: Any, school: Optional[School], data: SchoolInput, unit: AdminUnit) -> tuple[School, list[str]]:
    """Create or update a school from cleaned input, writing history for identity changes.

    Returns the school and the names of the fields that changed (empty: nothing to do).
    """
    reports_to = _reports_to(data.school_type, unit)
    if school is None:
        school = School(code=data.code, name=data.name, school_type=data.school_type, unit_id=unit.id,
                        reports_to_id=reports_to.id, grades_override=data.grades, active=data.active)
        db.session.add(school)
        db.session.flush()
        db.session.add(SchoolEvent(school_id=school.id, kind="created", new_value=data.name, actor_id=actor.id))
        audit.record(actor, "school.created", school, code=school.code)
        return school, ["created"]
    wanted = {"name": data.name, "school_type": data.school_type, "unit_id": unit.id,
              "reports_to_id": reports_to.id, "grades_override": data.grades, "active": data.active}
    changed = [k for k, v in wanted.items() if getattr(school, k) != v]
    for field in changed:
        old = getattr(school, field)
        if field in ("name", "school_type", "unit_id", "active"):
            db.session.add(SchoolEvent(school_id=school.id, kind=f"{field}_changed", old_value=str(old),
                                       new_value=str(wanted[field]), actor_id=actor.id))
        setattr(school, field, wanted[field])
    if changed:
        audit.record(actor, "school.updated", school, fields=changed)
    return school, changed


@guarded("school.manage")
def save_school(actor: Any, school_id: Optional[int], data: SchoolInput) -> School:
    """Create a school (school_id None) or update one; the code of an existing school is fixed."""
    require(actor, "school.manage")
    cleaned, unit = validate_school_input(data)
    school = db.session.get(School, school_id) if school_id else None
    if school_id and school is None:
        raise NotFound(_l("Không tìm thấy trường."))
    duplicate = school_by_code(cleaned.code)
    if duplicate is not None and duplicate is not school:
        message = _l("Mã trường %(code)s đã tồn tại.", code=cleaned.code)
        raise ValidationError(message, field_errors={"code": [message]})
    if school is not None:
        cleaned.code = school.code
    school, _changed = apply_school_input(actor, school, cleaned, unit)
    db.session.commit()
    return school


@guarded("school.manage")
def merge_school(actor: Any, school: School, successor: School) -> None:
    """Merge `school` into `successor`: it becomes inactive and points to it; its rows stay."""
    require(actor, "school.manage")
    if school.id == successor.id or not successor.active:
        raise ValidationError(_l("Trường kế thừa phải là một trường khác đang hoạt động."))
    if school.successor_id is not None:
        raise ValidationError(_l("Trường này đã được sáp nhập."))
    school.active, school.successor_id, school.merged_at = False, successor.id, utcnow()
    db.session.add(SchoolEvent(school_id=school.id, kind="merged", old_value=school.code,
                               new_value=successor.code, actor_id=actor.id))
    db.session.add(SchoolEvent(school_id=successor.id, kind="absorbed", old_value=school.code,
                               new_value=successor.code, actor_id=actor.id))
    audit.record(actor, "school.merged", school, successor=successor.code)
    db.session.commit()


@unguarded("builds the query that limits the actor to the schools the policy lets them see")
def visible_schools_query(actor: Any) -> Query:
    """Schools the actor may see: all for department staff, else their schools and their units'."""
    query = select(School)
    if can(actor, "school.view_all"):
        return query
    own = schools_where(actor, *Role)
    units = units_where(actor, Role.UNIT_OFFICER)
    return query.where(or_(School.id.in_(own), School.unit_id.in_(units), School.reports_to_id.in_(units)))


@guarded("school.list")
def list_schools(actor: Any, *, text: str = "", unit_id: Optional[int] = None) -> list[School]:
    require(actor, "school.list")
    query = visible_schools_query(actor).order_by(School.name)
    if text:
        like = f"%{text.strip()}%"
        query = query.where(or_(School.name.ilike(like), School.code.ilike(like)))
    if unit_id:
        query = query.where(or_(School.unit_id == unit_id, School.reports_to_id == unit_id))
    return list(db.session.scalars(query.limit(2000)))


@guarded("school.view")
def get_school(actor: Any, school_id: int) -> School:
    school = db.session.get(School, school_id)
    if school is None:
        raise NotFound(_l("Không tìm thấy trường."))
    require(actor, "school.view", school)
    return school


@guarded("school.view")
def school_history(actor: Any, school: School) -> list[SchoolEvent]:
    require(actor, "school.view", school)
    query = select(SchoolEvent).where(SchoolEvent.school_id == school.id).order_by(SchoolEvent.id)
    return list(db.session.scalars(query))


@guarded("unit.view")
def get_unit(actor: Any, unit_id: int) -> AdminUnit:
    require(actor, "unit.view")
    unit = db.session.get(AdminUnit, unit_id)
    if unit is None:
        raise NotFound(_l("Không tìm thấy đơn vị."))
    return unit


@guarded("unit.manage")
def update_unit(actor: Any, unit: AdminUnit, *, name: str, active: bool) -> AdminUnit:
    """Rename a unit or mark it inactive; its code is the official one and does not change."""
    require(actor, "unit.manage")
    wanted = {"name": clean_text(name, "name", _l("Tên đơn vị")), "active": bool(active)}
    changed = [k for k, v in wanted.items() if getattr(unit, k) != v]
    for key in changed:
        setattr(unit, key, wanted[key])
    if changed:
        audit.record(actor, "unit.updated", unit, fields=changed)
    db.session.commit()
    return unit


@guarded("unit.view")
def school_counts_by_unit(actor: Any) -> dict[int, int]:
    """Active schools reporting to each unit, in one grouped query."""
    require(actor, "unit.view")
    query = select(School.reports_to_id, func.count()).where(School.active.is_(True)).group_by(School.reports_to_id)
    return {unit_id: count for unit_id, count in db.session.execute(query)}
