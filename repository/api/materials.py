"""Material endpoints: read, create with files (multipart), update metadata (JSON), add a new
file version. Each parses the request, calls one service function and serialises the result."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from repository import uploads
from repository.api import bp
from repository.api.auth import signed_in
from repository.api.serialize import file_json, material_json
from repository.errors import ValidationError
from repository.services import materials
from repository.uploads import as_upload

# These endpoints receive files: they get the upload body limit and the spooling request parts.
uploads.UPLOAD_ENDPOINTS.update({"api.create_material", "api.add_file_version"})

# Ids past the database's integer range (2**31 - 1 on PostgreSQL) are no route: 404, not an
# overflow in the database driver (see the "<int(...)>" rules below).
# Metadata fields, named as in the upload form; "type" is accepted for the JSON name of material_type.
TEXT_FIELDS = ("title", "description", "subject", "material_type", "licence", "topic", "series", "language")
FIELDS = (*TEXT_FIELDS, "grades")


def _invalid(field: str, message: Any) -> ValidationError:
    return ValidationError(message, field_errors={field: [message]})


def _form_grades() -> list[str]:
    """Grades as repeated fields or one comma-separated field (easier from curl)."""
    return [g.strip() for value in request.form.getlist("grades") for g in value.split(",") if g.strip()]


def _form_input() -> materials.MaterialInput:
    form = request.form
    defaults = materials.MaterialInput(title="", subject="", grades=[])
    values = {name: form.get(name, getattr(defaults, name)) for name in TEXT_FIELDS}
    if "type" in form and "material_type" not in form:
        values["material_type"] = form["type"]
    return materials.MaterialInput(grades=_form_grades(), **values)


def _json_changes() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(_l("Nội dung yêu cầu phải là một đối tượng JSON."))
    if "type" in body and "material_type" not in body:
        body["material_type"] = body.pop("type")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise _invalid(unknown[0], _l("Trường không sửa được: %(names)s", names=", ".join(unknown)))
    for name in TEXT_FIELDS:
        if name in body and not isinstance(body[name], (str, type(None))):
            raise _invalid(name, _l("%(name)s phải là chuỗi.", name=name))
    grades = body.get("grades", [])
    if not isinstance(grades, list) or not all(isinstance(g, str) for g in grades):
        raise _invalid("grades", _l("grades phải là danh sách mã lớp."))
    return body


def _merged_input(material: Any, changes: dict[str, Any]) -> materials.MaterialInput:
    """The material's current metadata with the fields the caller sent replaced."""
    current = {name: getattr(material, name) or "" for name in TEXT_FIELDS}
    current.update({k: v or "" for k, v in changes.items() if k in TEXT_FIELDS})
    grades = changes["grades"] if "grades" in changes else list(material.grades or [])
    return materials.MaterialInput(grades=grades, **current)


@bp.get("/materials/<int(min=1, max=2147483647):material_id>")
@signed_in
def get_material(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    return jsonify(material_json(material, detail=True))


@bp.post("/materials")
@signed_in
def create_material() -> Any:
    parts = request.files.getlist("file") + request.files.getlist("files")
    found = [as_upload(part) for part in parts if part and part.filename]
    material = materials.create_material(current_user, _form_input(), found)
    response = jsonify(material_json(material, detail=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_material", material_id=material.id)
    return response


@bp.patch("/materials/<int(min=1, max=2147483647):material_id>")
@signed_in
def update_material(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    changes = _json_changes()
    materials.update_material(current_user, material, _merged_input(material, changes))
    return jsonify(material_json(material, detail=True))


def _replaced_file(material: Any) -> Any:
    """The file a new version replaces: `replaces` (a file id), or the only current file."""
    raw = request.form.get("replaces", "")
    if raw:
        if not raw.isdigit():
            raise _invalid("replaces", _l("replaces phải là mã số của một tệp."))
        return materials.get_file(current_user, material, int(raw))
    current = material.current_files
    if len(current) != 1:
        raise _invalid("replaces", _l("Học liệu có nhiều tệp: hãy cho biết tệp cần thay (replaces)."))
    return current[0]


@bp.post("/materials/<int(min=1, max=2147483647):material_id>/files")
@signed_in
def add_file_version(material_id: int) -> Any:
    material = materials.get_material(current_user, material_id)
    old = _replaced_file(material)
    part = request.files.get("file")
    new = materials.replace_file(current_user, material, old, as_upload(part) if part and part.filename else None)
    response = jsonify(file_json(new))
    response.status_code = 201
    return response
