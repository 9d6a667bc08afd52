"""Reference endpoints: schools, administrative units, the curriculum vocabulary, the audit log."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from repository.api import bp
from repository.api.auth import signed_in
from repository.api.pagination import page_request, paginate
from repository.api.serialize import audit_json, school_json, unit_json, vocabularies_json
from repository.errors import NotFound
from repository.services import audit, schools


def _school(school: Any) -> dict[str, Any]:
    return school_json(school, schools.effective_grades(school))


@bp.get("/schools")
@signed_in
def list_schools() -> Any:
    paging = page_request()
    unit_id = None
    if request.args.get("unit"):
        unit = schools.unit_by_code(request.args["unit"])
        if unit is None:
            return jsonify({"total": 0, "page": paging.page, "per_page": paging.per_page, "items": []})
        unit_id = unit.id
    rows = schools.list_schools(current_user, text=request.args.get("q", ""), unit_id=unit_id)
    return jsonify(paginate(rows, paging, _school))


@bp.get("/schools/<code>")
@signed_in
def get_school(code: str) -> Any:
    found = schools.school_by_code(code)
    if found is None:
        raise NotFound(_l("Không tìm thấy trường."))
    return jsonify(_school(schools.get_school(current_user, found.id)))


@bp.get("/units")
@signed_in
def list_units() -> Any:
    paging = page_request()
    rows = schools.list_units(current_user, kind=request.args.get("kind") or None)
    return jsonify(paginate(rows, paging, unit_json))


@bp.get("/units/<code>")
@signed_in
def get_unit(code: str) -> Any:
    found = schools.unit_by_code(code)
    if found is None:
        raise NotFound(_l("Không tìm thấy đơn vị."))
    return jsonify(unit_json(schools.get_unit(current_user, found.id)))


@bp.get("/vocabularies")
def vocabularies() -> Any:
    """Public reference data (the curriculum codes), the same for everyone."""
    return jsonify(vocabularies_json())


# audit.list_events returns at most this many of the newest events; pages are cut from them.
AUDIT_WINDOW = 1000


@bp.get("/audit")
@signed_in
def audit_log() -> Any:
    paging = page_request()
    rows = audit.list_events(current_user, action=request.args.get("action") or None, limit=AUDIT_WINDOW)
    return jsonify(paginate(rows, paging, audit_json))
