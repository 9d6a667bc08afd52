"""Errors of the JSON API: always `{"error": {"code": <HTTP status>, "message": "..."}}`.

Domain errors raised by the services keep their status (and field errors under "fields");
HTTP errors outside the API's views (unknown paths, 405, 413, 429, CSRF) are answered as JSON by
repository.web for every path under /api/. A 401 names the Bearer scheme, as HTTP requires.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify

from repository.api import bp
from repository.errors import DomainError
from repository.extensions import db


def error_body(status: int, message: Any, fields: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "message": str(message)}
    if fields:
        body["fields"] = {name: [str(m) for m in messages] for name, messages in fields.items()}
    return {"error": body}


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Any:
    db.session.rollback()  # nothing half-written outlives a refusal
    response = jsonify(error_body(error.status, error.message, error.field_errors))
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
