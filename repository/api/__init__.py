"""The JSON API under /api/v1: thin views over the same service functions as the web pages.

Route modules register themselves on `bp`; importing them below attaches their routes. Errors
are JSON `{"error": {"code", "message"}}` (errors.py), lists are paged alike (pagination.py),
callers authenticate with a session cookie or a personal access token (auth.py), and every
request counts against the per-token and per-IP rate limits.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from repository.api import auth  # noqa: E402

auth.limit(bp)

from repository.api import errors, materials, openapi, reference, reports, review, search  # noqa: E402,F401
from repository.api.openapi import docs_bp  # noqa: E402,F401
