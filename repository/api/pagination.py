"""Uniform paging for every API list: `page` from 1, `per_page` 20 by default and at most 100,
answered as `{"total", "page", "per_page", "items"}`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from flask import request
from flask_babel import lazy_gettext as _l

from repository.errors import ValidationError

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PageRequest:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _positive(args: Mapping[str, str], name: str, default: int, maximum: Optional[int] = None) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum) or value > 10**6:
        limit = maximum or 10**6
        message = _l("%(name)s phải là số nguyên từ 1 đến %(max)d.", name=name, max=limit)
        raise ValidationError(message, field_errors={name: [message]})
    return value


def page_request(args: Optional[Mapping[str, str]] = None) -> PageRequest:
    """Read page/per_page from the query string (or `args`); 422 when they are not in range."""
    args = request.args if args is None else args
    return PageRequest(_positive(args, "page", 1), _positive(args, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE))


def envelope(total: int, paging: PageRequest, items: list[Any]) -> dict[str, Any]:
    """The one shape of a page of results."""
    return {"total": total, "page": paging.page, "per_page": paging.per_page, "items": items}


def paginate(rows: Sequence[Any], paging: PageRequest, to_json: Callable[[Any], Any]) -> dict[str, Any]:
    """A page of an already-fetched list (the services return bounded lists)."""
    chosen = rows[paging.offset:paging.offset + paging.per_page]
    return envelope(len(rows), paging, [to_json(row) for row in chosen])
