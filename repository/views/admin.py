"""Administration pages: schools, accounts, roles and imports for department and school admins."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from repository import csvfiles, curriculum
from repository.errors import DomainError, ImportRejected, ValidationError
from repository.forms import (
    ConfirmForm,
    ImportForm,
    MergeForm,
    MoveForm,
    ProfileForm,
    RoleForm,
    SchoolForm,
    UserForm,
)
from repository.models import Role
from repository.permissions import Grant, can, require, schools_where
from repository.services import accounts, audit, imports, schools, users
from repository.views import flash_errors
from repository.views.labels import ROLE_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only() -> None:
    require(current_user, "admin.access")


@bp.route("/")
def dashboard() -> Any:
    return render_template("admin/dashboard.html")


def _fill_school_choices(form: SchoolForm) -> None:
    form.school_type.choices = [(t.code, t.name) for t in curriculum.school_types()]
    units = schools.list_units(current_user)
    form.unit_code.choices = [(u.code, f"{u.name} ({u.code})") for u in units if u.kind != "department"]
    form.grades.choices = [(g.code, g.name) for g in curriculum.grades()]


@bp.route("/schools")
def school_list() -> Any:
    require(current_user, "school.manage")
    rows = schools.list_schools(current_user, text=request.args.get("q", "")[:100])
    return render_template("admin/schools.html", schools=rows, school_type=curriculum.school_type)


@bp.route("/schools/new", methods=["GET", "POST"])
@bp.route("/schools/<int:school_id>/edit", methods=["GET", "POST"])
def school_edit(school_id: Optional[int] = None) -> Any:
    require(current_user, "school.manage")
    school = schools.get_school(current_user, school_id) if school_id else None
    form = SchoolForm(obj=None)
    _fill_school_choices(form)
    if request.method == "GET" and school is not None:
        form.code.data, form.name.data, form.school_type.data = school.code, school.name, school.school_type
        form.unit_code.data, form.grades.data, form.active.data = school.unit.code, school.grades_override or [], school.active
    status = 200
    if form.validate_on_submit():
        data = schools.SchoolInput(form.code.data, form.name.data, form.school_type.data, form.unit_code.data,
                                   form.grades.data or None, form.active.data)
        try:
            saved = schools.save_school(current_user, school_id, data)
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            flash(_("Đã lưu trường %(name)s.", name=saved.name), "success")
            return redirect(url_for("main.school_detail", school_id=saved.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/school_form.html", form=form, school=school), status


@bp.route("/schools/<int:school_id>/merge", methods=["GET", "POST"])
def school_merge(school_id: int) -> Any:
    require(current_user, "school.manage")
    school = schools.get_school(current_user, school_id)
    form = MergeForm()
    status = 200
    if form.validate_on_submit():
        successor = schools.school_by_code(form.successor_code.data.strip())
        try:
            if successor is None:
                raise DomainError(_("Không tìm thấy trường có mã %(value)s", value=form.successor_code.data))
            schools.merge_school(current_user, school, successor)
        except DomainError as error:
            flash_errors(error, form)
            status = 422
        else:
            flash(_("Đã sáp nhập %(a)s vào %(b)s.", a=school.name, b=successor.name), "success")
            return redirect(url_for("main.school_detail", school_id=school.id))
    return render_template("admin/school_merge.html", form=form, school=school), status


def _import_page(kind: str, run: Any) -> Any:
    form = ImportForm()
    status, result, problems = 200, None, []
    if form.validate_on_submit():
        try:
            result = run(form.file.data.read())
        except ImportRejected as error:
            flash(str(error.message), "danger")
            problems, status = error.rows, error.status
        except DomainError as error:
            flash(str(error.message), "danger")
            status = error.status
    elif request.method == "POST":
        status = 400
    return render_template("admin/import.html", form=form, kind=kind, result=result, problems=problems,
                           links_form=ConfirmForm()), status


@bp.route("/schools/import", methods=["GET", "POST"])
def school_import() -> Any:
    return _import_page("schools", lambda data: imports.import_schools(current_user, data))


def _own_school() -> Any:
    """The school a school admin works in; None for the department admin, who works on all."""
    if can(current_user, "user.list_all"):
        return None
    own = sorted(schools_where(current_user, Role.SCHOOL_ADMIN))
    if not own:
        abort(403)
    # An admin of several schools picks one with ?school=<id>; the default is the first.
    wanted = request.args.get("school", type=int)
    return schools.get_school(current_user, wanted if wanted in own else own[0])


@bp.route("/users/import", methods=["GET", "POST"])
def user_import() -> Any:
    school = _own_school()
    return _import_page("users", lambda data: imports.import_users(current_user, data, school=school))


@bp.route("/users/activation-links", methods=["POST"])
def activation_links() -> Any:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    ids = [int(v) for v in request.form.getlist("user_id") if v.isdigit()][:50_000]
    body = csvfiles.links_csv(users.activation_links(current_user, ids))
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=lien-ket-kich-hoat.csv",
                             "Cache-Control": "no-store"})


@bp.route("/users")
def user_list() -> Any:
    school_id = request.args.get("school", type=int)
    rows = users.list_users(current_user, text=request.args.get("q", "")[:100], school_id=school_id)
    return render_template("admin/users.html", users=rows)


def _role_choices() -> list[tuple[str, str]]:
    return [(r.value, str(ROLE_LABELS[r.value])) for r in Role]


@bp.route("/users/new", methods=["GET", "POST"])
def user_new() -> Any:
    form = UserForm()
    form.roles.choices = _role_choices()
    if request.method == "GET":
        own = _own_school()
        form.school_code.data = own.code if own else ""
        form.roles.data = [Role.TEACHER.value]
    status = 200
    if form.validate_on_submit():
        data = users.UserInput(form.email.data, form.full_name.data, form.school_code.data or "",
                               form.unit_code.data or "", form.roles.data, form.phone.data or "",
                               form.staff_id.data or "")
        try:
            user, link = users.create_user(current_user, data)
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            return render_template("admin/user_created.html", user=user, link=link)
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_form.html", form=form), status


def _role_form() -> RoleForm:
    form = RoleForm(prefix="role")
    form.role.choices = _role_choices()
    form.subjects.choices = [(s.code, s.name) for s in curriculum.subjects()]
    form.levels.choices = [(lv.code, lv.name) for lv in curriculum.levels()]
    return form


def _user_page(user: Any, status: int = 200) -> Any:
    return render_template("admin/user.html", user=user, role_form=_role_form(),
                           move_form=MoveForm(prefix="move"), confirm=ConfirmForm()), status


@bp.route("/users/<int:user_id>")
def user_detail(user_id: int) -> Any:
    return _user_page(users.get_user(current_user, user_id))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int) -> Any:
    user = users.get_user(current_user, user_id)
    form = ProfileForm(obj=user)
    status = 200
    if form.validate_on_submit():
        try:
            users.update_user(current_user, user, full_name=form.full_name.data, phone=form.phone.data or "",
                              staff_id=form.staff_id.data or "")
        except DomainError as error:
            flash_errors(error, form)
            status = error.status
        else:
            flash(_("Đã lưu thông tin người dùng."), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_edit.html", form=form, user=user), status


def _user_action(user_id: int, action: Any, done: str) -> Any:
    user = users.get_user(current_user, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = action(user)
    except DomainError as error:
        flash_errors(error)
        return _user_page(user, error.status)
    flash(done, "success")
    if isinstance(result, str):
        return render_template("admin/user_created.html", user=user, link=result)
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.route("/users/<int:user_id>/reset", methods=["POST"])
def user_reset(user_id: int) -> Any:
    return _user_action(user_id, lambda u: accounts.admin_reset(current_user, u),
                        _("Đã tạo liên kết đặt lại mật khẩu."))


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
def user_disable(user_id: int) -> Any:
    disable = request.form.get("disable") == "1"
    return _user_action(user_id, lambda u: users.set_disabled(current_user, u, disable),
                        _("Đã khóa tài khoản.") if disable else _("Đã mở khóa tài khoản."))


@bp.route("/users/<int:user_id>/anonymise", methods=["POST"])
def user_anonymise(user_id: int) -> Any:
    return _user_action(user_id, lambda u: users.anonymise_user(current_user, u), _("Đã ẩn danh tài khoản."))


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
def user_grant(user_id: int) -> Any:
    user = users.get_user(current_user, user_id)
    form = _role_form()
    if not form.validate_on_submit():
        flash(_("Dữ liệu vai trò không hợp lệ."), "danger")
        return _user_page(user, 422)
    try:
        grant = _grant_from_form(Role(form.role.data), (form.scope_code.data or "").strip(), user)
        users.grant_role(current_user, user, grant, subjects=form.subjects.data, levels=form.levels.data)
    except DomainError as error:
        flash_errors(error)
        return _user_page(user, error.status)
    flash(_("Đã cấp vai trò."), "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


def _grant_from_form(role: Role, scope_code: str, user: Any) -> Grant:
    if role.school_scoped:
        school = schools.school_by_code(scope_code) if scope_code else user.school
        if school is None:
            raise DomainError(_("Không tìm thấy trường có mã %(value)s", value=scope_code))
        return Grant(role, school_id=school.id)
    if role == Role.UNIT_OFFICER:
        unit = schools.unit_by_code(scope_code)
        if unit is None:
            raise DomainError(_("Không tìm thấy đơn vị có mã %(value)s", value=scope_code))
        return Grant(role, unit_id=unit.id)
    return Grant(role, unit_id=schools.department_unit().id)


@bp.route("/users/<int:user_id>/roles/<int:assignment_id>/revoke", methods=["POST"])
def user_revoke(user_id: int, assignment_id: int) -> Any:
    return _user_action(user_id, lambda u: users.revoke_role(current_user, u, assignment_id), _("Đã thu hồi vai trò."))


@bp.route("/users/<int:user_id>/move", methods=["POST"])
def user_move(user_id: int) -> Any:
    user = users.get_user(current_user, user_id)
    form = MoveForm(prefix="move")
    school = schools.school_by_code((form.school_code.data or "").strip()) if form.validate_on_submit() else None
    try:
        if school is None:
            raise ValidationError(_("Không tìm thấy trường có mã %(value)s", value=form.school_code.data or ""))
        users.move_user(current_user, user, school)
    except DomainError as error:
        flash_errors(error)
        return _user_page(user, error.status)
    flash(_("Đã chuyển trường."), "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


def _audit_filters() -> audit.AuditFilters:
    """The audit page's search form; malformed numbers and dates are ignored, not errors."""
    args = request.args

    def number(name: str) -> Optional[int]:
        value = args.get(name, "").strip()
        return int(value) if value.isdigit() else None

    def day(name: str, shift: int = 0) -> Any:
        try:
            return datetime.strptime(args.get(name, ""), "%Y-%m-%d") + timedelta(days=shift)
        except ValueError:
            return None

    return audit.AuditFilters(action=args.get("action", "").strip()[:64], actor_id=number("actor"),
                              target_type=args.get("target_type", "").strip()[:32], target_id=number("target_id"),
                              since=day("since"), until=day("until", 1))


@bp.route("/audit")
def audit_log() -> Any:
    filters = _audit_filters()
    events = audit.list_events(current_user, filters=filters, limit=500)
    return render_template("admin/audit.html", events=events, filters=filters, args=request.args)
