"""The measure of a school year: when it starts and what "meets the target" means.

Rules: each school year has its own rules row (report_years), edited by the department admin;
a year without a row uses the defaults below. A row is written ("frozen") the first time a
report of that year is submitted, so later changes of the defaults never alter an old year.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from repository.errors import ValidationError
from repository.extensions import db
from repository.models import ReportYear
from repository.reports.periods import Period, school_year_first, school_year_label

DEFAULT_START = (9, 5)  # 5 September
APPROVALS = ("school", "publication")


@dataclass(frozen=True)
class YearRules:
    """Rules of one school year. `approval` says which approval makes a material count:
    "school" (a published material has passed it too) or "publication" (department only)."""

    school_year: str
    starts_on: date
    min_per_cell: int = 1
    target_share: float = 1.0  # coverage needed to meet the target, 0..1
    approval: str = "school"
    preschool_in_target: bool = False
    min_per_teacher: Optional[float] = None  # approved materials per active teacher
    min_per_subject: Optional[int] = None  # approved materials in each required subject
    stored: bool = False  # False: the defaults, no row yet

    @property
    def first_year(self) -> int:
        return int(self.school_year[:4])

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["starts_on"] = self.starts_on.isoformat()
        data.pop("stored")
        return data


RULE_FIELDS = ("min_per_cell", "target_share", "approval", "preschool_in_target", "min_per_teacher",
               "min_per_subject")


def defaults(first_year: int) -> YearRules:
    return YearRules(school_year_label(first_year), date(first_year, *DEFAULT_START))


def _from_row(row: ReportYear) -> YearRules:
    base = defaults(int(row.school_year[:4]))
    known = {k: v for k, v in (row.rules or {}).items() if k in RULE_FIELDS}
    return replace(base, starts_on=row.starts_on, stored=True, **known)


def all_years() -> dict[int, YearRules]:
    """Every stored year's rules by first calendar year (one query)."""
    return {int(row.school_year[:4]): _from_row(row) for row in db.session.scalars(select(ReportYear))}


class Calendar:
    """School years as the stored rules define them: which year a day falls in, and its bounds."""

    def __init__(self) -> None:
        self._stored = all_years()

    def rules(self, first_year: int) -> YearRules:
        return self._stored.get(first_year) or defaults(first_year)

    def bounds(self, first_year: int) -> tuple[date, date]:
        """First and last day of the school year: up to the day before the next year starts."""
        return self.rules(first_year).starts_on, self.rules(first_year + 1).starts_on - timedelta(days=1)

    def year_of(self, day: date) -> int:
        first_year = day.year if day >= self.rules(day.year).starts_on else day.year - 1
        return first_year

    def resolve(self, period: Period) -> Period:
        """A schoolyear period with its real bounds (they depend on the configured start dates)."""
        if period.kind != "schoolyear":
            return period
        first, last = self.bounds(int(period.key.split(":")[1][:4]))
        return replace(period, first=first, last=last)


def check(first_year: int, values: dict[str, Any]) -> YearRules:
    """Validated rules from a form or API payload; ValidationError names each bad field."""
    errors: dict[str, list[Any]] = {}
    base = defaults(first_year)
    starts_on = values.get("starts_on") or base.starts_on
    if isinstance(starts_on, str):
        try:
            starts_on = date.fromisoformat(starts_on)
        except ValueError:
            errors["starts_on"] = [_l("Ngày bắt đầu năm học không hợp lệ.")]
            starts_on = base.starts_on
    if not date(first_year, 7, 1) <= starts_on <= date(first_year, 10, 31):
        errors["starts_on"] = [_l("Năm học %(year)s phải bắt đầu trong khoảng 1/7 đến 31/10 năm %(first)s.",
                                  year=base.school_year, first=first_year)]
    min_cell = _number(values.get("min_per_cell", 1), int, 1, 1000, "min_per_cell", errors)
    share = _number(values.get("target_share", 1.0), float, 0.01, 1.0, "target_share", errors)
    approval = values.get("approval") or "school"
    if approval not in APPROVALS:
        errors["approval"] = [_l("Chọn cấp duyệt được tính: trường hoặc Sở công bố.")]
    per_teacher = _optional(values.get("min_per_teacher"), float, 0.0, 1000.0, "min_per_teacher", errors)
    per_subject = _optional(values.get("min_per_subject"), int, 1, 10000, "min_per_subject", errors)
    if errors:
        raise ValidationError(_l("Quy định năm học chưa hợp lệ."), field_errors=errors)
    return YearRules(base.school_year, starts_on, min_cell, share, approval, bool(values.get("preschool_in_target")),
                     per_teacher, per_subject)


def _number(raw: Any, kind: type, low: float, high: float, field: str, errors: dict) -> Any:
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        errors[field] = [_l("Hãy nhập một số.")]
        return low
    if not low <= value <= high:
        errors[field] = [_l("Giá trị phải từ %(low)s đến %(high)s.", low=low, high=high)]
    return value


def _optional(raw: Any, kind: type, low: float, high: float, field: str, errors: dict) -> Any:
    return None if raw in (None, "") else _number(raw, kind, low, high, field, errors)


def store(rules: YearRules, actor_id: Optional[int]) -> YearRules:
    """Write the year's rules row (the caller commits)."""
    row = db.session.get(ReportYear, rules.school_year) or ReportYear(school_year=rules.school_year)
    row.starts_on = rules.starts_on
    row.rules = {k: getattr(rules, k) for k in RULE_FIELDS}
    row.updated_by_id = actor_id
    db.session.add(row)
    return replace(rules, stored=True)


def parse_year(text: str) -> int:
    return school_year_first(text)
