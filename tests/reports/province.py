"""A small hand-built province for the report tests, made through the real services.

School year 2026-2027 (starts 5 September 2026). Materials, their authors and the local dates of
their approvals (every figure the tests expect is worked out by hand from this table):

  THCS01 (Phường Hoa Lư, reports to the ward)   teachers now: teacher, school_reviewer
    m1  TOAN 6       mover     school 10/10, published 20/10     mover moves to THCS02 on 25/10
    m2  LICH_SU 6,7  teacher   school 05/11                       fills LS_DL in grades 6 and 7
    m3  TOAN 6       teacher   school 01/09                       before the school year
    m4  KHTN 8       reviewer  school 01/10, retracted 10/11
    m5  NGU_VAN 9    teacher   school 15/11                       same file as m6 (earlier, THCS02)
    m7  TOAN 7       teacher   school 03/12                       after November
  THCS02 (Xã Gia Viễn, reports to the commune)  teachers now: teacher2, mover
    m6  NGU_VAN 9    teacher2  school 02/10
  THCS03 (Xã Gia Viễn) merged into THCS02 on 20/11                teacher: t3
    m10 TOAN 6       t3        school 15/10
  THPT01 (reports to the department), electives VAT_LI, HOA_HOC   teacher: t_thpt
    m8  VAT_LI 10    t_thpt    school 02/11, published 25/11
    m9  SINH_HOC 10  t_thpt    school 03/11                       not an elective it declared
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from repository import demo_files
from repository.extensions import db
from repository.models import AuditEvent, School, User
from repository.permissions import SystemActor
from repository.reports import facts
from repository.reports.periods import LOCAL
from repository.services import materials, reports, review, schools, users
from tests.conftest import PASSWORD


def local(day: str, hour: int = 10) -> datetime:
    """A local date (dd/mm/yyyy) at `hour` o'clock, as the naive UTC the database stores."""
    d, m, y = (int(x) for x in day.split("/"))
    return datetime(y, m, d, hour, tzinfo=LOCAL).astimezone(timezone.utc).replace(tzinfo=None)


def _retime(material_id: int, times: dict[str, datetime]) -> None:
    """Give the material's newest audit event of each action the date the scenario says."""
    for action, when in times.items():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.target_type == "materials",
                                                           AuditEvent.target_id == material_id,
                                                           AuditEvent.action == action)
                                  .order_by(AuditEvent.id.desc()).limit(1))
        assert event is not None, (material_id, action)
        event.at = when
    db.session.commit()
    facts.refresh(db.session, [material_id])
    db.session.commit()


def _material(author: User, tmp_path: Path, title: str, subject: str, grades: list[str], pdf: Path | None = None) -> Any:
    if pdf is None:
        pdf = tmp_path / f"{title}.pdf"
        demo_files.pdf_file(pdf, title, [title, subject, *grades])
    data = materials.MaterialInput(title=title, subject=subject, grades=grades, material_type="BAI_GIANG_DIEN_TU",
                                   licence="CC_BY_4")
    return materials.create_material(author, data, [materials.Upload(path=pdf, filename=f"{title}.pdf")])


def approved(world: dict[str, Any], author: User, tmp_path: Path, title: str, subject: str, grades: list[str],
             school_day: str, *, published: str = "", retracted: str = "", pdf: Path | None = None) -> Any:
    """A material approved by the school on `school_day` (and published / retracted later)."""
    material = _material(author, tmp_path, title, subject, grades, pdf)
    review.submit(author, material)
    review.school_approve(world["dept_admin"], material)
    times = {"review.school_approve": local(school_day)}
    if published:
        review.publish(world["dept_reviewer"], material)
        times["review.publish"] = local(published)
    if retracted:
        review.retract(author, material, "Nội dung cần sửa lại")
        times["review.retract"] = local(retracted)
    _retime(material.id, times)
    return material


def _teacher(email: str, school: str) -> User:
    user, _ = users.create_user(SystemActor(), users.UserInput(email, email.split("@")[0], school, "", ["teacher"]),
                                password=PASSWORD)
    return user


def build(world: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Make the province of the module docstring; returns the materials and people by name."""
    system = SystemActor()
    thcs3 = schools.save_school(system, None, schools.SchoolInput("THCS03", "Trường THCS Gia Sinh", "THCS", "14464"))
    made: dict[str, Any] = {"thcs3": thcs3, "mover": _teacher("dichuyen@thcs1.ninhbinh.edu.vn", "THCS01"),
                            "t3": _teacher("giaovien@thcs3.ninhbinh.edu.vn", "THCS03"),
                            "t_thpt": _teacher("giaovien@thpt1.ninhbinh.edu.vn", "THPT01")}
    for user in db.session.scalars(select(User)):
        user.created_at = local("01/08/2026")  # every account existed before the school year
    db.session.commit()
    reports.set_electives(world["dept_admin"], world["thpt"], "2026-2027", ["VAT_LI", "HOA_HOC"])
    shared = tmp_path / "shared.pdf"
    demo_files.pdf_file(shared, "Văn bản mẫu", ["Tác phẩm văn học", "lớp 9"])
    t, rv = world["teacher"], world["school_reviewer"]
    made["m6"] = approved(world, world["teacher2"], tmp_path, "Văn 9 gốc", "NGU_VAN", ["9"], "02/10/2026", pdf=shared)
    made["m1"] = approved(world, made["mover"], tmp_path, "Toán 6", "TOAN", ["6"], "10/10/2026", published="20/10/2026")
    made["m2"] = approved(world, t, tmp_path, "Lịch sử 6 7", "LICH_SU", ["6", "7"], "05/11/2026")
    made["m3"] = approved(world, t, tmp_path, "Toán 6 cũ", "TOAN", ["6"], "01/09/2026")
    made["m4"] = approved(world, rv, tmp_path, "KHTN 8", "KHTN", ["8"], "01/10/2026", retracted="10/11/2026")
    made["m5"] = approved(world, t, tmp_path, "Văn 9 chép", "NGU_VAN", ["9"], "15/11/2026", pdf=shared)
    made["m7"] = approved(world, t, tmp_path, "Toán 7", "TOAN", ["7"], "03/12/2026")
    made["m10"] = approved(world, made["t3"], tmp_path, "Toán 6 Gia Sinh", "TOAN", ["6"], "15/10/2026")
    made["m8"] = approved(world, made["t_thpt"], tmp_path, "Vật lí 10", "VAT_LI", ["10"], "02/11/2026",
                          published="25/11/2026")
    made["m9"] = approved(world, made["t_thpt"], tmp_path, "Sinh học 10", "SINH_HOC", ["10"], "03/11/2026")
    users.move_user(world["dept_admin"], made["mover"], world["thcs2"])
    schools.merge_school(system, thcs3, world["thcs2"])
    db.session.get(School, thcs3.id).merged_at = local("20/11/2026")
    db.session.commit()
    return made
