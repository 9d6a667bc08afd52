"""Forms of the report pages: a school year's rules and a school's electives.

The rules themselves are checked by the service (repository.reports.rules.check), whose field
errors the page attaches to these fields; the form only turns the target percentage into the
0..1 share the service stores, because a "1.0" limit would make no sense on a percent field.
"""
from __future__ import annotations

from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from repository.reports.rules import YearRules


def _percent(text: Optional[str]) -> Optional[float]:
    """ "80", "80%", "12,5" -> 80.0, 80.0, 12.5; None when it is no number."""
    try:
        return float((text or "").strip().rstrip("%").strip().replace(",", "."))
    except ValueError:
        return None


class YearRulesForm(FlaskForm):
    starts_on = StringField(_l("Ngày bắt đầu năm học"), validators=[Length(max=10)], render_kw={"type": "date"})
    min_per_cell = StringField(_l("Số học liệu tối thiểu của mỗi ô (lớp × môn)"), validators=[Length(max=12)],
                               render_kw={"type": "number", "min": 1, "step": 1})
    target_share = StringField(_l("Tỉ lệ ô cần phủ để đạt chỉ tiêu (%)"), validators=[Length(max=12)],
                               render_kw={"inputmode": "decimal"})
    approval = SelectField(_l("Học liệu được tính từ khi"), validate_choice=False, choices=[
        SelectChoice("school", _l("Trường duyệt (học liệu đã được Sở công bố cũng được tính)")),
        SelectChoice("publication", _l("Sở công bố"))])
    preschool_in_target = BooleanField(_l("Tính cả trường mầm non vào chỉ tiêu"))
    min_per_teacher = StringField(_l("Số học liệu tối thiểu trên mỗi giáo viên (để trống: không xét)"),
                                  validators=[Length(max=12)], render_kw={"inputmode": "decimal"})
    min_per_subject = StringField(_l("Số học liệu tối thiểu của mỗi môn (để trống: không xét)"),
                                  validators=[Length(max=12)], render_kw={"type": "number", "min": 1, "step": 1})

    def validate_target_share(self, field: Any) -> None:
        value = _percent(field.data)
        if value is None or not 1 <= value <= 100:
            raise ValidationError(_l("Nhập tỉ lệ từ 1 đến 100 (%)."))

    @classmethod
    def of(cls, rules: YearRules) -> "YearRulesForm":
        """The form filled with a year's rules (the share shown as a percentage)."""
        return cls(data={"starts_on": rules.starts_on.isoformat(), "min_per_cell": str(rules.min_per_cell),
                         "target_share": f"{rules.target_share * 100:g}", "approval": rules.approval,
                         "preschool_in_target": rules.preschool_in_target,
                         "min_per_teacher": "" if rules.min_per_teacher is None else f"{rules.min_per_teacher:g}",
                         "min_per_subject": "" if rules.min_per_subject is None else str(rules.min_per_subject)})

    def values(self) -> dict[str, Any]:
        """What the service's set_year_rules takes (text it cannot read is its to refuse)."""
        return {"starts_on": (self.starts_on.data or "").strip(),
                "min_per_cell": (self.min_per_cell.data or "").strip(),
                "target_share": (_percent(self.target_share.data) or 0) / 100, "approval": self.approval.data,
                "preschool_in_target": bool(self.preschool_in_target.data),
                "min_per_teacher": (self.min_per_teacher.data or "").strip().replace(",", "."),
                "min_per_subject": (self.min_per_subject.data or "").strip()}


class ElectivesForm(FlaskForm):
    """The grade 10-12 electives a school teaches; the service refuses codes it does not offer."""

    subjects = SelectMultipleField(_l("Môn học lựa chọn nhà trường dạy"), validate_choice=False,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def offer(self, options: list[tuple[str, str]]) -> None:
        """The checkboxes: (code, name) of each elective the programme offers."""
        self.subjects.choices = [SelectChoice(code, name) for code, name in options]
