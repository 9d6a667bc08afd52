"""The policy module is the single answer to "may this person do this to that".

These tests pin three things a user relies on: every action the code asks about has exactly one
rule (and no rule is dead), every public service function declares and checks its policy action,
and the explicit role x action matrix below is what the rules answer for the accounts of the
small province built by the `world` fixture.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from flask_login import AnonymousUserMixin

import repository.services
from repository.errors import PermissionDenied
from repository.models import ApiToken, Material, Role, UserStatus
from repository.permissions import RULES, Grant, Scope, SystemActor, can, require

PROJECT = Path(__file__).resolve().parents[2]
ROLES = ("teacher", "school_reviewer", "school_admin", "unit_officer", "dept_reviewer", "dept_admin")

# require(actor, "x.y", ...), can(actor, "x.y", ...), permissions.can(...), and the templates' can('x.y', ...)
_ACTION_CALL = re.compile(r"""\b(?:require|can)\(\s*(?:[\w.\[\]]+\s*,\s*)?["']([a-z_]+\.[a-z_]+)["']""")


def _source_files() -> list[Path]:
    files = sorted((PROJECT / "repository").rglob("*.py")) + sorted((PROJECT / "templates").rglob("*.html"))
    return [f for f in files if "__pycache__" not in f.parts]


def _actions_used() -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for path in _source_files():
        for match in _ACTION_CALL.finditer(path.read_text(encoding="utf-8")):
            used.setdefault(match.group(1), []).append(str(path.relative_to(PROJECT)))
    return used


def test_the_action_scanner_sees_services_views_and_templates() -> None:
    """Guard against a scanner that silently finds nothing (and so passes the next test vacuously)."""
    used = _actions_used()
    where = {file for files in used.values() for file in files}
    assert "repository/services/users.py" in where
    assert "repository/views/admin.py" in where
    assert any(f.startswith("templates/") for f in where)
    assert {"admin.access", "school.manage", "user.create", "school.view_all"} <= set(used)


def test_every_action_used_has_a_rule_and_every_rule_is_used() -> None:
    used = _actions_used()
    missing = {action: files for action, files in used.items() if action not in RULES}
    assert not missing, f"actions checked in the code without a rule in RULES: {missing}"
    unused = sorted(set(RULES) - set(used))
    assert not unused, f"rules no code checks (dead policy): {unused}"


def test_an_unknown_action_is_a_programming_error_not_a_refusal() -> None:
    with pytest.raises(KeyError):
        can(SystemActor(), "no.such_action")


# --- every public service function declares and checks its policy ---------------------------------

def _service_modules() -> list[str]:
    return sorted(f"repository.services.{m.name}" for m in pkgutil.iter_modules(repository.services.__path__))


def _public_functions(module: Any) -> list[tuple[str, Callable]]:
    return [(name, fn) for name, fn in inspect.getmembers(module, inspect.isfunction)
            if not name.startswith("_") and fn.__module__ == module.__name__]


def test_the_service_walk_covers_the_service_modules() -> None:
    names = _service_modules()
    assert {"repository.services.users", "repository.services.schools", "repository.services.accounts"} <= set(names)


@pytest.mark.parametrize("module_name", _service_modules())
def test_every_public_service_function_is_guarded_or_says_why_not(module_name: str) -> None:
    module = importlib.import_module(module_name)
    problems = []
    for name, fn in _public_functions(module):
        action = getattr(fn, "__policy_action__", None)
        reason = getattr(fn, "__unguarded_reason__", None)
        if action is None and reason is None:
            problems.append(f"{name}: neither @guarded(action) nor @unguarded(reason)")
        elif action is not None and reason is not None:
            problems.append(f"{name}: both guarded and unguarded")
        elif action is not None:
            if action not in RULES:
                problems.append(f"{name}: guarded by {action!r}, which has no rule")
                continue
            body = inspect.getsource(fn)
            check = re.compile(r"""\brequire\(\s*[\w.]+\s*,\s*["']""" + re.escape(action) + r"""["']""")
            if not check.search(body):
                problems.append(f"{name}: declares {action!r} but its body never calls require(..., {action!r})")
        elif not str(reason).strip():
            problems.append(f"{name}: @unguarded with an empty reason")
    assert not problems, f"{module_name}:\n  " + "\n  ".join(problems)


# --- the role x action matrix ------------------------------------------------------------------------

@pytest.fixture
def objects(world: dict[str, Any]) -> dict[str, Any]:
    """Representative objects, seen from the THCS01 / Phường Hoa Lư side of the world."""
    from repository.services import schools, users

    system = SystemActor()
    colleague, _ = users.create_user(system, users.UserInput("dongnghiep@thcs1.ninhbinh.edu.vn", "Đồng nghiệp",
                                                             "THCS01", "", ["teacher"]))
    own, other = world["thcs1"].id, world["thcs2"].id
    dept = schools.department_unit().id
    return {
        "none": None,
        # schools
        "own_school": world["thcs1"],          # THCS01, in 14329
        "other_school": world["thcs2"],        # THCS02, in 14464
        "thpt_in_unit": world["thpt"],         # THPT01, in 14329 but reports to the department
        # accounts
        "own_teacher": colleague,              # a THCS01 teacher who is not the actor
        "other_teacher": world["teacher2"],    # a THCS02 teacher
        "self": "SELF",                        # replaced by the actor itself
        # scopes of a new account or an import
        "scope_own": Scope(school_id=own),
        "scope_other": Scope(school_id=other),
        "scope_none": Scope(),
        # grants
        "teacher@own": Grant(Role.TEACHER, school_id=own),
        "teacher@other": Grant(Role.TEACHER, school_id=other),
        "reviewer@own": Grant(Role.SCHOOL_REVIEWER, school_id=own),
        "reviewer@other": Grant(Role.SCHOOL_REVIEWER, school_id=other),
        "dept_admin@own": Grant(Role.DEPT_ADMIN, school_id=own),
        "dept_admin@other": Grant(Role.DEPT_ADMIN, school_id=other),
        "dept_admin@dept": Grant(Role.DEPT_ADMIN, unit_id=dept),
        "school_admin@own": Grant(Role.SCHOOL_ADMIN, school_id=own),
        # materials (not saved: the rules read only these fields)
        "draft_own_school": Material(owner_id=colleague.id, school_id=own, school=world["thcs1"], status="draft"),
        "draft_other_school": Material(owner_id=world["teacher2"].id, school_id=other, school=world["thcs2"],
                                       status="draft"),
        # API tokens (not saved: the rule reads only user_id)
        "token_own_teacher": ApiToken(user_id=colleague.id),
        "token_other_teacher": ApiToken(user_id=world["teacher2"].id),
        "published_other": Material(owner_id=world["teacher2"].id, school_id=other, school=world["thcs2"],
                                    status="published", licence="CC_BY_4"),
        # review workflow (issue 5): a colleague's THCS01 material at each step
        "submitted_own_school": Material(owner_id=colleague.id, school_id=own, school=world["thcs1"],
                                         status="submitted", subject="TOAN", grades=["9"]),
        "approved_own_school": Material(owner_id=colleague.id, school_id=own, school=world["thcs1"],
                                        status="school_approved", subject="TOAN", grades=["9"]),
        "published_own_school": Material(owner_id=colleague.id, school_id=own, school=world["thcs1"],
                                         status="published", subject="TOAN", grades=["9"]),
        "backup.create": {"none": NOBODY},  # the operator only
    "backup.restore": {"none": NOBODY},
    # contribution reports (issue 6): the unit officer's ward, another commune
        "own_ward": world["thcs1"].reports_to,
        "other_commune": world["thcs2"].reports_to,
    }


def _object(label: str, actor: Any, objects: dict[str, Any], world: dict[str, Any]) -> Any:
    """The object a matrix label names; "self" and the "mine_*" materials depend on the actor."""
    if label == "self":
        return actor
    if label == "mine_token":
        return ApiToken(user_id=actor.id)
    if label.startswith("mine_"):
        status = {"mine_draft": "draft", "mine_returned": "changes_requested", "mine_submitted": "submitted",
                  "mine_published": "published"}[label]
        return Material(owner_id=actor.id, school_id=world["thcs1"].id, school=world["thcs1"], status=status)
    return objects[label]


ALL = frozenset(ROLES)
DEPT = frozenset({"dept_reviewer", "dept_admin"})
ADMIN = frozenset({"dept_admin"})
ADMINS = frozenset({"dept_admin", "school_admin"})
NOBODY: frozenset[str] = frozenset()
GRANTS = ("teacher@own", "teacher@other", "reviewer@own", "reviewer@other", "dept_admin@own",
          "dept_admin@other", "dept_admin@dept", "school_admin@own")
GRANT_EXPECTED = {"teacher@own": ADMINS, "reviewer@own": ADMINS, "teacher@other": ADMIN, "reviewer@other": ADMIN,
                  "dept_admin@own": ADMIN, "dept_admin@other": ADMIN, "dept_admin@dept": ADMIN,
                  "school_admin@own": ADMIN}
SCOPES = {"scope_own": ADMINS, "scope_other": ADMIN, "scope_none": ADMIN}

# action -> object label -> the roles that may. Every action in RULES must appear here.
MATRIX: dict[str, dict[str, frozenset[str]]] = {
    "account.manage_own": {"none": ALL},
    "unit.view": {"none": ALL},
    "unit.manage": {"none": ADMIN},
    "school.list": {"none": ALL},
    "school.view": {
        "own_school": ALL,  # the school roles hold THCS01; the unit officer's ward holds it
        "other_school": DEPT,
        "thpt_in_unit": DEPT | {"unit_officer"},  # located in the officer's ward, reports to the department
    },
    "school.view_all": {"none": DEPT},
    "school.manage": {"none": ADMIN},
    "school.import": {"none": ADMIN},
    "user.list": {"none": ADMINS},
    "user.list_all": {"none": ADMIN},
    "user.view": {"own_teacher": ADMINS, "other_teacher": ADMIN, "self": ALL},
    "user.update": {"own_teacher": ADMINS, "other_teacher": ADMIN, "self": ADMINS},
    "user.reset_password": {"own_teacher": ADMINS, "other_teacher": ADMIN, "self": NOBODY},
    "user.disable": {"own_teacher": ADMINS, "other_teacher": ADMIN, "self": NOBODY},
    "user.anonymise": {"own_teacher": ADMINS, "other_teacher": ADMIN, "self": NOBODY},
    "user.move_school": {"own_teacher": ADMIN, "other_teacher": ADMIN},
    "user.create": dict(SCOPES),
    "user.import": dict(SCOPES),
    "role.grant": dict(GRANT_EXPECTED),
    "role.revoke": dict(GRANT_EXPECTED),
    "audit.view": {"none": ADMIN},
    "admin.access": {"none": ADMINS},
    "material.create": {"none": frozenset({"teacher", "school_reviewer"})},  # they hold the teacher role
    "material.view": {"draft_own_school": ALL, "draft_other_school": DEPT, "published_other": ALL,
                      "mine_draft": ALL},
    "material.edit": {"draft_own_school": NOBODY, "mine_draft": ALL, "mine_returned": ALL, "mine_submitted": NOBODY,
                      "published_other": NOBODY},
    "material.delete": {"draft_own_school": NOBODY, "mine_draft": ALL, "mine_returned": NOBODY},
    "material.list_own": {"none": ALL},
    "material.import": {"none": ADMIN},
    "storage.check": {"none": ADMIN},
    "search.manage": {"none": ADMIN},
    # API tokens: one's own only (the command-line operator may make them for anyone).
    "token.create": {"self": ALL, "own_teacher": NOBODY, "other_teacher": NOBODY},
    "token.revoke": {"mine_token": ALL, "token_own_teacher": NOBODY, "token_other_teacher": NOBODY},
    "material.export": {"none": ADMIN},
    # review workflow (issue 5): who may take a step; repository/workflow.py decides when (409)
    "material.revise": {"mine_published": ALL, "published_own_school": NOBODY, "mine_draft": NOBODY},
    "review.submit": {"mine_draft": ALL, "draft_own_school": NOBODY},
    "review.withdraw": {"mine_submitted": ALL, "submitted_own_school": NOBODY},
    "review.school_decide": {"submitted_own_school": frozenset({"school_reviewer", "school_admin", "dept_admin"}),
                             "draft_other_school": ADMIN, "mine_submitted": NOBODY},
    "review.dept_decide": {"approved_own_school": DEPT, "submitted_own_school": DEPT, "mine_submitted": NOBODY},
    "review.decide": {"submitted_own_school": frozenset({"school_reviewer", "school_admin", "dept_admin"}),
                      "approved_own_school": DEPT, "published_other": DEPT, "mine_submitted": NOBODY},
    "review.retract": {"published_own_school": frozenset({"school_admin"}), "mine_published": ALL,
                       "published_other": NOBODY},
    "review.take_down": {"published_other": ADMIN, "published_own_school": ADMIN},
    "review.report": {"published_other": ALL, "draft_own_school": NOBODY},
    "review.queue": {"none": frozenset({"school_reviewer", "school_admin", "dept_reviewer", "dept_admin"})},
    "review.escalations": {"none": ADMINS},
    "review.problem_reports": {"none": DEPT},
    "review.figures": {"none": DEPT},
    "settings.edit": {"none": ADMIN},
    "notification.list": {"none": ALL},
    "backup.create": {"none": NOBODY},  # the operator only
    "backup.restore": {"none": NOBODY},
    # contribution reports (issue 6): a school's own staff, the unit it reports to, the department
    "report.view_own": {"none": ALL},
    "report.view_all": {"none": DEPT},
    "report.view_unit": {"own_ward": DEPT | {"unit_officer"}, "other_commune": DEPT},
    "report.view_school": {"own_school": DEPT | {"unit_officer", "school_admin", "school_reviewer"},
                           "other_school": DEPT, "thpt_in_unit": DEPT},  # THPT reports to the department
    "report.submit_school": {"own_school": frozenset({"school_admin"}), "other_school": NOBODY},
    "report.submit_unit": {"own_ward": frozenset({"unit_officer"}), "other_commune": NOBODY},
    "report.reopen": {"none": ADMIN},
    "report.configure": {"none": ADMIN},
    "report.electives": {"own_school": ADMINS, "other_school": ADMIN},
}
# Only a material's author edits or deletes it, and only teachers create: the operator imports.
AUTHOR_ONLY = {"material.create", "material.edit", "material.delete"}
# Steps that belong to the author or their school, and problem reports (published material only).
# A report is submitted in the name of a school's admin or a unit's officer, never by the operator.
NOT_THE_OPERATORS = AUTHOR_ONLY | {"material.revise", "review.submit", "review.withdraw", "review.retract",
                                   "review.report", "report.submit_school", "report.submit_unit"}


def test_the_matrix_covers_every_rule() -> None:
    """A new rule must be added to the matrix, with its expected answers, before it can ship."""
    assert sorted(set(RULES) - set(MATRIX)) == [], "RULES has actions the matrix does not pin"
    assert sorted(set(MATRIX) - set(RULES)) == [], "the matrix pins actions RULES no longer has"


def test_role_action_matrix(world: dict[str, Any], objects: dict[str, Any]) -> None:
    wrong = []
    for action, cases in MATRIX.items():
        for label, allowed in cases.items():
            for role in ROLES:
                actor = world[role]
                obj = _object(label, actor, objects, world)
                expected = role in allowed
                if can(actor, action, obj) != expected:
                    wrong.append(f"{role} {action} {label}: expected {'allow' if expected else 'refuse'}")
                if expected:
                    require(actor, action, obj)  # does not raise
                else:
                    with pytest.raises(PermissionDenied):
                        require(actor, action, obj)
    assert not wrong, "\n".join(wrong)


def test_the_command_line_operator_may_do_everything(world: dict[str, Any], objects: dict[str, Any]) -> None:
    system = SystemActor()
    for action, cases in MATRIX.items():
        for label in cases:
            if label != "self" and not label.startswith("mine_") and action not in NOT_THE_OPERATORS:
                assert can(system, action, objects[label]), (action, label)


def test_a_school_admin_does_not_manage_someone_who_also_works_in_another_school(world: dict[str, Any]) -> None:
    """An account with any role outside the admin's schools belongs to someone else to manage too."""
    from repository.extensions import db
    from repository.models import RoleAssignment

    admin = world["school_admin"]
    assert can(admin, "user.disable", world["teacher"]) is True
    shared = world["teacher"]  # a THCS01 teacher who also teaches at THCS02
    shared.roles.append(RoleAssignment(role="teacher", school_id=world["thcs2"].id, subjects=[], levels=[]))
    db.session.commit()
    assert can(admin, "user.view", world["teacher"]) is False
    assert can(admin, "user.disable", world["teacher"]) is False
    assert can(world["dept_admin"], "user.disable", world["teacher"]) is True


def _every_case(world: dict[str, Any], objects: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(action, _object(label, world["teacher"], objects, world))
            for action, cases in MATRIX.items() for label in cases]


def test_anonymous_visitor_may_only_view_open_published_materials(world: dict[str, Any], objects: dict[str, Any],
                                                                  app: Any) -> None:
    """Everything is refused (as "sign in first") except viewing a published material under an
    open licence, and that only while ANONYMOUS_ACCESS is on."""
    from repository.errors import AuthenticationFailed
    from repository.permissions import ANONYMOUS_RULES, anonymous_may_view

    anonymous = AnonymousUserMixin()
    for switch in (True, False):
        app.config["ANONYMOUS_ACCESS"] = switch
        for action, obj in _every_case(world, objects):
            allowed = action in ANONYMOUS_RULES and anonymous_may_view(obj, switch)
            assert can(anonymous, action, obj) is allowed and can(None, action, obj) is allowed, action
            if not allowed:
                with pytest.raises(AuthenticationFailed):
                    require(anonymous, action, obj)
    app.config["ANONYMOUS_ACCESS"] = True
    assert any(action in ANONYMOUS_RULES and anonymous_may_view(obj, True) for action, obj in _every_case(world, objects))


@pytest.mark.parametrize("status", [UserStatus.DISABLED.value, UserStatus.PENDING.value, UserStatus.ANONYMISED.value])
def test_an_account_that_is_not_active_is_refused_everything(world: dict[str, Any], objects: dict[str, Any],
                                                             status: str) -> None:
    """Even a department administrator loses every right while the account is not active."""
    from repository.extensions import db

    for key in ("dept_admin", "school_admin", "teacher"):
        world[key].status = status
    db.session.commit()
    for key in ("dept_admin", "school_admin", "teacher"):
        actor = world[key]
        for action, obj in _every_case(world, objects):
            assert can(actor, action, obj) is False, (key, action)
            with pytest.raises(PermissionDenied):
                require(actor, action, obj)


def test_a_disabled_account_is_refused_by_the_services_too(world: dict[str, Any]) -> None:
    from repository.services import schools, users

    users.set_disabled(SystemActor(), world["dept_admin"], True)
    with pytest.raises(PermissionDenied):
        schools.save_school(world["dept_admin"], None, schools.SchoolInput("X1", "Trường X", "THCS", "14329"))
    with pytest.raises(PermissionDenied):
        users.list_users(world["dept_admin"])
    assert schools.school_by_code("X1") is None
