"""The one policy module: every "may this user do this to that" question is answered here.

Services call `require(actor, action, obj)` before anything else; templates call `can(...)`.
Nothing else in the code base tests a user's roles to decide access. Every action has exactly one
rule in RULES; an unknown action is a programming error, not a refusal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from repository import curriculum
from repository.errors import AuthenticationFailed, PermissionDenied
from repository.models import Role, School, User, UserStatus
from search.engine import Visibility


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


def _view_school_report(user: User, school: School) -> bool:
    """A school's report: its admins and reviewers, the unit it reports to, the department."""
    if _dept_staff(user) or school.reports_to_id in units_where(user, Role.UNIT_OFFICER):
        return True
    return school.id in schools_where(user, Role.SCHOOL_ADMIN, Role.SCHOOL_REVIEWER)


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


def _operator(user: Any) -> bool:
    """The command-line operator (SystemActor), not any account."""
    return bool(getattr(user, "is_system", False))


# --- review workflow (issue 5): who may take each step; repository/workflow.py says when ---

def _covers(assignment: Any, material: Any) -> bool:
    """A reviewer assignment covers a material when its subjects and levels (empty: all) match."""
    if assignment.subjects and material.subject not in assignment.subjects:
        return False
    if not assignment.levels:
        return True
    from repository import curriculum

    levels = {g.code: g.level for g in curriculum.grades()}
    return bool({levels.get(code) for code in material.grades or []} & set(assignment.levels))


def _not_own(user: User, material: Any) -> bool:
    """Nobody decides on their own material."""
    return material is not None and material.owner_id != user.id


def _school_decider(user: User, material: Any) -> bool:
    """The school step: the school's admin, or its reviewer assigned to the subject/level."""
    if not _not_own(user, material):
        return False
    if _dept_admin(user) or material.school_id in schools_where(user, Role.SCHOOL_ADMIN):
        return True
    return any(a.role == Role.SCHOOL_REVIEWER.value and a.school_id == material.school_id and _covers(a, material)
               for a in user.roles)


def _dept_decider(user: User, material: Any) -> bool:
    """The department step: a department reviewer assigned to the subject/level, or the admin."""
    if not _not_own(user, material):
        return False
    return _dept_admin(user) or any(a.role == Role.DEPT_REVIEWER.value and _covers(a, material)
                                    for a in user.roles)


def _decider(user: User, material: Any) -> bool:
    """Whoever decides the material's current step: the school step while it is submitted, the
    department step once school-approved; in any other state either (the workflow answers 409)."""
    from repository.workflow import state_of

    state = state_of(material)
    if state == "submitted":
        return _school_decider(user, material)
    if state == "school_approved":
        return _dept_decider(user, material)
    return _school_decider(user, material) or _dept_decider(user, material)


def _reviewer(user: User, obj: Any = None) -> bool:
    codes = user.role_codes()
    return bool(codes & {Role.SCHOOL_REVIEWER.value, Role.SCHOOL_ADMIN.value, Role.DEPT_REVIEWER.value,
                         Role.DEPT_ADMIN.value})


def _retracter(user: User, material: Any) -> bool:
    return material.owner_id == user.id or material.school_id in schools_where(user, Role.SCHOOL_ADMIN)


def _revise_material(user: User, material: Any) -> bool:
    """The author may upload a new file version of an approved material: it is reviewed again."""
    return material.owner_id == user.id and material.status in ("school_approved", "published")


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
    "search.manage": lambda user, obj: _dept_admin(user),
    # API tokens (issue 7): a token is one's own; only the command-line operator makes one for
    # somebody else (automation accounts), and nobody else revokes it.
    "token.create": lambda user, owner: _operator(user) or user.id == owner.id,
    "token.revoke": lambda user, token: _operator(user) or token.user_id == user.id,
    "material.export": lambda user, obj: _dept_admin(user),
    "admin.access": lambda user, obj: _dept_admin(user)
    or bool(schools_where(user, Role.SCHOOL_ADMIN)),
    # review workflow (issue 5)
    "material.revise": _revise_material,
    "review.submit": lambda user, material: material.owner_id == user.id,
    "review.withdraw": lambda user, material: material.owner_id == user.id,
    "review.school_decide": _school_decider,
    "review.dept_decide": _dept_decider,
    "review.decide": _decider,
    "review.retract": _retracter,
    "review.take_down": lambda user, material: _dept_admin(user),
    "review.report": lambda user, material: material.status == "published",
    "review.queue": _reviewer,
    "review.escalations": lambda user, obj: _dept_admin(user) or bool(schools_where(user, Role.SCHOOL_ADMIN)),
    "review.problem_reports": lambda user, obj: _dept_staff(user),
    "review.figures": lambda user, obj: _dept_staff(user),
    "settings.edit": lambda user, obj: _dept_admin(user),
    "notification.list": lambda user, obj: True,
    # Backups hold every password hash: the command-line operator only.
    "backup.create": lambda user, obj: _operator(user),
    "backup.restore": lambda user, obj: _operator(user),
    # Contribution reports (issue 6). obj: a School, an AdminUnit, or None.
    "report.view_own": lambda user, obj: True,
    "report.view_all": lambda user, obj: _dept_staff(user),
    "report.view_unit": lambda user, unit: _dept_staff(user) or unit.id in units_where(user, Role.UNIT_OFFICER),
    "report.view_school": _view_school_report,
    "report.submit_school": lambda user, school: school.id in schools_where(user, Role.SCHOOL_ADMIN),
    "report.submit_unit": lambda user, unit: unit.id in units_where(user, Role.UNIT_OFFICER),
    "report.reopen": lambda user, obj: _dept_admin(user),
    "report.configure": lambda user, obj: _dept_admin(user),
    "report.electives": lambda user, school: _dept_admin(user) or school.id in schools_where(user, Role.SCHOOL_ADMIN),
}


def open_licence_codes() -> frozenset[str]:
    """Licences under which published materials are shown to anonymous visitors (data/licences.yaml)."""
    return frozenset(lic.code for lic in curriculum.licences() if lic.open)


def anonymous_may_view(material: Any, anonymous_access: bool) -> bool:
    """Visitors who are not signed in may open a published material under an open licence,
    while anonymous access is on (the same rule search applies for them)."""
    return anonymous_access and material.status == "published" and material.licence in open_licence_codes()


def search_visibility(user: Any, anonymous_access: bool) -> Optional[Visibility]:
    """What `user` may find in search, as a clause set the index applies inside the query.

    Anonymous visitors: published materials under an open licence, or nothing when anonymous
    access is switched off (None). Signed-in users: everything published; a school's staff
    also their school's school_approved materials; a teacher also their own materials in any
    state; school reviewers and school admins their school's submissions (their queue);
    department reviewers and admins every school_approved material (theirs).
    """
    if user is None or not getattr(user, "is_authenticated", False) or user.status != UserStatus.ACTIVE.value:
        return Visibility(open_only=True) if anonymous_access else None
    staff_schools = frozenset(schools_where(user, *Role))
    reviewing = frozenset(schools_where(user, Role.SCHOOL_REVIEWER, Role.SCHOOL_ADMIN))
    return Visibility(approved_schools=staff_schools, submitted_schools=reviewing,
                      all_school_approved=_dept_staff(user), owner=user.id)


def _anonymous_access() -> bool:
    return has_app_context() and bool(current_app.config.get("ANONYMOUS_ACCESS"))


# The few actions a visitor who is not signed in may take, each with its own rule.
ANONYMOUS_RULES: dict[str, Rule] = {
    "material.view": lambda user, material: anonymous_may_view(material, _anonymous_access()),
}


def _signed_in(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def can(user: Any, action: str, obj: Any = None) -> bool:
    """True when `user` may perform `action` on `obj`. Inactive users may not; anonymous visitors
    only where ANONYMOUS_RULES allows it."""
    rule = RULES[action]  # KeyError: an action without a rule is a bug, caught by the tests
    if not _signed_in(user):
        anonymous_rule = ANONYMOUS_RULES.get(action)
        return bool(anonymous_rule and anonymous_rule(user, obj))
    if user.status != UserStatus.ACTIVE.value:
        return False
    return bool(rule(user, obj))


def require(user: Any, action: str, obj: Any = None) -> None:
    """Raise PermissionDenied unless `can(user, action, obj)`; a visitor who is not signed in gets
    AuthenticationFailed instead, so pages ask them to sign in."""
    if can(user, action, obj):
        return
    if not _signed_in(user):
        raise AuthenticationFailed(_l("Vui lòng đăng nhập để tiếp tục."))
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
