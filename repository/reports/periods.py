"""Reporting periods: their syntax, their local-time bounds, their school year and deadline.

Rules (the department's plan): a month's report is due before the 20th of that month, a
quarter's before the 20th of its last month, a calendar year's before 10 December; school years
and custom ranges can be viewed but have no deadline, so they cannot be submitted. Dates are
local (Asia/Ho_Chi_Minh); the database keeps naive UTC, so bounds are converted once here.

Syntax: month:YYYY-MM, quarter:YYYY-Qn, year:YYYY, schoolyear:YYYY-YYYY,
range:YYYY-MM-DD..YYYY-MM-DD.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from repository.errors import ValidationError

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
DUE_DAY = 20  # month and quarter reports: before the 20th
YEAR_DUE = (12, 10)  # calendar-year report: before 10 December
MAX_RANGE_DAYS = 800
_SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
_PATTERNS = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE),
    "year": re.compile(r"^(\d{4})$"),
    "schoolyear": _SCHOOL_YEAR,
    "range": re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$"),
}
KINDS = tuple(_PATTERNS)


@dataclass(frozen=True)
class Period:
    """A reporting period: inclusive local dates, its canonical key and its deadline (or None)."""

    kind: str
    key: str  # canonical text, e.g. "month:2026-11"
    first: date
    last: date
    due: Optional[date]  # submissions on or after this date are late; None: not submittable

    @property
    def start_utc(self) -> datetime:
        return local_midnight_utc(self.first)

    @property
    def end_utc(self) -> datetime:
        """The instant the period ends (exclusive): local midnight after its last day."""
        return local_midnight_utc(self.last + timedelta(days=1))

    @property
    def submittable(self) -> bool:
        return self.due is not None


def local_midnight_utc(day: date) -> datetime:
    """Local midnight starting `day`, as the naive UTC the database stores."""
    return datetime.combine(day, time(), LOCAL).astimezone(timezone.utc).replace(tzinfo=None)


def local_date(moment: datetime) -> date:
    """The local calendar day of a stored (naive UTC) instant."""
    return moment.replace(tzinfo=timezone.utc).astimezone(LOCAL).date()


def today() -> date:
    return datetime.now(LOCAL).date()


def _bad(text: str) -> ValidationError:
    msg = _l("Kỳ báo cáo “%(text)s” không hợp lệ. Dùng month:YYYY-MM, quarter:YYYY-Qn, year:YYYY, "
             "schoolyear:YYYY-YYYY hoặc range:YYYY-MM-DD..YYYY-MM-DD.", text=text[:60])
    return ValidationError(msg, field_errors={"period": [msg]})


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def _build(kind: str, match: re.Match, text: str) -> Period:
    if kind == "month":
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise _bad(text)
        return Period(kind, f"month:{year:04d}-{month:02d}", date(year, month, 1), _month_end(year, month),
                      date(year, month, DUE_DAY))
    if kind == "quarter":
        year, quarter = int(match[1]), int(match[2])
        last_month = quarter * 3
        return Period(kind, f"quarter:{year:04d}-Q{quarter}", date(year, last_month - 2, 1),
                      _month_end(year, last_month), date(year, last_month, DUE_DAY))
    if kind == "year":
        year = int(match[1])
        return Period(kind, f"year:{year:04d}", date(year, 1, 1), date(year, 12, 31), date(year, *YEAR_DUE))
    if kind == "schoolyear":
        first_year = school_year_first(f"{match[1]}-{match[2]}")
        return Period(kind, f"schoolyear:{first_year}-{first_year + 1}", date(first_year, 1, 1),
                      date(first_year + 1, 12, 31), None)  # bounds are set by the year's start date
    first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
    if last < first or (last - first).days > MAX_RANGE_DAYS:
        raise _bad(text)
    return Period(kind, f"range:{first.isoformat()}..{last.isoformat()}", first, last, None)


def parse(text: str) -> Period:
    """The period `text` names, or ValidationError (HTTP 400) with the accepted syntax."""
    raw = (text or "").strip()
    kind, _, rest = raw.partition(":")
    pattern = _PATTERNS.get(kind.lower())
    match = pattern.match(rest) if pattern else None
    if match is None:
        raise _bad(raw)
    try:
        return _build(kind.lower(), match, raw)
    except ValueError:  # an impossible calendar date such as 2026-02-30
        raise _bad(raw) from None


def school_year_first(text: str) -> int:
    """The first calendar year of a school year "YYYY-YYYY" (the second must follow it)."""
    match = _SCHOOL_YEAR.match((text or "").strip())
    if match is None or int(match[2]) != int(match[1]) + 1 or not 2000 <= int(match[1]) <= 2100:
        msg = _l("Năm học “%(text)s” không hợp lệ; viết dạng 2026-2027.", text=(text or "")[:20])
        raise ValidationError(msg, field_errors={"year": [msg]})
    return int(match[1])


def school_year_label(first_year: int) -> str:
    return f"{first_year}-{first_year + 1}"


def months(first: date, last: date) -> list[date]:
    """The first day of every month that overlaps [first, last], in order."""
    out, current = [], date(first.year, first.month, 1)
    while current <= last:
        out.append(current)
        current = _month_end(current.year, current.month) + timedelta(days=1)
    return out


def current_month() -> Period:
    day = today()
    return parse(f"month:{day.year:04d}-{day.month:02d}")
