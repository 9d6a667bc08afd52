"""The demo province: real communes/wards of Ninh Bình, a dozen schools and accounts of every role.

Seeding is idempotent: what exists already is left as it is, so running it twice is harmless.
Demo accounts are active with a printed password and are not forced to change it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from repository.extensions import db
from repository.models import User
from repository.permissions import require
from repository.services import guarded, schools, users

DEMO_PASSWORD = "HocLieu#2025"
DEMO_PROVINCE = 37
# (code, name, type, commune/ward code): real units of province 37, invented schools.
DEMO_SCHOOLS = [
    ("DEMO-MN-01", "Trường Mầm non Hoa Lư", "MN", "14329"),
    ("DEMO-MN-02", "Trường Mầm non Gia Viễn", "MN", "14464"),
    ("DEMO-TH-01", "Trường Tiểu học Đinh Tiên Hoàng", "TH", "14329"),
    ("DEMO-TH-02", "Trường Tiểu học Gia Viễn A", "TH", "14464"),
    ("DEMO-TH-03", "Trường Tiểu học Kim Sơn", "TH", "14638"),
    ("DEMO-THCS-01", "Trường THCS Trương Hán Siêu", "THCS", "14329"),
    ("DEMO-THCS-02", "Trường THCS Gia Viễn", "THCS", "14464"),
    ("DEMO-THCS-03", "Trường THCS Kim Sơn", "THCS", "14638"),
    ("DEMO-THTHCS-01", "Trường Tiểu học và THCS Phủ Lý", "TH_THCS", "13291"),
    ("DEMO-THPT-01", "Trường THPT chuyên Lương Văn Tụy", "THPT_CHUYEN", "14329"),
    ("DEMO-THPT-02", "Trường THPT Nguyễn Khuyến", "THPT", "13666"),
    ("DEMO-GDTX-01", "Trung tâm GDNN-GDTX Gia Viễn", "GDNN_GDTX", "14464"),
]
# (e-mail, name, roles, school code, unit code, label)
DEMO_ACCOUNTS = [
    ("quantri.so@demo.ninhbinh.edu.vn", "Nguyễn Văn An", ["dept_admin"], "", "", "Quản trị Sở"),
    ("duyet.so@demo.ninhbinh.edu.vn", "Trần Thị Bình", ["dept_reviewer"], "", "", "Người duyệt cấp Sở"),
    ("canbo.hoalu@demo.ninhbinh.edu.vn", "Lê Văn Cường", ["unit_officer"], "", "14329", "Cán bộ UBND phường Hoa Lư"),
    ("hieutruong.ths1@demo.ninhbinh.edu.vn", "Phạm Thị Dung", ["school_admin"], "DEMO-THCS-01", "", "Hiệu trưởng THCS Trương Hán Siêu"),
    ("totruong.ths1@demo.ninhbinh.edu.vn", "Hoàng Văn Em", ["school_reviewer", "teacher"], "DEMO-THCS-01", "", "Tổ trưởng THCS Trương Hán Siêu"),
    ("gv.toan.ths1@demo.ninhbinh.edu.vn", "Vũ Thị Giang", ["teacher"], "DEMO-THCS-01", "", "Giáo viên Toán THCS Trương Hán Siêu"),
    ("gv.van.ths1@demo.ninhbinh.edu.vn", "Đặng Văn Hùng", ["teacher"], "DEMO-THCS-01", "", "Giáo viên Ngữ văn THCS Trương Hán Siêu"),
    ("hieutruong.ths2@demo.ninhbinh.edu.vn", "Bùi Thị Lan", ["school_admin"], "DEMO-THCS-02", "", "Hiệu trưởng THCS Gia Viễn"),
    ("gv.khtn.ths2@demo.ninhbinh.edu.vn", "Đỗ Văn Minh", ["teacher"], "DEMO-THCS-02", "", "Giáo viên KHTN THCS Gia Viễn"),
    ("gv.th1@demo.ninhbinh.edu.vn", "Ngô Thị Nga", ["teacher"], "DEMO-TH-01", "", "Giáo viên Tiểu học Đinh Tiên Hoàng"),
    ("gv.mn1@demo.ninhbinh.edu.vn", "Dương Thị Oanh", ["teacher"], "DEMO-MN-01", "", "Giáo viên Mầm non Hoa Lư"),
    ("hieutruong.thpt1@demo.ninhbinh.edu.vn", "Lý Văn Phúc", ["school_admin"], "DEMO-THPT-01", "", "Hiệu trưởng THPT chuyên Lương Văn Tụy"),
    ("gv.ly.thpt1@demo.ninhbinh.edu.vn", "Mai Thị Quỳnh", ["teacher"], "DEMO-THPT-01", "", "Giáo viên Vật lí THPT chuyên"),
]


@guarded("school.manage")
def seed(actor: Any) -> list[tuple[str, str, str]]:
    """Create what is missing of the demo province; returns (e-mail, password, label) rows."""
    require(actor, "school.manage")
    schools.load_units(actor, DEMO_PROVINCE)
    for code, name, school_type, unit_code in DEMO_SCHOOLS:
        if schools.school_by_code(code) is None:
            schools.save_school(actor, None, schools.SchoolInput(code, name, school_type, unit_code))
    for email, name, roles, school_code, unit_code, _label in DEMO_ACCOUNTS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            users.create_user(actor, users.UserInput(email, name, school_code, unit_code, roles),
                              password=DEMO_PASSWORD)
    db.session.commit()
    return [(email, DEMO_PASSWORD, label) for email, _n, _r, _s, _u, label in DEMO_ACCOUNTS]

