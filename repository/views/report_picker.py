"""The period picker of the report pages: what a request names, the choices offered, the labels.

Rules: the picker offers the periods of one school year (its months, the quarters and calendar
year that end inside it, the school year itself) plus a custom range given by two dates; other
school years are reached by links, so the year and the period chosen never disagree. Any period
text is still accepted in the query (links, exports); the service validates it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping, Optional

from flask_babel import lazy_gettext as _l

from repository.errors import ValidationError
from repository.reports import periods
from repository.reports.export import period_label as label  # one wording for pages and files
from repository.reports.rules import DEFAULT_START

MAX_TEXT = 60  # longer query values are not periods; the service reports them as invalid
QUERY_KEYS = ("year", "period", "from", "to")  # what names a period in a page's query


@dataclass(frozen=True)
class Choice:
    key: str
    label: str


def requested(args: Mapping[str, str]) -> tuple[Optional[str], Optional[str]]:
    """(year, period) a request names; a custom range comes as `from` and `to` dates."""
    year = (args.get("year") or "").strip()[:MAX_TEXT] or None
    first, last = (args.get("from") or "").strip()[:10], (args.get("to") or "").strip()[:10]
    if first or last:
        return year, f"range:{first}..{last}"
    return year, (args.get("period") or "").strip()[:MAX_TEXT] or None


def choices(first_year: int, starts_on: date) -> list[tuple[str, list[Choice]]]:
    """The periods of the school year starting `starts_on`, grouped for an <optgroup> list."""
    last = date(starts_on.year + 1, starts_on.month, starts_on.day) - timedelta(days=1)
    months = [periods.parse(f"month:{m.year:04d}-{m.month:02d}") for m in periods.months(starts_on, last)]
    inside = [m for m in months if starts_on <= m.last <= last]
    quarters = {periods.parse(f"quarter:{m.first.year:04d}-Q{(m.first.month - 1) // 3 + 1}") for m in inside}
    years = {periods.parse(f"year:{m.first.year:04d}") for m in inside}
    school_year = periods.parse(f"schoolyear:{periods.school_year_label(first_year)}")
    groups = [(str(_l("Tháng")), inside),
              (str(_l("Quý")), sorted((q for q in quarters if starts_on <= q.last <= last), key=lambda p: p.first)),
              (str(_l("Năm")), sorted((y for y in years if starts_on <= y.last <= last), key=lambda p: p.first)),
              (str(_l("Năm học")), [school_year])]
    return [(name, [Choice(p.key, label(p)) for p in found]) for name, found in groups if found]


def school_years(first_year: int) -> list[str]:
    """Links to the neighbouring school years (the previous two and the next one)."""
    return [periods.school_year_label(y) for y in range(first_year - 2, first_year + 2)]


def fallback_year(year: Optional[str]) -> int:
    """The school year to offer when a request failed: the named one if it parses, else today's."""
    try:
        return periods.school_year_first(year or "")
    except ValidationError:
        today = periods.today()
        return today.year if today >= date(today.year, *DEFAULT_START) else today.year - 1


def query(year: str, period: str, unit: Optional[str] = None) -> dict[str, Any]:
    """The query string that reproduces a page (exports, drill-down links)."""
    return {k: v for k, v in {"year": year, "period": period, "unit": unit}.items() if v}
