"""What OAI-PMH exposes: published materials, and taken-down ones as deleted records (kept for
good: deletedRecord=persistent). Nothing else exists for a harvester.

Sets: `subject:<code>`, `grade:<code>` and `level:<code>` (the school level of the material's
grades, e.g. THCS), plus the three parents `subject`, `grade`, `level` that hold every record.
The datestamp is the material's updated_at (UTC). Every query pages by id, so a page of a
million-record harvest costs one indexed range scan.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import selectinload

from repository import curriculum
from repository.extensions import db
from repository.models import Material, MaterialStatus

EXPOSED = (MaterialStatus.PUBLISHED.value, MaterialStatus.TAKEN_DOWN.value)
DELETED = MaterialStatus.TAKEN_DOWN.value
SET_KINDS = ("subject", "grade", "level")


@dataclass(frozen=True)
class Query:
    """A selective harvest: set and datestamp range (inclusive from, exclusive until_before)."""

    set_spec: Optional[str] = None
    since: Optional[datetime] = None
    until_before: Optional[datetime] = None


def all_sets() -> list[tuple[str, str]]:
    """(setSpec, setName) of every set, parents first."""
    sets = [("subject", "Môn học"), ("grade", "Lớp / nhóm tuổi"), ("level", "Cấp học")]
    sets += [(f"subject:{s.code}", s.name) for s in curriculum.subjects()]
    sets += [(f"subject:{code}", name) for code, name in curriculum.preschool_domains().items()]
    sets += [(f"grade:{g.code}", g.name) for g in curriculum.grades()]
    sets += [(f"level:{lv.code}", lv.name) for lv in curriculum.levels()]
    return sets


def known_set(set_spec: str) -> bool:
    return set_spec in {spec for spec, _name in all_sets()}


def _has_grade(code: str) -> object:
    # grades is a JSON list of codes: its text holds "code" with the quotes, on SQLite and PostgreSQL.
    return cast(Material.grades, String).contains(f'"{code}"', autoescape=True)


def _in_set(query: Select, set_spec: str) -> Select:
    kind, _sep, code = set_spec.partition(":")
    if not code:
        return query  # a parent set holds every record
    if kind == "subject":
        return query.where(Material.subject == code)
    if kind == "grade":
        return query.where(_has_grade(code))
    level = next(lv for lv in curriculum.levels() if lv.code == code)
    return query.where(or_(*[_has_grade(g) for g in level.grades]))


def _filtered(query: Select, wanted: Query) -> Select:
    query = query.where(Material.status.in_(EXPOSED))
    if wanted.set_spec:
        query = _in_set(query, wanted.set_spec)
    if wanted.since is not None:
        query = query.where(Material.updated_at >= wanted.since)
    if wanted.until_before is not None:
        query = query.where(Material.updated_at < wanted.until_before)
    return query


def count(wanted: Query) -> int:
    return db.session.scalar(_filtered(select(func.count(Material.id)), wanted)) or 0


def page(wanted: Query, after_id: int, size: int) -> list[Material]:
    """Up to `size` records with ids above `after_id`, in id order."""
    query = _filtered(select(Material), wanted).where(Material.id > after_id).order_by(Material.id).limit(size)
    return list(db.session.scalars(query.options(selectinload(Material.files), selectinload(Material.school))))


def one(material_id: int) -> Optional[Material]:
    material = db.session.get(Material, material_id)
    return material if material is not None and material.status in EXPOSED else None


def earliest() -> Optional[datetime]:
    return db.session.scalar(select(func.min(Material.updated_at)).where(Material.status.in_(EXPOSED)))


def set_specs(material: Material) -> list[str]:
    """The sets a record belongs to (the parents included)."""
    grades = list(material.grades or [])
    # The same rule as the level filter: a level holds a record that has any of its grades.
    levels = [lv.code for lv in curriculum.levels() if set(lv.grades) & set(grades)]
    return (["subject", f"subject:{material.subject}", "grade"] + [f"grade:{g}" for g in grades]
            + ["level"] + [f"level:{lv}" for lv in levels])
