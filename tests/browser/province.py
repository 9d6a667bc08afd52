"""The data the browser journeys start from, written through the real services before the server
starts: two communes, three schools, one account per role and one published material that the
grade filter must hide (the "distractor").

The accounts are the `world` fixture's (tests/conftest.py), so the e-mails in
tests/repository/review_support.py name the same people here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repository.extensions import db
from repository.models import AdminUnit, Role
from tests.helpers import PASSWORD
from tests.repository import review_support as people


@dataclass(frozen=True)
class Account:
    email: str
    name: str
    roles: tuple[str, ...]
    school: str = ""
    unit: str = ""
    password: str = PASSWORD


ACCOUNTS = {
    "teacher": Account(people.TEACHER, "Vũ Thị Giang", (Role.TEACHER.value,), "THCS01"),
    "school_reviewer": Account(people.REVIEWER, "Hoàng Văn Em",
                               (Role.SCHOOL_REVIEWER.value, Role.TEACHER.value), "THCS01"),
    "dept_reviewer": Account(people.DEPT_REVIEWER, "Trần Thị Bình", (Role.DEPT_REVIEWER.value,)),
    "dept_admin": Account(people.DEPT_ADMIN, "Nguyễn Văn An", (Role.DEPT_ADMIN.value,)),
    # The report journeys (test_reports.py): THCS01's admin, THCS02's admin and the Hoa Lư officer.
    "school_admin": Account(people.SCHOOL_ADMIN, "Phạm Thị Dung", (Role.SCHOOL_ADMIN.value,), "THCS01"),
    "school_admin2": Account(people.SCHOOL_ADMIN2, "Bùi Thị Lan", (Role.SCHOOL_ADMIN.value,), "THCS02"),
    "unit_officer": Account("canbo@hoalu.ninhbinh.edu.vn", "Lê Văn Cường", (Role.UNIT_OFFICER.value,), unit="14329"),
    "teacher2": Account(people.TEACHER2, "Đỗ Văn Minh", (Role.TEACHER.value,), "THCS02"),
}
UNITS = [("14329", "Phường Hoa Lư", "ward"), ("14464", "Xã Gia Viễn", "commune")]
# (code, name, type, commune/ward): Hoa Lư's officer sees THCS01 and not THCS02.
SCHOOLS = [("THCS01", "Trường THCS Hoa Lư", "THCS", "14329"),
           ("THCS02", "Trường THCS Gia Viễn", "THCS", "14464"),
           ("THPT01", "Trường THPT Hoa Lư A", "THPT", "14329")]

# Every journey searches for this phrase typed without diacritics; the distractor matches it too,
# in grade 9, so the journey's grade filter (a grade other than 9) must hide it.
SEARCH_PHRASE = "dinh li pythagore"
DISTRACTOR_TITLE = "Định lí Pythagore: bài tập ôn luyện"
DISTRACTOR_GRADE = "9"


def seed(app: object, work: Path) -> None:
    """Create the schema (migrations) and the data above in the app's database."""
    from flask_migrate import upgrade

    with app.app_context():  # type: ignore[attr-defined]
        upgrade()
        _schools()
        made = _accounts()
        people.published(made, work, title=DISTRACTOR_TITLE, grades=[DISTRACTOR_GRADE],
                         description="Bài tập về định lí Pythagore cho học sinh lớp 9.")
        db.session.remove()
        db.engine.dispose()


def _schools() -> None:
    from repository.permissions import SystemActor
    from repository.services import schools

    schools.department_unit()
    db.session.add_all([AdminUnit(code=code, name=name, kind=kind, province_code=37) for code, name, kind in UNITS])
    db.session.commit()
    for code, name, kind, unit in SCHOOLS:
        schools.save_school(SystemActor(), None, schools.SchoolInput(code, name, kind, unit))


def _accounts() -> dict[str, object]:
    from repository.permissions import SystemActor
    from repository.services import users

    made = {}
    for key, account in ACCOUNTS.items():
        data = users.UserInput(account.email, account.name, account.school, account.unit, list(account.roles))
        made[key], _link = users.create_user(SystemActor(), data, password=account.password)
    return made
