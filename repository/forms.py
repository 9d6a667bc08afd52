"""HTML forms (Flask-WTF: CSRF token and field rendering). Business rules live in the services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=128)])
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(_l("Mật khẩu mới"), validators=[DataRequired(), Length(max=128)])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[
        DataRequired(), Length(max=128), EqualTo("new_password", message=_l("Hai mật khẩu không khớp."))])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired(), Length(max=128)])


class SchoolForm(FlaskForm):
    code = StringField(_l("Mã trường"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Tên trường"), validators=[DataRequired(), Length(max=255)])
    school_type = SelectField(_l("Loại trường"), validators=[DataRequired()])
    unit_code = SelectField(_l("Xã/phường"), validators=[DataRequired()])
    grades = SelectMultipleField(_l("Lớp/nhóm tuổi (để trống: theo loại trường)"))
    active = BooleanField(_l("Đang hoạt động"), default=True)


class MergeForm(FlaskForm):
    successor_code = StringField(_l("Mã trường kế thừa"), validators=[DataRequired(), Length(max=32)])


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(), Length(max=255)])
    phone = StringField(_l("Số điện thoại"), validators=[Length(max=32)])
    staff_id = StringField(_l("Mã định danh ngành"), validators=[Length(max=64)])
    school_code = StringField(_l("Mã trường"), validators=[Length(max=32)])
    unit_code = StringField(_l("Mã đơn vị (xã/phường)"), validators=[Length(max=32)])
    roles = SelectMultipleField(_l("Vai trò"))


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(), Length(max=255)])
    phone = StringField(_l("Số điện thoại"), validators=[Length(max=32)])
    staff_id = StringField(_l("Mã định danh ngành"), validators=[Length(max=64)])


class RoleForm(FlaskForm):
    role = SelectField(_l("Vai trò"), validators=[DataRequired()])
    scope_code = StringField(_l("Mã trường hoặc đơn vị"), validators=[Length(max=32)])
    subjects = SelectMultipleField(_l("Môn học phụ trách (để trống: tất cả)"))
    levels = SelectMultipleField(_l("Cấp học phụ trách (để trống: tất cả)"))


class MoveForm(FlaskForm):
    school_code = StringField(_l("Mã trường mới"), validators=[DataRequired(), Length(max=32)])


class ImportForm(FlaskForm):
    file = FileField(_l("Tệp CSV (UTF-8)"), validators=[FileRequired()])


class ConfirmForm(FlaskForm):
    """A bare form: a button that needs only the CSRF token."""


class UnitForm(FlaskForm):
    name = StringField(_l("Tên đơn vị"), validators=[DataRequired(), Length(max=255)])
    active = BooleanField(_l("Đang hoạt động"))


class MaterialForm(FlaskForm):
    """Metadata of a material; the files travel in the same multipart request as `files`."""

    title = StringField(_l("Tiêu đề"), validators=[DataRequired(), Length(max=500)])
    description = TextAreaField(_l("Mô tả"), validators=[Length(max=20_000)])
    subject = SelectField(_l("Môn học / lĩnh vực"), validators=[DataRequired()])
    grades = SelectMultipleField(_l("Lớp / nhóm tuổi"), validators=[DataRequired()])
    topic = StringField(_l("Chủ đề / bài học"), validators=[Length(max=255)])
    series = SelectField(_l("Bộ sách giáo khoa"))
    material_type = SelectField(_l("Loại học liệu"), validators=[DataRequired()])
    licence = SelectField(_l("Giấy phép"), validators=[DataRequired()])
    language = SelectField(_l("Ngôn ngữ"), validators=[DataRequired()])
