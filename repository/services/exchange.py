"""Sector data exchange: schools and accounts out to CSV/XLSX and back in (the same columns as the
CSV imports, so a department round-trips its lists through Excel), and the material catalogue
(metadata, not files) out as JSON Lines or CSV in the bulk-import format plus stable identifiers.

Rules: an export holds only what the actor may list; importing an unchanged export changes
nothing (the imports are all-or-nothing and keyed by school code / e-mail); anonymised accounts
are not exported (their rows exist only to keep a school's credit).
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator, Optional
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from repository import spreadsheets
from repository.csvfiles import MAX_ROWS
from repository.extensions import db
from repository.models import DEPARTMENT_ROLES, Material, Role, School, User, UserStatus
from repository.permissions import Scope, require
from repository.services import guarded, imports, unguarded, users

SCHOOL_HEADER = imports.SCHOOL_COLUMNS + imports.SCHOOL_OPTIONAL
USER_HEADER = imports.USER_COLUMNS + imports.USER_OPTIONAL
CATALOGUE_HEADER = ("identifier", "uid", "title", "subject", "grades", "school", "owner", "file", "description",
                    "topic", "type", "series", "licence", "language", "status", "created_at")
FORMATS = ("csv", "xlsx")
_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _table(header: tuple[str, ...], rows: Iterator[list[Any]], fmt: str) -> bytes:
    if fmt == "xlsx":
        return spreadsheets.to_xlsx(header, rows)
    return spreadsheets.to_csv(header, rows)


def _school_row(school: School) -> list[Any]:
    return [school.code, school.name, school.school_type, school.unit.code,
            "|".join(school.grades_override or []), "1" if school.active else "0"]


@guarded("school.import")
def export_schools(actor: Any, fmt: str = "csv") -> bytes:
    """Every school, in the columns of the school import."""
    require(actor, "school.import")
    query = select(School).options(selectinload(School.unit)).order_by(School.code)
    return _table(SCHOOL_HEADER, (_school_row(s) for s in db.session.scalars(query)), fmt)


def _user_roles(user: User) -> tuple[list[str], list[str]]:
    """The roles a row can carry (those at the account's own school or unit, and the department's)
    and the reviewer subjects."""
    roles, subjects = [], set()
    for held in user.roles:
        school_role = Role(held.role).school_scoped and held.school_id == user.school_id
        unit_role = held.role == Role.UNIT_OFFICER.value and held.unit_id == user.unit_id
        if school_role or unit_role or Role(held.role) in DEPARTMENT_ROLES:
            roles.append(held.role)
            subjects.update(held.subjects or [])
    return sorted(set(roles)), sorted(subjects)


def _user_row(user: User) -> list[Any]:
    roles, subjects = _user_roles(user)
    return [user.email, user.full_name, user.school.code if user.school else "", user.unit.code if user.unit else "",
            "|".join(roles), user.phone or "", user.staff_id or "", "|".join(subjects)]


@guarded("user.list")
def export_users(actor: Any, fmt: str = "csv") -> bytes:
    """The accounts the actor manages, in the columns of the account import."""
    require(actor, "user.list")
    found = users.list_users(actor, limit=MAX_ROWS)
    rows = (_user_row(u) for u in found if u.status != UserStatus.ANONYMISED.value)
    return _table(USER_HEADER, rows, fmt)


@guarded("school.import")
def import_schools_file(actor: Any, data: bytes, filename: str = "") -> imports.ImportResult:
    """The school import, from CSV or XLSX."""
    require(actor, "school.import")
    return imports.import_schools(actor, spreadsheets.normalised_csv(data, filename))


@guarded("user.import")
def import_users_file(actor: Any, data: bytes, filename: str = "", *,
                      school: Optional[School] = None) -> imports.ImportResult:
    """The account import, from CSV or XLSX."""
    require(actor, "user.import", Scope(school.id if school else None))
    return imports.import_users(actor, spreadsheets.normalised_csv(data, filename), school=school)


@unguarded("names the deployment; public information")
def repository_namespace() -> str:
    """The namespace of this deployment's stable identifiers: BASE_URL's host name."""
    host = current_app.config["BASE_URL"].split("//")[-1].split("/")[0].split(":")[0]
    return re.sub(r"[^A-Za-z0-9.\-]", "", host) or "localhost"


@unguarded("formats an identifier; public information")
def stable_identifier(material_id: int) -> str:
    """A material's identifier across deployments, exports and OAI-PMH: oai:<host>:<id>."""
    return f"oai:{repository_namespace()}:{material_id}"


def _catalogue_entry(material: Material) -> dict[str, Any]:
    current = material.current_files
    created = material.created_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(_LOCAL).replace(tzinfo=None)
    return {
        # `identifier` names the material in this deployment (OAI-PMH); `uid` travels with it to others.
        "identifier": stable_identifier(material.id), "uid": material.uid, "title": material.title,
        "subject": material.subject,
        "grades": list(material.grades or []), "school": material.school.code, "owner": material.owner.email,
        # Where the file would be in an export that also carries the files (files/<id>/<name>).
        "file": f"files/{material.id}/{current[0].original_name}" if current else "",
        "description": material.description or "", "topic": material.topic or "", "type": material.material_type,
        "series": material.series or "", "licence": material.licence, "language": material.language,
        "status": material.status, "created_at": created.replace(microsecond=0).isoformat(),
    }


def _catalogue(batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every material in id order, read in batches so a large catalogue never sits in memory."""
    last = 0
    while True:
        query = (select(Material).where(Material.id > last).order_by(Material.id).limit(batch)
                 .options(selectinload(Material.files), selectinload(Material.school), selectinload(Material.owner)))
        found = list(db.session.scalars(query))
        if not found:
            return
        for material in found:
            yield _catalogue_entry(material)
            db.session.expunge(material)  # with its files: the session stays small
        last = found[-1].id


@guarded("material.export")
def export_catalogue(actor: Any, fmt: str = "jsonl") -> Iterator[bytes]:
    """The catalogue's metadata as JSON Lines (the bulk-import format with each material's `uid`, plus
    `identifier`) or CSV (the same keys as columns, grades separated by '|'), yielded in chunks.
    Importing the JSON Lines export where the materials already are skips them by uid."""
    require(actor, "material.export")
    current_app.logger.info("catalogue export (%s)", fmt)
    if fmt == "jsonl":
        return (json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n" for entry in _catalogue())
    return _catalogue_csv()


def _catalogue_csv() -> Iterator[bytes]:
    yield spreadsheets.to_csv(CATALOGUE_HEADER, [])
    for entry in _catalogue():
        row = [("|".join(entry[k]) if k == "grades" else entry[k]) for k in CATALOGUE_HEADER]
        yield spreadsheets.csv_lines([row])
