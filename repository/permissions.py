"""The one policy module: every "may this user do this to that" question is answered here.

Services call `require(actor, action, obj)` before anything else; templates call `can(...)`.
Nothing else in the code base tests a user's roles to decide access. Every action has exactly one
rule in RULES; an unknown action is a programming error, not a refusal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from flask_babel import lazy_gettext as _l

from repository.errors import PermissionDenied
from repository.models import Role, School, User, UserStatus


@dataclass(frozen=True)
class Scope:
    """Where a new account or an import will belong: a school, a unit, or neither (department)."""

    school_id: Optional[int] = None
    unit_id: Optional[int] = None


@dataclass(frozen=True)
class Grant:
    """A role to grant or revoke, with its scope."""

    role: Role
    school_id: Optional[int] = None
    unit_id: Optional[int] = None


def schools_where(user: User, *roles: Role) -> set[int]:
    """Ids of the schools where the user holds any of `roles`."""
    codes = {r.value for r in roles}
    return {a.school_id for a in user.roles if a.role in codes and a.school_id is not None}


def units_where(user: User, *roles: Role) -> set[int]:
    """Ids of the administrative units where the user holds any of `roles`."""
    codes = {r.value for r in roles}
    return {a.unit_id for a in user.roles if a.role in codes and a.unit_id is not None}


def has_role(user: User, role: Role) -> bool:
    return role.value in user.role_codes()


def _dept_admin(user: User) -> bool:
    return has_role(user, Role.DEPT_ADMIN)


def _dept_staff(user: User) -> bool:
    return _dept_admin(user) or has_role(user, Role.DEPT_REVIEWER)


def _administers_school_of(user: User, target: User) -> bool:
    """A school admin manages accounts whose every role lies inside a school they administer."""
    mine = schools_where(user, Role.SCHOOL_ADMIN)
    if target.school_id not in mine:
        return False
    return all(a.school_id in mine for a in target.roles)


def _manage_account(user: User, target: User) -> bool:
    return _dept_admin(user) or _administers_school_of(user, target)


def _manage_other_account(user: User, target: User) -> bool:
    return user.id != target.id and _manage_account(user, target)


def _view_school(user: User, school: School) -> bool:
    if _dept_staff(user):
        return True
    if school.id in schools_where(user, *Role):
        return True
    return bool({school.unit_id, school.reports_to_id} & units_where(user, Role.UNIT_OFFICER))


def _grant_role(user: User, grant: Grant) -> bool:
    if _dept_admin(user):
        return True
    allowed = {Role.TEACHER, Role.SCHOOL_REVIEWER}
    return grant.role in allowed and grant.school_id in schools_where(user, Role.SCHOOL_ADMIN)


def _scope_of_school_admin(user: User, scope: Scope) -> bool:
    return scope.unit_id is None and scope.school_id in schools_where(user, Role.SCHOOL_ADMIN)


_EDITABLE_STATES = {"draft", "changes_requested"}


def _view_material(user: User, material: Any) -> bool:
    """Published material is for everyone signed in; before that, for its author, its school's
    staff, the officers of the school's commune/ward and the department."""
    if material.status == "published" or material.owner_id == user.id or _dept_staff(user):
        return True
    if material.school_id in schools_where(user, *Role):
        return True
    school = material.school
    return bool({school.unit_id, school.reports_to_id} & units_where(user, Role.UNIT_OFFICER))


def _edit_material(user: User, material: Any) -> bool:
    return material.owner_id == user.id and material.status in _EDITABLE_STATES


Rule = Callable[[User, Any], bool]

RULES: dict[str, Rule] = {
    "account.manage_own": lambda user, obj: True,
    "unit.view": lambda user, obj: True,
    "unit.manage": lambda user, obj: _dept_admin(user),
    "school.list": lambda user, obj: bool(user.roles),
    "school.view": _view_school,
    "school.view_all": lambda user, obj: _dept_staff(user),
    "school.manage": lambda user, obj: _dept_admin(user),
    "school.import": lambda user, obj: _dept_admin(user),
    "user.list": lambda user, obj: _dept_admin(user) or bool(schools_where(user, Role.SCHOOL_ADMIN)),
    "user.list_all": lambda user, obj: _dept_admin(user),
    "user.view": lambda user, target: user.id == target.id or _manage_account(user, target),
    "user.create": lambda user, scope: _dept_admin(user) or _scope_of_school_admin(user, scope),
    "user.update": _manage_account,
    "user.reset_password": _manage_other_account,
    "user.disable": _manage_other_account,
    "user.anonymise": _manage_other_account,
    "user.move_school": lambda user, target: _dept_admin(user),
    "user.import": lambda user, scope: _dept_admin(user) or _scope_of_school_admin(user, scope),
    "role.grant": _grant_role,
    "role.revoke": _grant_role,
    "audit.view": lambda user, obj: _dept_admin(user),
    "material.create": lambda user, obj: bool(schools_where(user, Role.TEACHER)),
    "material.view": _view_material,
    "material.edit": _edit_material,
    "material.delete": lambda user, material: material.owner_id == user.id and material.status == "draft",
    "material.list_own": lambda user, obj: True,
    "material.import": lambda user, obj: _dept_admin(user),
    "storage.check": lambda user, obj: _dept_admin(user),
    "admin.access": lambda user, obj: _dept_admin(user)
    or bool(schools_where(user, Role.SCHOOL_ADMIN)),
}


def can(user: Any, action: str, obj: Any = None) -> bool:
    """True when `user` may perform `action` on `obj`. Anonymous and inactive users may not."""
    rule = RULES[action]  # KeyError: an action without a rule is a bug, caught by the tests
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.status != UserStatus.ACTIVE.value:
        return False
    return bool(rule(user, obj))


def require(user: Any, action: str, obj: Any = None) -> None:
    """Raise PermissionDenied unless `can(user, action, obj)`."""
    if not can(user, action, obj):
        raise PermissionDenied(_l("Bạn không có quyền thực hiện thao tác này."))


@dataclass(frozen=True)
class _SystemRole:
    role: str
    school_id: Optional[int] = None
    unit_id: Optional[int] = None


class SystemActor:
    """The operator at the command line: a department administrator with no account row."""

    id = None
    status = UserStatus.ACTIVE.value
    is_authenticated = True
    is_system = True
    full_name = "CLI"

    def __init__(self) -> None:
        self.roles = [_SystemRole(Role.DEPT_ADMIN.value)]

    def role_codes(self) -> set[str]:
        return {r.role for r in self.roles}
