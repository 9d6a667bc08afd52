"""The demo province: real communes/wards of Ninh Bình, a dozen schools and accounts of every role.

Seeding is idempotent: what exists already is left as it is, so running it twice is harmless.
Demo accounts are active with a printed password and are not forced to change it.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from repository import demo_files
from repository.extensions import db
from repository.models import Material, MaterialStatus, User, utcnow
from repository.permissions import require
from repository.services import audit, guarded, materials, schools, unguarded, users

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


# (author e-mail, title, subject, grades, type, series, file kind, status)
DEMO_MATERIALS = [
    ("gv.toan.ths1", "Phương trình bậc nhất một ẩn", "TOAN", ["8"], "BAI_GIANG_DIEN_TU", "KNTT", "pptx", "published"),
    ("gv.toan.ths1", "Kế hoạch bài dạy: Phân số", "TOAN", ["6"], "KE_HOACH_BAI_DAY", "KNTT", "docx", "published"),
    ("gv.toan.ths1", "Phiếu học tập: Số nguyên", "TOAN", ["6"], "PHIEU_HOC_TAP", "CTST", "xlsx", "school_approved"),
    ("gv.toan.ths1", "Đề kiểm tra giữa kì I Toán 7", "TOAN", ["7"], "BAI_KIEM_TRA", "KNTT", "pdf", "submitted"),
    ("gv.toan.ths1", "Hình học trực quan: Tam giác đều", "TOAN", ["6"], "HINH_ANH", "", "png", "draft"),
    ("gv.van.ths1", "Bài giảng: Truyện Kiều – Trao duyên", "NGU_VAN", ["9"], "BAI_GIANG_DIEN_TU", "KNTT", "pptx", "published"),
    ("gv.van.ths1", "Kế hoạch bài dạy: Văn bản nghị luận", "NGU_VAN", ["8"], "KE_HOACH_BAI_DAY", "CD", "docx", "school_approved"),
    ("gv.van.ths1", "Phiếu đọc hiểu: Thơ lục bát", "NGU_VAN", ["6", "7"], "PHIEU_HOC_TAP", "KNTT", "docx", "draft"),
    ("gv.khtn.ths2", "Thí nghiệm: Sự nóng chảy của nước đá", "KHTN", ["6"], "BAI_GIANG_DIEN_TU", "KNTT", "pptx", "published"),
    ("gv.khtn.ths2", "Kế hoạch bài dạy: Tế bào", "KHTN", ["6"], "KE_HOACH_BAI_DAY", "KNTT", "docx", "published"),
    ("gv.khtn.ths2", "Bảng số liệu: Nhiệt độ sôi", "KHTN", ["8"], "BANG_DU_LIEU", "", "xlsx", "submitted"),
    ("gv.khtn.ths2", "Sơ đồ vòng tuần hoàn của nước", "KHTN", ["7"], "HINH_ANH", "CTST", "png", "published"),
    ("gv.th1", "Tiếng Việt 3: Bài đọc Cây bàng", "TIENG_VIET", ["3"], "BAI_GIANG_DIEN_TU", "KNTT", "pptx", "published"),
    ("gv.th1", "Toán 2: Phép cộng có nhớ", "TOAN", ["2"], "PHIEU_HOC_TAP", "KNTT", "pdf", "school_approved"),
    ("gv.th1", "Tự nhiên và Xã hội 1: Gia đình em", "TU_NHIEN_XA_HOI", ["1"], "KE_HOACH_BAI_DAY", "CD", "docx", "draft"),
    ("gv.th1", "Mĩ thuật 4: Tranh phong cảnh", "MI_THUAT", ["4"], "HINH_ANH", "", "png", "published"),
    ("gv.mn1", "Bé làm quen với chữ cái", "PT_NGON_NGU", ["MG_5_6"], "BAI_GIANG_DIEN_TU", "", "pptx", "published"),
    ("gv.mn1", "Kế hoạch hoạt động: Khám phá rau củ", "PT_NHAN_THUC", ["MG_4_5", "MG_5_6"], "KE_HOACH_BAI_DAY", "", "docx", "submitted"),
    ("gv.ly.thpt1", "Vật lí 10: Chuyển động thẳng biến đổi đều", "VAT_LI", ["10"], "BAI_GIANG_DIEN_TU", "KNTT", "pptx", "published"),
    ("gv.ly.thpt1", "Đề kiểm tra cuối kì Vật lí 11", "VAT_LI", ["11"], "BAI_KIEM_TRA", "KNTT", "pdf", "published"),
    ("gv.ly.thpt1", "Bảng số liệu thí nghiệm con lắc đơn", "VAT_LI", ["11"], "BANG_DU_LIEU", "", "xlsx", "school_approved"),
    ("gv.ly.thpt1", "Chuyên đề: Vật lí trong y học", "VAT_LI", ["12"], "TAI_LIEU_THAM_KHAO", "CTST", "docx", "draft"),
    ("totruong.ths1", "Ngân hàng câu hỏi Toán 9: Hệ phương trình", "TOAN", ["9"], "NGAN_HANG_CAU_HOI", "KNTT", "docx", "published"),
    ("totruong.ths1", "Phiếu học tập: Hàm số bậc nhất", "TOAN", ["9"], "PHIEU_HOC_TAP", "KNTT", "pdf", "school_approved"),
]


def _demo_file(kind: str, title: str, folder: Path) -> Path:
    lines = [f"Học liệu minh hoạ: {title}.", "Mục tiêu: học sinh nắm được kiến thức trọng tâm.",
             "Hoạt động: khởi động, hình thành kiến thức, luyện tập, vận dụng."]
    path = folder / f"{len(list(folder.iterdir()))}.{kind}"
    makers = {
        "docx": lambda: demo_files.docx_file(path, title, lines),
        "pptx": lambda: demo_files.pptx_file(path, title, lines),
        "xlsx": lambda: demo_files.xlsx_file(path, title, [("Câu 1", 2), ("Câu 2", 3), ("Câu 3", 5)]),
        "png": lambda: demo_files.png_file(path, title, (40, 90, 160)),
        "pdf": lambda: demo_files.pdf_file(path, title, lines),
    }
    return makers[kind]()


def _seed_materials(actor: Any) -> None:
    """Create the demo materials once (when the demo authors have none yet)."""
    authors = {email.split("@")[0]: email for email, *_rest in DEMO_ACCOUNTS}
    first = db.session.scalar(select(User).where(User.email == authors["gv.toan.ths1"]))
    if first is None or db.session.scalar(select(Material.id).where(Material.owner_id == first.id).limit(1)):
        return
    with tempfile.TemporaryDirectory(prefix="demo-") as tmp:
        for who, title, subject, grades, mtype, series, kind, status in DEMO_MATERIALS:
            author = db.session.scalar(select(User).where(User.email == authors[who]))
            path = _demo_file(kind, title, Path(tmp))
            data = materials.MaterialInput(title=title, subject=subject, grades=grades, material_type=mtype,
                                           series=series, licence="CC_BY_SA_4",
                                           description=f"{title}. Học liệu minh hoạ của kho học liệu số.")
            material = materials.create_material(author, data, [materials.Upload(path, f"{fold_name(title)}.{kind}")])
            if status != MaterialStatus.DRAFT.value:
                # The review workflow is not built yet: the demo sets states as a bulk import would.
                material.status = status
                material.approved_at = utcnow() if status in ("school_approved", "published") else None
                audit.record(actor, "material.imported", material, status=status)
                db.session.commit()


@unguarded("formats a demo file name; reads nothing")
def fold_name(title: str) -> str:
    """A file name like the ones teachers use: the title, keeping its Vietnamese letters."""
    return "".join(c if c.isalnum() or c in " -" else "_" for c in title).strip()[:80]


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
    _seed_materials(actor)
    return [(email, DEMO_PASSWORD, label) for email, _n, _r, _s, _u, label in DEMO_ACCOUNTS]

