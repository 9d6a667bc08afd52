"""Command-line interface (flask --app app ...). Every refusal exits non-zero with its reason.

The operator at the command line acts as a department administrator (SystemActor); what they do
is written to the audit trail marked "via cli".
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from repository.errors import DomainError, ImportRejected
from repository.extensions import db
from repository.permissions import SystemActor


def _run(action: Callable[[], Any]) -> Any:
    """Run a service call, turning a domain error into a message and exit status 1.

    A refused call may have flushed rows (a new account before its password was refused): they are
    rolled back, as the web error handler does, so nothing half-done outlives the refusal."""
    try:
        return action()
    except DomainError as error:
        db.session.rollback()
        _report(error)
        sys.exit(1)


def _report(error: DomainError) -> None:
    if isinstance(error, ImportRejected):
        click.echo(f"Lỗi: {error}", err=True)
        for line, reason in error.rows:
            click.echo(f"  dòng {line}: {reason}", err=True)
        return
    click.echo(f"Lỗi: {error}", err=True)
    for field, messages in error.field_errors.items():
        for message in messages:
            click.echo(f"  {field}: {message}", err=True)


users_cli = AppGroup("users", help="Tài khoản người dùng.")
schools_cli = AppGroup("schools", help="Trường học.")
units_cli = AppGroup("units", help="Đơn vị hành chính (xã/phường).")
materials_cli = AppGroup("materials", help="Học liệu.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Họ và tên.")
@click.option("--role", "roles", multiple=True, required=True, help="Mã vai trò; lặp lại để cấp nhiều vai trò.")
@click.option("--school", default="", help="Mã trường (cho vai trò ở trường).")
@click.option("--unit", default="", help="Mã xã/phường (cho unit_officer).")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ đầu vào chuẩn.")
def users_create(email: str, name: str, roles: tuple[str, ...], school: str, unit: str, password_stdin: bool) -> None:
    """Create an account; without --password-stdin it prints a one-time activation link."""
    from repository.services import users

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    data = users.UserInput(email, name, school, unit, list(roles))
    user, link = _run(lambda: users.create_user(SystemActor(), data, password=password))
    click.echo(f"Đã tạo tài khoản {user.email} (id {user.id}).")
    if link:
        click.echo(f"Liên kết kích hoạt (dùng một lần): {link}")


@users_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--links", "links_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Ghi liên kết kích hoạt của tài khoản mới vào tệp CSV này.")
def users_import(file: Path, links_file: Path | None) -> None:
    """Import accounts from a CSV file (columns in the README)."""
    from repository import csvfiles
    from repository.services import imports, users

    # Checked before importing: once the accounts exist a second run has no new accounts to link.
    if links_file and not (links_file.parent.is_dir() and os.access(links_file.parent, os.W_OK)):
        raise click.BadParameter(f"không ghi được vào thư mục {links_file.parent}", param_hint="'--links'")
    actor = SystemActor()
    result = _run(lambda: imports.import_users(actor, file.read_bytes()))
    click.echo(f"Tạo mới {result.created}, cập nhật {result.updated}, không đổi {result.unchanged}.")
    if links_file and result.new_user_ids:
        links = users.activation_links(actor, result.new_user_ids)
        # The links are credentials: the file is owner-only from its creation, not after writing.
        fd = os.open(links_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(csvfiles.links_csv(links))
        links_file.chmod(0o600)
        click.echo(f"Đã ghi {len(links)} liên kết kích hoạt vào {links_file}.")


@schools_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def schools_import(file: Path) -> None:
    """Import schools from a CSV file (columns in the README)."""
    from repository.services import imports

    result = _run(lambda: imports.import_schools(SystemActor(), file.read_bytes()))
    click.echo(f"Tạo mới {result.created}, cập nhật {result.updated}, không đổi {result.unchanged}.")


@units_cli.command("load")
@click.option("--province", type=int, default=None, help="Mã tỉnh (mặc định PROVINCE_CODE, 37 = Ninh Bình).")
def units_load(province: int | None) -> None:
    """Load the province's communes/wards from the vietnam-provinces package."""
    from repository.services import schools

    code = province or current_app.config["PROVINCE_CODE"]
    created, updated = _run(lambda: schools.load_units(SystemActor(), code))
    click.echo(f"Tỉnh {code}: tạo mới {created}, cập nhật {updated} đơn vị.")


@materials_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def materials_import(file: Path) -> None:
    """Import materials from a JSON Lines file (format in the README)."""
    from repository.services import material_import

    result = _run(lambda: material_import.import_jsonl(SystemActor(), file))
    click.echo(f"Đã nhập {result.imported} học liệu; từ chối {len(result.refused)} dòng.")
    for line, reason in result.refused:
        click.echo(f"  dòng {line}: {reason}", err=True)
    if result.file_ids:
        click.echo("Chạy `flask --app app materials process` để tạo ảnh thu nhỏ, bản xem trước và văn bản.")
    if result.refused:
        sys.exit(1)


@materials_cli.command("process")
@click.option("--limit", type=int, default=1000, help="Số tệp tối đa mỗi lượt.")
@click.option("--loop", is_flag=True, help="Chạy liên tục (tiến trình xử lý nền).")
def materials_process(limit: int, loop: bool) -> None:
    """Make thumbnails, PDF renditions and search text for files still waiting."""
    import time

    from repository.services import processing

    while True:
        done = processing.process_pending(limit)
        click.echo(f"Đã xử lý {done} tệp.")
        if not loop:
            return
        if done == 0:
            time.sleep(5)


@click.command("check")
@click.option("--repair", is_flag=True, help="Sửa những gì sửa được an toàn.")
@click.option("--checksums", is_flag=True, help="Đọc lại từng tệp để so SHA-256 (chậm).")
def check(repair: bool, checksums: bool) -> None:
    """List inconsistencies between the database and the object store; exit 1 when any remain."""
    from repository.services import consistency

    report = _run(lambda: consistency.check_storage(SystemActor(), repair=repair, checksums=checksums))
    repaired = {(f.kind, f.key) for f in report.repaired}
    remaining = [f for f in report.findings if (f.kind, f.key) not in repaired]
    click.echo(f"Đã kiểm tra {report.files} tệp trong CSDL và {report.objects} đối tượng lưu trữ.")
    for finding in report.repaired:
        click.echo(f"  đã sửa {finding.kind}: {finding.key} ({finding.detail})")
    for finding in remaining:
        click.echo(f"  {finding.kind}: {finding.key} {finding.detail}")
    if remaining:
        click.echo(f"Còn {len(remaining)} điểm không nhất quán.", err=True)
        sys.exit(1)
    click.echo("Không có điểm không nhất quán.")


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the demo province and print the demo accounts with their passwords (idempotent)."""
    from repository.services import demo

    accounts = _run(lambda: demo.seed(SystemActor()))
    click.echo("Tài khoản demo (mật khẩu demo, không bắt buộc đổi):")
    for email, password, label in accounts:
        click.echo(f"  {email:<40} {password:<16} {label}")


def register_cli(app: Flask) -> None:
    for command in (users_cli, schools_cli, units_cli, materials_cli, check, seed_demo):
        app.cli.add_command(command)
