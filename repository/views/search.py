"""The search page (/search) and the browse page (/browse: subject -> grade -> topic).

Anonymous visitors are sent to sign in (by the DomainError handler) when anonymous access is off.

Everyone with the same audience sees the same results block for the same arguments and language,
so that block is rendered once and reused for at most SEARCH_PAGE_MAX_AGE seconds
(search/pages.py; 0, the default, renders every page); the page around it (navigation, CSRF
tokens, messages) is rendered for each request. The audiences: anonymous visitors; and everyone
signed in whose own clauses (their school's unpublished materials, their review queue, their
drafts) add no match to the query (services.search.PreparedSearch.shareable). A person whose own
materials do match gets a page of their own, rendered for them.
"""
from __future__ import annotations

import time
from typing import Any, Hashable, Optional, Union

from flask import Blueprint, current_app, flash, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from repository.errors import ValidationError
from repository.services import search
from search.pages import PageCache
from search.service import max_age

bp = Blueprint("search", __name__)
BROWSE_FACETS = ("subject", "grade", "topic")
# The results page with its content block replaced by an already rendered one.
_WITH_CONTENT = '{% extends "search/results.html" %}{% block content %}{{ rendered_content }}{% endblock %}'
_clock = time.monotonic  # tests replace it: freshness must not depend on how fast a test runs


def _prepared(facets: tuple[str, ...] = search.FACETS,
              narrow: Optional[bool] = None) -> Union[search.PreparedSearch, int]:
    """The request's search made ready; a bad argument is flashed and its status returned."""
    try:
        return search.prepare(current_user, search.parse(request.args), facets, narrow)
    except ValidationError as error:
        flash(str(error.message), "danger")
        return error.status


def _page(facets: tuple[str, ...] = search.FACETS) -> tuple[Any, int]:
    """Parse the arguments and search; a bad argument shows its message above an empty page."""
    prepared = _prepared(facets)
    if isinstance(prepared, int):
        return None, prepared
    return search.results(prepared), 200


def _shared_pages() -> Optional[PageCache]:
    """This app's cache of anonymous results blocks; None when SEARCH_PAGE_MAX_AGE is 0."""
    pages = current_app.extensions.get("search_pages")
    if pages is None:
        pages = PageCache(max_age(current_app.config, "SEARCH_PAGE_MAX_AGE"))
        current_app.extensions["search_pages"] = pages
    return pages if pages.max_age > 0 else None


def _render_capturing(page: Any) -> tuple[str, Markup]:
    """The whole results page, rendered once, and its content block as rendered inside it."""
    template = current_app.jinja_env.get_template("search/results.html")
    values = {"page": page}
    current_app.update_template_context(values)
    context = template.new_context(values)
    block = context.blocks["content"][0]
    captured: list[str] = []

    def capture(inner: Any) -> Any:
        captured.append("".join(block(inner)))
        yield captured[-1]

    context.blocks["content"][0] = capture  # base.html renders the first of the block's chain
    html = "".join(template.root_render_func(context))
    return html, Markup(captured[0])


def _shared_results(pages: PageCache, audience: Hashable,
                    prepared: Optional[search.PreparedSearch]) -> Any:
    """The results block of `audience` from the cache, or rendered (from `prepared`, the
    request's search, prepared here when the caller had no need to) and kept for others."""
    key = (audience, str(get_locale()), tuple(sorted(request.args.items(multi=True))))
    content = pages.get(key, _clock())
    if content is not None:
        if pages.wrapper is None:
            pages.wrapper = current_app.jinja_env.from_string(_WITH_CONTENT)
        return render_template(pages.wrapper, rendered_content=content), 200
    prepared = prepared or _prepared()
    if isinstance(prepared, int):  # a refused argument: its message is this request's, never shared
        return render_template("search/results.html", page=None), prepared
    html, content = _render_capturing(search.results(prepared, shared=True))
    pages.put(key, content, _clock())
    return html, 200


@bp.route("/search")
def results() -> Any:
    pages = _shared_pages()
    if pages is not None and not current_user.is_authenticated:
        # One visibility for all anonymous visitors: the cache is looked up before any parsing.
        return _shared_results(pages, "anonymous", None)
    # Whether the block can be shared is known only from the narrowed visibility.
    prepared = _prepared(narrow=True if pages is not None else None)
    if isinstance(prepared, int):
        return render_template("search/results.html", page=None), prepared
    if pages is not None and prepared.shareable:
        return _shared_results(pages, prepared.visibility, prepared)
    return render_template("search/results.html", page=search.results(prepared)), 200


@bp.route("/browse")
def browse() -> Any:
    page, status = _page(BROWSE_FACETS)
    return render_template("search/browse.html", page=page), status
