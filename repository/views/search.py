"""The search page (/search) and the browse page (/browse: subject -> grade -> topic).

Anonymous visitors are sent to sign in (by the DomainError handler) when anonymous access is off.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_login import current_user

from repository.errors import ValidationError
from repository.services import search

bp = Blueprint("search", __name__)
BROWSE_FACETS = ("subject", "grade", "topic")


def _page(facets: tuple[str, ...] = search.FACETS) -> tuple[Any, int]:
    """Parse the arguments and search; a bad argument shows its message above an empty page."""
    try:
        return search.search(current_user, search.parse(request.args), facets), 200
    except ValidationError as error:
        flash(str(error.message), "danger")
        return None, error.status


@bp.route("/search")
def results() -> Any:
    page, status = _page()
    return render_template("search/results.html", page=page), status


@bp.route("/browse")
def browse() -> Any:
    page, status = _page(BROWSE_FACETS)
    return render_template("search/browse.html", page=page), status
