"""The OpenAPI 3 document of /api/v1 (served at /api/v1/openapi.json) and the human-readable docs
at /api/docs, rendered by Swagger UI from the pinned swagger-ui-bundle package and served from
this host (schools run on closed networks: no asset comes from another host)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template_string, send_from_directory, url_for

from repository import curriculum
from repository.api import bp
from repository.services.materials import LANGUAGES

_ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
           "favicon-32x32.png", "favicon-16x16.png"}

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/docs")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _page_of(item: str) -> dict[str, Any]:
    return {"type": "object", "required": ["total", "page", "per_page", "items"],
            "properties": {"total": {"type": "integer"}, "page": {"type": "integer", "minimum": 1},
                           "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
                           "items": {"type": "array", "items": _ref(item)}}}


def _codes() -> dict[str, dict[str, Any]]:
    """Enumerations of the curriculum codes (data/), so that the document names the valid values."""
    subjects = [s.code for s in curriculum.subjects()] + list(curriculum.preschool_domains())
    return {
        "subject": {"type": "string", "enum": subjects},
        "grade": {"type": "string", "enum": [g.code for g in curriculum.grades()]},
        "type": {"type": "string", "enum": list(curriculum.material_types())},
        "series": {"type": "string", "enum": [s.code for s in curriculum.textbook_series()]},
        "level": {"type": "string", "enum": [lv.code for lv in curriculum.levels()]},
        "licence": {"type": "string", "enum": [lic.code for lic in curriculum.licences()]},
        "language": {"type": "string", "enum": list(LANGUAGES)},
    }


_PAGING = [{"$ref": "#/components/parameters/page"}, {"$ref": "#/components/parameters/per_page"}]
_STR = {"type": "string"}
_NSTR = {"type": "string", "nullable": True}
_STRS = {"type": "array", "items": {"type": "string"}}


def _schemas() -> dict[str, Any]:
    codes = _codes()
    ref_obj = {"type": "object", "properties": {"code": _STR, "name": _STR}}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "integer"}, "message": _STR,
                           "fields": {"type": "object", "additionalProperties": _STRS}}}}},
        "Material": {"type": "object", "required": ["id", "title", "status"], "properties": {
            "id": {"type": "integer"}, "title": _STR, "description": _STR, "subject": _STR, "grades": _STRS,
            "type": _STR, "series": _NSTR, "school": ref_obj, "status": _STR, "url": _STR,
            "thumbnail_url": _NSTR, "created_at": {"type": "string", "format": "date-time"},
            "highlights": {"type": "object", "additionalProperties": _STR}}},
        "MaterialDetail": {"allOf": [_ref("Material"), {"type": "object", "properties": {
            "topic": _NSTR, "licence": _STR, "language": _STR, "updated_at": {"type": "string", "format": "date-time"},
            "files": {"type": "array", "items": _ref("File")}}}]},
        "File": {"type": "object", "properties": {
            "id": {"type": "integer"}, "version": {"type": "integer"}, "name": _STR, "size": {"type": "integer"},
            "mime_type": _STR, "kind": _STR, "sha256": _STR, "state": _STR,
            "created_at": {"type": "string", "format": "date-time"}, "download_url": _STR}},
        "MaterialUpdate": {"type": "object", "additionalProperties": False, "properties": {
            "title": _STR, "description": _STR, "subject": codes["subject"],
            "grades": {"type": "array", "items": codes["grade"], "minItems": 1}, "material_type": codes["type"],
            "type": codes["type"], "licence": codes["licence"], "topic": _NSTR, "series": codes["series"],
            "language": codes["language"]}},
        "MaterialUpload": {"type": "object", "required": ["title", "subject", "grades", "file"], "properties": {
            "title": _STR, "description": _STR, "subject": codes["subject"],
            "grades": {"type": "array", "items": codes["grade"], "minItems": 1,
                       "description": "repeat the field, or comma-separated"},
            "material_type": codes["type"], "licence": codes["licence"], "topic": _STR, "series": codes["series"],
            "language": codes["language"], "file": {"type": "string", "format": "binary"}}},
        "SearchPage": {"allOf": [_page_of("Material"), {"type": "object", "properties": {"facets": {
            "type": "object", "additionalProperties": {"type": "object",
                                                       "additionalProperties": {"type": "integer"}}}}}]},
        "School": {"type": "object", "properties": {
            "code": _STR, "name": _STR, "type": _STR, "grades": _STRS, "unit": ref_obj, "reports_to": ref_obj,
            "active": {"type": "boolean"}, "successor": _NSTR}},
        "Unit": {"type": "object", "properties": {"code": _STR, "name": _STR, "kind": _STR,
                                                  "active": {"type": "boolean"}}},
        "AuditEvent": {"type": "object", "properties": {
            "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
            "actor_id": {"type": "integer", "nullable": True}, "action": _STR, "target_type": _NSTR,
            "target_id": {"type": "integer", "nullable": True}, "details": {"type": "object"}}},
        "Vocabularies": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}},
        "SchoolPage": _page_of("School"), "UnitPage": _page_of("Unit"), "AuditPage": _page_of("AuditEvent"),
        **_review_schemas(),
        **_report_schemas(),
    }


def _review_schemas() -> dict[str, Any]:
    """The review workflow's request and queue shapes."""
    return {
        "ReviewDecision": {"type": "object", "required": ["decision"], "additionalProperties": False, "properties": {
            "decision": {"type": "string", "enum": ["approve", "request_changes", "reject"],
                         "description": "approve: the approval step the material waits for (school approval "
                                        "when submitted, publication when school-approved)"},
            "comment": {"type": "string", "maxLength": 5000,
                        "description": "the reason; required for request_changes and reject"},
            "checklist": {"type": "array", "maxItems": 30, "items": {"type": "string", "maxLength": 200},
                          "description": "the review criteria met (criteria not in force are ignored)"}}},
        "QueueItem": {"allOf": [_ref("Material"), {"type": "object", "required": ["review"], "properties": {
            "review": {"type": "object", "properties": {
                "state": {"type": "string", "enum": ["submitted", "school_approved"]},
                "waiting_since": {"type": "string", "format": "date-time"},
                "age_days": {"type": "integer", "minimum": 0}, "overdue": {"type": "boolean"},
                "claimed_by_id": {"type": "integer", "nullable": True},
                "claimed_by_other": {"type": "boolean"}}}}}]},
        "QueuePage": _page_of("QueueItem"),
    }


def _report_schemas() -> dict[str, Any]:
    """The contribution report (issue 6) and the board of its submissions."""
    count = {"type": "integer", "minimum": 0}
    share = {"type": "number", "minimum": 0, "maximum": 1}
    sums = {name: count for name in ("approved_materials", "contributed_in_period", "covered_cells",
                                      "required_cells", "teachers_active", "teachers_contributing")}
    ref_obj = {"type": "object", "required": ["code", "name"], "properties": {"code": _STR, "name": _STR}}
    return {
        "ReportSchool": {"type": "object", "required": [
            "school", "approved_materials", "covered_cells", "required_cells", "coverage", "teachers_active",
            "teachers_contributing", "meets_target"], "properties": {
            "school": {"type": "object", "required": ["code", "name", "type", "unit"], "properties": {
                "code": _STR, "name": _STR, "type": _STR,
                "unit": {"type": "string", "description": "code of the unit the school reports to"}}},
            **sums, "coverage": share, "meets_target": {"type": "boolean"},
            "in_target": {"type": "boolean", "description": "false: outside the general-education target"}}},
        "ReportTotals": {"type": "object", "required": ["unit", "schools", "covered_cells", "required_cells",
                                                        "coverage"], "properties": {
            "unit": ref_obj, "schools": count, "schools_in_target": count, "schools_meeting_target": count,
            "meeting_share": share, **sums, "coverage": share}},
        "ContributionReport": {"type": "object", "required": ["year", "period", "schools", "units", "total"],
                               "properties": {
            "year": {"type": "string", "example": "2026-2027"}, "period": {"type": "string", "example": "month:2026-11"},
            "period_first": {"type": "string", "format": "date"}, "period_last": {"type": "string", "format": "date"},
            "rules": {"type": "object"}, "schools": {"type": "array", "items": _ref("ReportSchool")},
            "units": {"type": "array", "items": _ref("ReportTotals")}, "total": _ref("ReportTotals")}},
        "BoardRow": {"type": "object", "required": ["kind", "code", "name", "submitted", "late", "overdue"],
                     "properties": {
            "kind": {"type": "string", "enum": ["school", "unit"]}, "code": _STR, "name": _STR, "reports_to": _STR,
            "submitted": {"type": "boolean"}, "submission_id": {"type": "integer", "nullable": True},
            "submitted_at": {"type": "string", "format": "date-time", "nullable": True},
            "late": {"type": "boolean"}, "overdue": {"type": "boolean"}}},
        "BoardPage": {"allOf": [_page_of("BoardRow"), {"type": "object", "required": ["period", "due"], "properties": {
            "period": _STR, "due": {"type": "string", "format": "date",
                                    "description": "submissions on or after this day are late"}}}]},
    }


def _report_paths() -> dict[str, Any]:
    period = _param("period", description="month:YYYY-MM, quarter:YYYY-Qn, year:YYYY, schoolyear:YYYY-YYYY or "
                                          "range:YYYY-MM-DD..YYYY-MM-DD; default: the current month")
    unit = _param("unit", description="a commune/ward (or the department's) code: only the schools reporting to it")
    return {
        "/reports/contributions": {"get": {
            "summary": "A period's contribution figures: per school, per reporting unit and in total (the department "
                       "sees every school, a commune/ward officer the unit's, a school admin the school's)",
            "parameters": [_param("year", description="the school year, e.g. 2026-2027; default: the one the "
                                                      "period ends in"), period, unit],
            "responses": {"200": _json(_ref("ContributionReport"))} | _errors(400, 401, 403, 404, 429)}},
        "/reports/submissions": {"get": {
            "summary": "Who has and has not submitted a month's, quarter's or year's report (late, overdue)",
            "parameters": [_param("period", description="month:YYYY-MM, quarter:YYYY-Qn or year:YYYY; default: "
                                                        "the current month"), unit, *_PAGING],
            "responses": {"200": _json(_ref("BoardPage"))} | _errors(400, 401, 403, 404, 422, 429)}},
    }


def _param(name: str, where: str = "query", schema: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema or _STR, **extra}


def _search_operation() -> dict[str, Any]:
    codes = _codes() | {"school": {"type": "string", "description": "a school code"}}
    filters = [_param(n, schema={"type": "array", "items": codes[n]}, style="form", explode=True,
                      description="codes from /vocabularies; several values are ORed")
               for n in ("subject", "grade", "type", "series", "school", "level")]
    return {"summary": "Search materials (full text, filters, facets)", "security": [{}, {"bearer": []}],
            "parameters": [_param("q"), *filters,
                           _param("sort", schema={"type": "string", "enum": ["relevance", "newest", "downloads", "title"]}),
                           *_PAGING],
            "responses": {"200": _json(_ref("SearchPage"))} | _errors(401, 422, 429)}


def _paths() -> dict[str, Any]:
    material_id = _param("material_id", "path", {"type": "integer", "minimum": 1, "maximum": 2147483647})
    multipart = {"required": True, "content": {"multipart/form-data": {"schema": _ref("MaterialUpload")}}}
    version = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "replaces": {"type": "integer", "description": "id of the current file to replace; "
                                                           "optional when the material has one file"}}}}}}
    return {
        "/materials": {
            "get": _search_operation(),
            "post": {"summary": "Create a draft material with its file", "requestBody": multipart,
                     "responses": {"201": _json(_ref("MaterialDetail"), "Created")}
                     | _errors(400, 401, 403, 413, 422, 429, 503)}},
        "/materials/{material_id}": {
            "parameters": [material_id],
            "get": {"summary": "A material with its current files",
                    "responses": {"200": _json(_ref("MaterialDetail"))} | _errors(401, 403, 404, 429)},
            "patch": {"summary": "Change a draft's metadata (only the fields sent)",
                      "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("MaterialUpdate")}}},
                      "responses": {"200": _json(_ref("MaterialDetail"))} | _errors(400, 401, 403, 404, 422, 429)}},
        "/materials/{material_id}/files": {
            "parameters": [material_id],
            "post": {"summary": "Upload a new version of a file", "requestBody": version,
                     "responses": {"201": _json(_ref("File"), "Created")}
                     | _errors(400, 401, 403, 404, 413, 422, 429, 503)}},
        **_review_paths(material_id),
        **_report_paths(),
        "/schools": {"get": {"summary": "Schools the caller may see",
                             "parameters": [_param("q"), _param("unit", description="commune/ward code"), *_PAGING],
                             "responses": {"200": _json(_ref("SchoolPage"))} | _errors(401, 403, 422, 429)}},
        "/schools/{code}": {"get": {"summary": "A school by its official code",
                                    "parameters": [_param("code", "path")],
                                    "responses": {"200": _json(_ref("School"))} | _errors(401, 403, 404, 429)}},
        "/units": {"get": {"summary": "The department and the communes/wards",
                           "parameters": [_param("kind", schema={"type": "string", "enum": ["department", "ward", "commune"]}),
                                          *_PAGING],
                           "responses": {"200": _json(_ref("UnitPage"))} | _errors(401, 422, 429)}},
        "/units/{code}": {"get": {"summary": "A unit by its code", "parameters": [_param("code", "path")],
                                  "responses": {"200": _json(_ref("Unit"))} | _errors(401, 404, 429)}},
        "/vocabularies": {"get": {"summary": "Curriculum codes: subjects, grades, levels, series, types, licences",
                                  "security": [{}], "responses": {"200": _json(_ref("Vocabularies"))} | _errors(429)}},
        "/audit": {"get": {"summary": "The audit log (department administrators; the newest 1000 events)",
                           "parameters": [_param("action"), *_PAGING],
                           "responses": {"200": _json(_ref("AuditPage"))} | _errors(401, 403, 422, 429)}},
        "/openapi.json": {"get": {"summary": "This document", "security": [{}],
                                  "responses": {"200": _json({"type": "object"})}}},
    }


def _review_paths(material_id: dict[str, Any]) -> dict[str, Any]:
    def transition(summary: str, **extra: Any) -> dict[str, Any]:
        return {"parameters": [material_id], "post": {
            "summary": summary, **extra,
            "responses": {"200": _json(_ref("MaterialDetail"), "The material in its new state")}
            | _errors(400, 401, 403, 404, 409, 422, 429)}}

    decision = {"required": True, "content": {"application/json": {"schema": _ref("ReviewDecision")}}}
    codes = _codes()
    filters = [_param("subject", schema=codes["subject"]), _param("grade", schema=codes["grade"]),
               _param("school", description="a school code"),
               _param("age", schema={"type": "integer", "minimum": 1, "maximum": 36500},
                      description="only items waiting at least this many days")]
    return {
        "/materials/{material_id}/submit": transition("Submit a draft (or a returned material) for review"),
        "/materials/{material_id}/withdraw": transition("Withdraw a submission before any decision"),
        "/materials/{material_id}/review": transition(
            "A reviewer's decision: approve, request changes or reject (409 in a state without that step)",
            requestBody=decision),
        "/reviews/queue": {"get": {
            "summary": "The items waiting for the caller's decision, oldest first",
            "parameters": [*filters, *_PAGING],
            "responses": {"200": _json(_ref("QueuePage"))} | _errors(401, 403, 422, 429)}},
    }


def _responses() -> dict[str, Any]:
    error = {"application/json": {"schema": _ref("Error")}}
    texts = {400: "Bad request (e.g. no CSRF token on a cookie-authenticated write)",
             401: "Missing, forged, expired or revoked credentials", 403: "Not allowed (or a write with a read-only token)",
             404: "Not found", 409: "Conflict", 413: "Body too large", 422: "Invalid input",
             429: "Rate limit exceeded", 503: "Storage or database unavailable"}
    return {f"E{code}": {"description": text, "content": error} for code, text in texts.items()}


def spec(server_url: str) -> dict[str, Any]:
    """The whole document; `server_url` is where /api/v1 is served."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Kho học liệu số — API", "version": "1.0.0",
                 "description": "JSON API of the shared learning-material repository. Authenticate with a "
                                "personal access token (Authorization: Bearer ...) made on the account page or "
                                "with `flask --app app tokens create`. A signed-in browser session works too; its writes "
                                "need the X-CSRFToken header. Errors are {\"error\": {\"code\", \"message\"}}; "
                                "lists are {\"total\", \"page\", \"per_page\", \"items\"} with page from 1 and "
                                "per_page 20 by default, at most 100."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            # A signed-in browser session is accepted too (writes then need X-CSRFToken); it is not
            # a scheme for scripts, so it is described, not declared.
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a personal access token (khl_...)"}},
            "parameters": {
                "page": _param("page", schema={"type": "integer", "minimum": 1, "default": 1}),
                "per_page": _param("per_page", schema={"type": "integer", "minimum": 1, "maximum": 100, "default": 20})},
            "schemas": _schemas(),
            "responses": _responses(),
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Any:
    return jsonify(spec(url_for("api.openapi_json", _external=True).rsplit("/", 1)[0]))


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Kho học liệu số — API</title>
<link rel="stylesheet" href="{{ url_for('api_docs.asset', name='swagger-ui.css') }}">
<link rel="icon" href="{{ url_for('api_docs.asset', name='favicon-32x32.png') }}"></head>
<body><div id="swagger-ui" data-spec="{{ url_for('api.openapi_json') }}"></div>
<script src="{{ url_for('api_docs.asset', name='swagger-ui-bundle.js') }}"></script>
<script src="{{ url_for('api_docs.init') }}"></script></body></html>"""

_INIT = """window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: node.getAttribute("data-spec"), domNode: node, deepLinking: true});
});
"""


def _assets_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@docs_bp.get("/")
def docs() -> Any:
    response = current_app.make_response(render_template_string(_PAGE))
    # Swagger UI sets inline styles on the elements it draws; only styles are relaxed, scripts stay 'self'.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
    return response


@docs_bp.get("/init.js")
def init() -> Any:
    return current_app.response_class(_INIT, mimetype="text/javascript")


@docs_bp.get("/assets/<name>")
def asset(name: str) -> Any:
    if name not in _ASSETS:
        abort(404)
    return send_from_directory(_assets_dir(), name, max_age=86400)
