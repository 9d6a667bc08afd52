"""Search: the Vietnamese analyzer, the Whoosh index kept in step with the database through
the change log, and the query engine. Every Whoosh call lives in this package.

Imports stay lazy here because repository.curriculum uses search.vietnamese at import time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from search.service import SearchIndex


def init_app(app: Any) -> None:
    from search import changelog
    from search.service import SearchIndex

    changelog.install()
    app.extensions["search"] = SearchIndex(app)


def service_index() -> "SearchIndex":
    from flask import current_app

    return current_app.extensions["search"]
