"""Material pages: upload form (with a real progress bar), the material page, editing, new file
versions, and downloads and previews of the stored files."""
from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from repository import curriculum
from repository.errors import DomainError
from repository.forms import ConfirmForm, MaterialForm
from repository.services import materials
from repository.uploads import as_upload
from repository.views import flash_errors
from repository.views.delivery import send_stored
from repository.web import wants_json

bp = Blueprint("materials", __name__, url_prefix="/materials")


def _choices(form: MaterialForm) -> MaterialForm:
    form.subject.choices = [(s.code, s.name) for s in curriculum.subjects()] + [
        (code, f"{_('Mầm non')}: {name}") for code, name in curriculum.preschool_domains().items()]
    form.grades.choices = [(g.code, g.name) for g in curriculum.grades()]
    form.material_type.choices = list(curriculum.material_types().items())
    form.licence.choices = [(lic.code, lic.name) for lic in curriculum.licences()]
    form.series.choices = [("", _("(không theo bộ sách)"))] + [(s.code, s.name) for s in curriculum.textbook_series()]
    form.language.choices = list(materials.LANGUAGES.items())
    return form


def _input(form: MaterialForm) -> materials.MaterialInput:
    return materials.MaterialInput(
        title=form.title.data or "", subject=form.subject.data or "", grades=form.grades.data or [],
        material_type=form.material_type.data or "", licence=form.licence.data or "",
        description=form.description.data or "", topic=form.topic.data or "", series=form.series.data or "",
        language=form.language.data or "vi")


def _failure(error: DomainError, form: MaterialForm, template: str, **context: Any) -> Any:
    if wants_json():
        fields = {k: [str(m) for m in v] for k, v in error.field_errors.items()}
        return jsonify({"error": {"code": error.status, "message": str(error.message), "fields": fields}}), error.status
    flash_errors(error, form)
    return render_template(template, form=form, **context), error.status


def _success(target: str) -> Any:
    if wants_json():
        return jsonify({"redirect": target}), 201
    return redirect(target)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    form = _choices(MaterialForm())
    if request.method == "GET":
        form.language.data, form.licence.data, form.material_type.data = "vi", "CC_BY_4", "BAI_GIANG_DIEN_TU"
        return render_template("materials/form.html", form=form, material=None)
    # CSRFProtect has checked the token; the service checks permission, then every field.
    uploads = [as_upload(part) for part in request.files.getlist("files") if part and part.filename]
    try:
        material = materials.create_material(current_user, _input(form), uploads)
    except DomainError as error:
        return _failure(error, form, "materials/form.html", material=None)
    flash(_("Đã lưu học liệu «%(title)s» (bản nháp).", title=material.title), "success")
    return _success(url_for("materials.show", material_id=material.id))


@bp.route("/<int:material_id>")
def show(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    from repository.services import review  # the workflow part of the page (issue 5)

    page = render_template("materials/show.html", material=material, confirm=ConfirmForm(),
                           files=review.visible_files(current_user, material),
                           actions=review.available_actions(current_user, material),
                           history=review.history(current_user, material), checklist=None, next=None,
                           subject=curriculum.subject(material.subject),
                           material_types=curriculum.material_types(),
                           licences={lic.code: lic for lic in curriculum.licences()},
                           grade_names={g.code: g.name for g in curriculum.grades()})
    # Counted once the page is rendered: the commit would otherwise expire the material the page
    # reads, and the count shown is the one before this visit.
    materials.count_view(current_user, material)
    return page


@bp.route("/<int:material_id>/edit", methods=["GET", "POST"])
@login_required
def edit(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    form = _choices(MaterialForm(obj=material))
    if request.method == "POST":
        try:
            materials.update_material(current_user, material, _input(form))
        except DomainError as error:
            return _failure(error, form, "materials/form.html", material=material)
        flash(_("Đã lưu thay đổi."), "success")
        return redirect(url_for("materials.show", material_id=material.id))
    return render_template("materials/form.html", form=form, material=material)


@bp.route("/<int:material_id>/files/<int:file_id>/new-version", methods=["POST"])
@login_required
def new_version(material_id: int, file_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    old = materials.get_file(current_user, material, file_id)
    part = request.files.get("file")
    try:
        materials.replace_file(current_user, material, old, as_upload(part) if part and part.filename else None)
    except DomainError as error:
        if wants_json():
            return jsonify({"error": {"code": error.status, "message": str(error.message)}}), error.status
        flash_errors(error)
        return redirect(url_for("materials.show", material_id=material.id)), 303
    flash(_("Đã tải lên phiên bản mới."), "success")
    return _success(url_for("materials.show", material_id=material.id))


@bp.route("/<int:material_id>/delete", methods=["POST"])
@login_required
def delete(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    materials.delete_material(current_user, material)
    flash(_("Đã xóa bản nháp."), "success")
    return redirect(url_for("materials.mine"))


@bp.route("/mine")
@login_required
def mine() -> Any:
    return render_template("materials/mine.html", materials=materials.list_own(current_user))


@bp.route("/<int:material_id>/files/<int:file_id>/download")
def download(material_id: int, file_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    stored = materials.get_file(current_user, material, file_id)
    materials.count_download(current_user, material)
    return send_stored(stored.object_key, stored.original_name, stored.mime_type, inline=False)


@bp.route("/<int:material_id>/files/<int:file_id>/preview")
def preview(material_id: int, file_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    stored = materials.get_file(current_user, material, file_id)
    if stored.kind in ("pdf", "image", "video", "audio"):
        return send_stored(stored.object_key, stored.original_name, stored.mime_type, inline=True)
    if stored.preview_key:
        name = stored.original_name.rsplit(".", 1)[0] + ".pdf"
        return send_stored(stored.preview_key, name, "application/pdf", inline=True)
    abort(404)


@bp.route("/<int:material_id>/files/<int:file_id>/thumbnail")
def thumbnail(material_id: int, file_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    stored = materials.get_file(current_user, material, file_id)
    if not stored.thumbnail_key:
        abort(404)
    return send_stored(stored.thumbnail_key, "thumbnail.jpg", "image/jpeg", inline=True)
