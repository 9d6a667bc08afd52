"""Display labels for codes shown on pages (roles, account statuses, unit kinds, school events)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "teacher": _l("Giáo viên"),
    "school_reviewer": _l("Tổ trưởng chuyên môn (duyệt cấp trường)"),
    "school_admin": _l("Quản trị trường (hiệu trưởng)"),
    "unit_officer": _l("Cán bộ UBND xã/phường"),
    "dept_reviewer": _l("Người duyệt cấp Sở"),
    "dept_admin": _l("Quản trị Sở"),
}
STATUS_LABELS = {
    "pending": _l("Chờ kích hoạt"),
    "active": _l("Đang hoạt động"),
    "disabled": _l("Đã khóa"),
    "anonymised": _l("Đã ẩn danh"),
}
UNIT_KIND_LABELS = {"department": _l("Sở GDĐT"), "ward": _l("Phường"), "commune": _l("Xã")}
SCHOOL_EVENT_LABELS = {
    "created": _l("Tạo mới"),
    "name_changed": _l("Đổi tên"),
    "school_type_changed": _l("Đổi loại trường"),
    "unit_id_changed": _l("Đổi xã/phường"),
    "active_changed": _l("Đổi trạng thái hoạt động"),
    "merged": _l("Sáp nhập vào trường khác"),
    "absorbed": _l("Tiếp nhận trường sáp nhập"),
}
MATERIAL_STATUS_LABELS = {
    "draft": _l("Bản nháp"),
    "submitted": _l("Đã gửi duyệt"),
    "changes_requested": _l("Cần chỉnh sửa"),
    "school_approved": _l("Trường đã duyệt"),
    "published": _l("Đã công bố"),
    "rejected": _l("Bị từ chối"),
    "retracted": _l("Đã rút"),
    "taken_down": _l("Đã gỡ"),
}
# Events of a material's history that are not review steps (those use workflow.ACTION_LABELS).
MATERIAL_EVENT_LABELS = {
    "material.created": _l("Tạo học liệu"),
    "material.updated": _l("Sửa thông tin"),
    "material.file_replaced": _l("Tải lên phiên bản tệp mới"),
    "material.imported": _l("Nhập hàng loạt"),
    "material.deleted": _l("Xoá bản nháp"),
    "review.revision_submitted": _l("Gửi duyệt phiên bản mới"),
}
