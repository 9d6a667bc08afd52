"""Accounts managed by administrators: creation, changes, roles, moves, disabling, anonymising.

One person, one account: the e-mail is unique and is the key for imports. An account created by an
administrator or an import is pending until its owner sets a password through a one-time link.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select

from repository import credentials, curriculum
from repository.errors import NotFound, ValidationError
from repository.extensions import db
from repository.fields import clean_email, clean_name, clean_phone, clean_staff_id
from repository.models import (
    AccountToken,
    AdminUnit,
    PasswordHistory,
    Role,
    RoleAssignment,
    School,
    UnitKind,
    User,
    UserSchoolMove,
    UserStatus,
)
from repository.permissions import Grant, Scope, can, require, schools_where
from repository.services import audit, guarded, unguarded
from repository.services.schools import department_unit, school_by_code, unit_by_code


@dataclass
class UserInput:
    """An account's editable fields, as typed in a form, a CSV row or a CLI call."""

    email: str
    full_name: str
    school_code: str = ""
    unit_code: str = ""
    roles: list[str] = field(default_factory=lambda: [Role.TEACHER.value])
    phone: str = ""
    staff_id: str = ""
    subjects: list[str] = field(default_factory=list)


@dataclass
class CleanUser:
    email: str
    full_name: str
    phone: Optional[str]
    staff_id: Optional[str]
    school: Optional[School]
    unit: Optional[AdminUnit]
    grants: list[Grant]
    subjects: list[str]


def _invalid(field_name: str, message: Any) -> ValidationError:
    return ValidationError(message, field_errors={field_name: [message]})


def _parse_roles(codes: list[str]) -> list[Role]:
    roles = []
    for code in codes or [Role.TEACHER.value]:
        try:
            roles.append(Role(code.strip()))
        except ValueError:
            raise _invalid("roles", _l("Vai trò không hợp lệ: %(value)s", value=code)) from None
    return roles


def _grants(roles: list[Role], school: Optional[School], unit: Optional[AdminUnit]) -> list[Grant]:
    """Scope each role: school roles to the school, unit officers to the commune/ward, others to the department."""
    grants = []
    for role in roles:
        if role.school_scoped:
            if school is None:
                raise _invalid("school_code", _l("Vai trò %(role)s cần mã trường.", role=role.value))
            grants.append(Grant(role, school_id=school.id))
        elif role == Role.UNIT_OFFICER:
            if unit is None or unit.kind == UnitKind.DEPARTMENT.value:
                raise _invalid("unit_code", _l("Vai trò unit_officer cần mã xã/phường."))
            grants.append(Grant(role, unit_id=unit.id))
        else:
            grants.append(Grant(role, unit_id=department_unit().id))
    return grants


@unguarded("pure validation of typed input; reads reference data only")
def validate_user_input(data: UserInput) -> CleanUser:
    """Normalise and check every field; raises ValidationError naming the first bad one."""
    email = clean_email(data.email)
    name = clean_name(data.full_name)
    school = unit = None
    if (data.school_code or "").strip():
        school = school_by_code(data.school_code.strip())
        if school is None:
            raise _invalid("school_code", _l("Không tìm thấy trường có mã %(value)s", value=data.school_code))
        if not school.active:
            raise _invalid("school_code", _l("Trường %(value)s đã ngừng hoạt động.", value=data.school_code))
    if (data.unit_code or "").strip():
        unit = unit_by_code(data.unit_code.strip())
        if unit is None:
            raise _invalid("unit_code", _l("Không tìm thấy đơn vị có mã %(value)s", value=data.unit_code))
    roles = _parse_roles(data.roles)
    subjects = []
    for name_or_code in data.subjects or []:
        code = curriculum.resolve_subject(name_or_code)
        if code is None:
            raise _invalid("subjects", _l("Môn học không hợp lệ: %(value)s", value=name_or_code))
        subjects.append(code)
    return CleanUser(email, name, clean_phone(data.phone), clean_staff_id(data.staff_id), school, unit,
                     _grants(roles, school, unit), sorted(set(subjects)))


@unguarded("pure check of typed input against an existing account; callers check the policy")
def check_same_school(clean: CleanUser, existing: Optional[User]) -> None:
    """An update (form or import) never changes a person's school: that is a recorded move."""
    if existing is None or clean.school is None or existing.school_id in (None, clean.school.id):
        return
    raise _invalid("school_code", _l("%(email)s đang thuộc trường khác; hãy dùng chức năng chuyển trường.",
                                     email=existing.email))


@unguarded("a uniqueness check used by create_user, update_user and import_users after their policy checks")
def check_unique(clean: CleanUser, existing: Optional[User]) -> None:
    """E-mail and staff id belong to one account each."""
    other = db.session.scalar(select(User).where(User.email == clean.email))
    if other is not None and other is not existing:
        raise _invalid("email", _l("E-mail %(value)s đã được dùng cho tài khoản khác.", value=clean.email))
    if clean.staff_id:
        other = db.session.scalar(select(User).where(User.staff_id == clean.staff_id))
        if other is not None and other is not existing:
            raise _invalid("staff_id", _l("Mã định danh %(value)s đã được dùng.", value=clean.staff_id))


def _refuse_anonymised(target: User) -> None:
    """An anonymised account is a placeholder that keeps its school's credit: nothing about it changes."""
    if target.status == UserStatus.ANONYMISED.value:
        raise ValidationError(_l("Tài khoản đã được ẩn danh, không thể thay đổi."))


def _ensure_grant(user: User, grant: Grant, subjects: list[str]) -> bool:
    for held in user.roles:
        if (held.role, held.school_id, held.unit_id) == (grant.role.value, grant.school_id, grant.unit_id):
            if subjects and sorted(held.subjects or []) != subjects:
                held.subjects = subjects
                return True
            return False
    user.roles.append(RoleAssignment(role=grant.role.value, school_id=grant.school_id,
                                     unit_id=grant.unit_id, subjects=subjects, levels=[]))
    return True


@unguarded("building block of create_user and import_users, which require user.create / user.update first; it requires role.grant itself")
def apply_user(actor: Any, user: Optional[User], clean: CleanUser) -> tuple[User, list[str]]:
    """Create or update an account from checked input. Returns the user and the changed fields."""
    for grant in clean.grants:
        require(actor, "role.grant", grant)
    unit_id = clean.unit.id if clean.unit else None
    school_id = clean.school.id if clean.school else None
    if user is None:
        user = User(email=clean.email, full_name=clean.full_name, phone=clean.phone, staff_id=clean.staff_id,
                    school_id=school_id, unit_id=unit_id, status=UserStatus.PENDING.value,
                    must_change_password=True, session_token=secrets.token_hex(16))
        db.session.add(user)
        changed = ["created"]
    else:
        _refuse_anonymised(user)
        wanted = {"full_name": clean.full_name, "phone": clean.phone, "staff_id": clean.staff_id,
                  "school_id": school_id or user.school_id, "unit_id": unit_id or user.unit_id}
        changed = [k for k, v in wanted.items() if getattr(user, k) != v]
        for key in changed:
            setattr(user, key, wanted[key])
    for grant in clean.grants:
        reviewer = grant.role in (Role.SCHOOL_REVIEWER, Role.DEPT_REVIEWER)
        if _ensure_grant(user, grant, clean.subjects if reviewer else []):
            changed.append(f"role:{grant.role.value}")
    db.session.flush()
    if changed:
        audit.record(actor, "user.created" if changed[0] == "created" else "user.updated", user, fields=changed)
    return user, changed


@guarded("user.create")
def create_user(actor: Any, data: UserInput, *, password: Optional[str] = None) -> tuple[User, Optional[str]]:
    """Create an account. With `password` it is active at once; otherwise returns an activation link."""
    clean = validate_user_input(data)
    require(actor, "user.create", Scope(clean.school.id if clean.school else None, clean.unit.id if clean.unit else None))
    check_unique(clean, None)
    user, _changed = apply_user(actor, None, clean)
    link = None
    if password is not None:
        credentials.set_password(user, password)
    else:
        link = credentials.token_link(credentials.issue_token(user, credentials.PURPOSE_ACTIVATE), credentials.PURPOSE_ACTIVATE)
    db.session.commit()
    return user, link


@guarded("user.update")
def update_user(actor: Any, target: User, *, full_name: str, phone: str = "", staff_id: str = "") -> User:
    """Change a person's name, phone and staff id."""
    require(actor, "user.update", target)
    _refuse_anonymised(target)
    clean = CleanUser(target.email, clean_name(full_name), clean_phone(phone), clean_staff_id(staff_id),
                      None, None, [], [])
    check_unique(clean, target)
    changed = [k for k in ("full_name", "phone", "staff_id") if getattr(target, k) != getattr(clean, k)]
    for key in changed:
        setattr(target, key, getattr(clean, key))
    if changed:
        audit.record(actor, "user.updated", target, fields=changed)
    db.session.commit()
    return target


@guarded("role.grant")
def grant_role(actor: Any, target: User, grant: Grant, *, subjects: list[str] = (), levels: list[str] = ()) -> None:
    """Give `target` a role in a scope, with the subjects/levels a reviewer covers."""
    require(actor, "role.grant", grant)
    require(actor, "user.update", target)
    _refuse_anonymised(target)
    codes = [curriculum.resolve_subject(s) for s in subjects]
    if None in codes:
        raise _invalid("subjects", _l("Môn học không hợp lệ."))
    if any(level not in {lv.code for lv in curriculum.levels()} for level in levels):
        raise _invalid("levels", _l("Cấp học không hợp lệ."))
    if grant.role.school_scoped and target.school_id != grant.school_id:
        raise _invalid("role", _l("Vai trò ở trường chỉ cấp cho người thuộc trường đó."))
    _ensure_grant(target, grant, sorted(set(codes)))  # type: ignore[arg-type]
    for held in target.roles:
        if (held.role, held.school_id, held.unit_id) == (grant.role.value, grant.school_id, grant.unit_id):
            held.subjects, held.levels = sorted(set(codes)), sorted(set(levels))  # type: ignore[arg-type]
    audit.record(actor, "role.granted", target, role=grant.role.value, subjects=codes, levels=list(levels))
    db.session.commit()


@guarded("role.revoke")
def revoke_role(actor: Any, target: User, assignment_id: int) -> None:
    assignment = next((a for a in target.roles if a.id == assignment_id), None)
    if assignment is None:
        raise NotFound(_l("Không tìm thấy vai trò."))
    require(actor, "role.revoke", Grant(Role(assignment.role), assignment.school_id, assignment.unit_id))
    require(actor, "user.update", target)
    target.roles.remove(assignment)
    audit.record(actor, "role.revoked", target, role=assignment.role)
    db.session.commit()


@guarded("user.move_school")
def move_user(actor: Any, target: User, school: School) -> None:
    """Move a person to another school as a teacher there; their roles at the old school end
    (a principal who moves is not principal of the new school) and the move is kept in history."""
    require(actor, "user.move_school", target)
    _refuse_anonymised(target)
    if not school.active:
        raise _invalid("school_code", _l("Trường %(value)s đã ngừng hoạt động.", value=school.code))
    if target.school_id == school.id:
        raise _invalid("school_code", _l("Người dùng đã thuộc trường này."))
    old_school_id = target.school_id
    for held in list(target.roles):
        if held.school_id == old_school_id and held.school_id is not None:
            target.roles.remove(held)
    db.session.flush()
    target.roles.append(RoleAssignment(role=Role.TEACHER.value, school_id=school.id, subjects=[], levels=[]))
    target.school_id = school.id
    db.session.add(UserSchoolMove(user_id=target.id, from_school_id=old_school_id, to_school_id=school.id,
                                  actor_id=actor.id))
    audit.record(actor, "user.moved", target, from_school=old_school_id, to_school=school.id)
    db.session.commit()


@guarded("user.disable")
def set_disabled(actor: Any, target: User, disabled: bool) -> None:
    require(actor, "user.disable", target)
    _refuse_anonymised(target)
    if disabled:
        target.status = UserStatus.DISABLED.value
        target.session_token = secrets.token_hex(16)
    else:
        target.status = UserStatus.ACTIVE.value if target.password_hash else UserStatus.PENDING.value
    audit.record(actor, "user.disabled" if disabled else "user.enabled", target)
    db.session.commit()


@guarded("user.anonymise")
def anonymise_user(actor: Any, target: User) -> None:
    """Erase a departed person's data; the account row stays so their school keeps its credit."""
    require(actor, "user.anonymise", target)
    _refuse_anonymised(target)
    target.email = f"anonymised-{target.id}@invalid"
    target.full_name = f"Người dùng đã ẩn danh #{target.id}"
    target.phone = target.staff_id = target.password_hash = None
    target.status = UserStatus.ANONYMISED.value
    target.session_token = secrets.token_hex(16)
    target.roles.clear()
    db.session.execute(delete(PasswordHistory).where(PasswordHistory.user_id == target.id))
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == target.id))
    audit.record(actor, "user.anonymised", target)
    db.session.commit()


@guarded("user.list")
def list_users(actor: Any, *, text: str = "", school_id: Optional[int] = None, limit: int = 500) -> list[User]:
    """Accounts the actor manages: all for the department admin, their schools' for a school admin."""
    require(actor, "user.list")
    query = select(User).order_by(User.full_name)
    if not can(actor, "user.list_all"):
        query = query.where(User.school_id.in_(schools_where(actor, Role.SCHOOL_ADMIN)))
    if school_id:
        query = query.where(User.school_id == school_id)
    if text:
        like = f"%{text.strip()}%"
        query = query.where(or_(User.full_name.ilike(like), User.email.ilike(like)))
    return list(db.session.scalars(query.limit(limit)))


@guarded("user.view")
def get_user(actor: Any, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("Không tìm thấy người dùng."))
    require(actor, "user.view", user)
    return user


@guarded("user.reset_password")
def activation_links(actor: Any, user_ids: list[int]) -> list[tuple[User, str]]:
    """Fresh one-time activation links for the pending accounts among `user_ids` (earlier links die)."""
    links = []
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        if user is None or user.status != UserStatus.PENDING.value:
            continue
        require(actor, "user.reset_password", user)
        raw = credentials.issue_token(user, credentials.PURPOSE_ACTIVATE)
        links.append((user, credentials.token_link(raw, credentials.PURPOSE_ACTIVATE)))
    if links:
        audit.record(actor, "user.activation_links", None, count=len(links))
        db.session.commit()
    return links
