"""CSV imports of schools and users: all rows or none.

Rules: the file is UTF-8 (with or without BOM; Excel's "CSV UTF-8" and "Unicode text" both work);
a legacy Windows-1258/TCVN3 file is recognised and refused with advice. Every row is checked and
every bad row reported by its line number (the header is line 1); if any row is bad nothing is
imported. A row whose key (school code, user e-mail) exists updates that record; importing the same
file twice changes nothing the second time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from repository.csvfiles import read_rows, split_list
from repository.errors import DomainError, ImportRejected, ValidationError
from repository.extensions import db
from repository.models import School, User
from repository.permissions import Scope, require
from repository.services import guarded, schools, users

SCHOOL_COLUMNS = ("code", "name", "type", "unit_code")
SCHOOL_OPTIONAL = ("grades", "active")
USER_COLUMNS = ("email", "full_name")
USER_OPTIONAL = ("school_code", "unit_code", "roles", "phone", "staff_id", "subjects")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_user_ids: list[int] = field(default_factory=list)


def _parse_active(value: str) -> bool:
    return (value or "1").strip().lower() not in {"0", "false", "no", "khong", "không"}


def _check_all(rows: Iterator[tuple[int, dict[str, str]]], key_of: Callable[[dict[str, str]], str],
               check: Callable[[dict[str, str]], Any],
               across_rows: Optional[Callable[[list[tuple[int, Any]]], list[tuple[int, str]]]] = None,
               ) -> list[tuple[int, Any]]:
    """Check every row; return (line, checked value) or raise ImportRejected listing every bad row.

    `across_rows` finds the problems only visible between checked rows (a value repeated)."""
    errors: list[tuple[int, str]] = []
    checked: list[tuple[int, Any]] = []
    first_line: dict[str, int] = {}
    for number, row in rows:
        if "__error__" in row:
            errors.append((number, row["__error__"]))
            continue
        key = key_of(row)
        if key in first_line:
            errors.append((number, str(_l("Mã %(key)s lặp lại (đã có ở dòng %(line)d).", key=key,
                                          line=first_line[key]))))
            continue
        first_line[key] = number
        try:
            checked.append((number, check(row)))
        except DomainError as error:
            errors.append((number, str(error)))
    if across_rows is not None:
        errors = sorted(errors + across_rows(checked), key=lambda error: error[0])
    if errors:
        raise ImportRejected(_l("Không nhập dữ liệu nào: %(n)d dòng có lỗi.", n=len(errors)), errors)
    if not checked:
        raise ImportRejected(_l("Tệp không có dòng dữ liệu nào."), [(0, str(_l("Tệp không có dòng dữ liệu nào.")))])
    return checked


def _count(result: ImportResult, changed: list[str]) -> None:
    if not changed:
        result.unchanged += 1
    elif changed[0] == "created":
        result.created += 1
    else:
        result.updated += 1


@guarded("school.import")
def import_schools(actor: Any, data: bytes) -> ImportResult:
    """Create or update schools from CSV columns code, name, type, unit_code[, grades, active]."""
    require(actor, "school.import")

    def check(row: dict[str, str]) -> Any:
        given = schools.SchoolInput(row["code"], row["name"], row["type"], row["unit_code"],
                                    split_list(row.get("grades", "")) or None, _parse_active(row.get("active", "")))
        return schools.validate_school_input(given)

    checked = _check_all(read_rows(data, SCHOOL_COLUMNS, SCHOOL_OPTIONAL), lambda r: r.get("code", "").upper(), check)
    result = ImportResult()
    for _number, (clean, unit) in checked:
        _school, changed = schools.apply_school_input(actor, schools.school_by_code(clean.code), clean, unit)
        _count(result, changed)
    db.session.commit()
    return result


@guarded("user.import")
def import_users(actor: Any, data: bytes, *, school: Optional[School] = None) -> ImportResult:
    """Create or update accounts from CSV columns email, full_name[, school_code, unit_code, roles,
    phone, staff_id, subjects]. New accounts are pending until activated through a one-time link.

    With `school` (a school admin's import) every row belongs to that school: an empty school_code
    means it, and another code is refused.
    """
    require(actor, "user.import", Scope(school.id if school else None))

    def check(row: dict[str, str]) -> Any:
        school_code = row.get("school_code", "") or (school.code if school else "")
        if school is not None and school_code != school.code:
            raise ValidationError(_l("Chỉ được nhập người dùng của trường %(code)s.", code=school.code))
        given = users.UserInput(row["email"], row["full_name"], school_code, row.get("unit_code", ""),
                                split_list(row.get("roles", "")), row.get("phone", ""), row.get("staff_id", ""),
                                split_list(row.get("subjects", "")))
        clean = users.validate_user_input(given)
        existing = db.session.scalar(select(User).where(User.email == clean.email))
        if existing is None:
            require(actor, "user.create", Scope(clean.school.id if clean.school else None,
                                                clean.unit.id if clean.unit else None))
        else:
            require(actor, "user.update", existing)
        for grant in clean.grants:
            require(actor, "role.grant", grant)
        users.check_unique(clean, existing)
        users.check_same_school(clean, existing)
        return clean, existing

    rows = read_rows(data, USER_COLUMNS, USER_OPTIONAL)
    checked = _check_all(rows, lambda r: r.get("email", "").strip().lower(), check, _staff_id_repeats)
    result = ImportResult()
    for _number, (clean, existing) in checked:
        user, changed = users.apply_user(actor, existing, clean)
        _count(result, changed)
        if existing is None:
            result.new_user_ids.append(user.id)
    db.session.commit()
    return result


def _staff_id_repeats(checked: list[tuple[int, Any]]) -> list[tuple[int, str]]:
    """A staff id on a second row of the file (each belongs to one person)."""
    seen: dict[str, int] = {}
    errors = []
    for number, (clean, _existing) in checked:
        if clean.staff_id and clean.staff_id in seen:
            errors.append((number, str(_l("Mã định danh %(key)s lặp lại (đã có ở dòng %(line)d).",
                                          key=clean.staff_id, line=seen[clean.staff_id]))))
        elif clean.staff_id:
            seen[clean.staff_id] = number
    return errors
