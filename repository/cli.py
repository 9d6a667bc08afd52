"""Command-line interface (flask --app app ...). Every refusal exits non-zero with its reason.

The operator at the command line acts as a department administrator (SystemActor); what they do
is written to the audit trail marked "via cli".
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

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
tokens_cli = AppGroup("tokens", help="Mã truy cập API cá nhân.")
search_cli = AppGroup("search", help="Chỉ mục tìm kiếm.")


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the index into a fresh directory and switch to it; searches keep working."""
    from repository.services import search_index

    path = _run(lambda: search_index.rebuild(SystemActor()))
    click.echo(f"Đã dựng lại chỉ mục: {path}")


@search_cli.command("worker")
@click.option("--interval", default=1.0, show_default=True, help="Số giây chờ giữa hai lần đọc nhật ký.")
@click.option("--once", is_flag=True, help="Áp dụng một lần rồi thoát.")
def search_worker(interval: float, once: bool) -> None:
    """Apply the search change log to this host's index continuously (SEARCH_APPLY=worker)."""
    import time

    from repository.services import search_index

    actor = SystemActor()
    last_prune = 0.0
    while True:
        try:
            applied = search_index.apply_log(actor)
        except search_index.IndexWriteFailed as error:
            db.session.rollback()
            if once:
                _report(error)
                sys.exit(1)
            # A full disk is not cured by restarting: say so and try again after the interval.
            click.echo(f"Lỗi: {error}", err=True)
            time.sleep(interval)
            continue
        if applied:
            click.echo(f"Đã áp dụng {applied} thay đổi.")
        if time.monotonic() - last_prune > 3600:
            _run(lambda: search_index.prune_log(actor))
            last_prune = time.monotonic()
        if once:
            return
        time.sleep(interval)


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
    """Import accounts from a CSV or XLSX file (columns in the README)."""
    from repository import csvfiles
    from repository.services import exchange, users

    # Checked before importing: once the accounts exist a second run has no new accounts to link.
    if links_file and not (links_file.parent.is_dir() and os.access(links_file.parent, os.W_OK)):
        raise click.BadParameter(f"không ghi được vào thư mục {links_file.parent}", param_hint="'--links'")
    actor = SystemActor()
    result = _run(lambda: exchange.import_users_file(actor, file.read_bytes(), file.name))
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
    """Import schools from a CSV or XLSX file (columns in the README)."""
    from repository.services import exchange

    result = _run(lambda: exchange.import_schools_file(SystemActor(), file.read_bytes(), file.name))
    click.echo(f"Tạo mới {result.created}, cập nhật {result.updated}, không đổi {result.unchanged}.")


def _export_format(file: Path, allowed: tuple[str, ...]) -> str:
    fmt = file.suffix.lower().lstrip(".")
    if fmt not in allowed:
        raise click.BadParameter(f"đuôi tệp phải là một trong: {', '.join(allowed)}", param_hint="'FILE'")
    return fmt


@schools_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def schools_export(file: Path) -> None:
    """Export every school to FILE.csv or FILE.xlsx, in the columns of the import."""
    from repository.services import exchange

    fmt = _export_format(file, ("csv", "xlsx"))
    file.write_bytes(_run(lambda: exchange.export_schools(SystemActor(), fmt)))
    click.echo(f"Đã ghi {file}.")


@users_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def users_export(file: Path) -> None:
    """Export every account to FILE.csv or FILE.xlsx, in the columns of the import."""
    from repository.services import exchange

    fmt = _export_format(file, ("csv", "xlsx"))
    file.write_bytes(_run(lambda: exchange.export_users(SystemActor(), fmt)))
    click.echo(f"Đã ghi {file}.")


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
    """Import materials from a JSON Lines file (good lines imported, refused ones listed) or from the
    catalogue's CSV/XLSX export (all rows or none); formats in the README."""
    from repository.services import material_import

    result = _run(lambda: material_import.import_catalogue(SystemActor(), file))
    click.echo(f"Đã nhập {result.imported} học liệu; từ chối {len(result.refused)} dòng.")
    if result.skipped:  # already here by uid: reported, but not a failure (a re-import is a no-op)
        click.echo(f"Bỏ qua {len(result.skipped)} dòng có uid đã có.")
        for line, reason in result.skipped:
            click.echo(f"  dòng {line}: {reason}")
    for line, reason in result.refused:
        click.echo(f"  dòng {line}: {reason}", err=True)
    if result.file_ids:
        click.echo("Chạy `flask --app app materials process` để tạo ảnh thu nhỏ, bản xem trước và văn bản.")
    if result.refused:
        sys.exit(1)


@materials_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def materials_export(file: Path) -> None:
    """Export the catalogue's metadata (not the files) to FILE.jsonl or FILE.csv."""
    from repository.services import exchange

    fmt = _export_format(file, ("jsonl", "csv"))
    chunks = _run(lambda: exchange.export_catalogue(SystemActor(), fmt))
    with file.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    click.echo(f"Đã ghi {file}.")


def _host_busy(max_load: Optional[float]) -> Optional[float]:
    """The host's 1-minute load average when it is above `max_load` (None: not busy, or no limit)."""
    if max_load is None:
        return None
    load = os.getloadavg()[0]
    return load if load > max_load else None


def _process_pass(limit: int, max_load: Optional[float]) -> tuple[int, Optional[float]]:
    """Up to `limit` waiting files; with `max_load`, one at a time while the host is not busier
    than that. Returns how many were processed and the load that stopped the pass, if any."""
    from repository.services import processing

    if max_load is None:
        return processing.process_pending(limit), None
    done = 0
    while done < limit:
        load = _host_busy(max_load)
        if load is not None:
            return done, load
        if not processing.process_pending(1):
            break
        done += 1
    return done, None


@materials_cli.command("process")
@click.option("--limit", type=int, default=1000, help="Số tệp tối đa mỗi lượt.")
@click.option("--loop", is_flag=True, help="Chạy liên tục (tiến trình xử lý nền).")
@click.option("--max-load", type=float, default=None,
              help="Nhường máy cho các yêu cầu: chỉ xử lý khi tải trung bình 1 phút không vượt quá giá trị này "
                   "(ví dụ bằng số lõi CPU); tải được xem lại trước mỗi tệp.")
def materials_process(limit: int, loop: bool, max_load: Optional[float]) -> None:
    """Make thumbnails, PDF renditions and search text for files still waiting. With --max-load,
    the files wait while the host is busier than that: requests come first."""
    import time

    while True:
        done, load = _process_pass(limit, max_load)
        busy = f" Máy đang bận (tải {load:.1f} > {max_load:g}): tạm dừng." if load is not None else ""
        click.echo(f"Đã xử lý {done} tệp.{busy}")
        if not loop:
            return
        if done == 0 or load is not None:
            time.sleep(5)


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Tên gợi nhớ của mã truy cập.")
@click.option("--read-only", is_flag=True, help="Chỉ cho phép đọc (GET).")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Ngày hết hạn YYYY-MM-DD (dùng được hết ngày đó).")
def tokens_create(email: str, name: str, read_only: bool, expires: Any) -> None:
    """Create a personal access token for an account and print only the token (shown once)."""
    from repository.services import tokens

    owner = _run(lambda: tokens.account_by_email(email))
    expires_on = expires.date() if expires else None
    _token, raw = _run(lambda: tokens.create_token(SystemActor(), owner, name, read_only=read_only,
                                                   expires_on=expires_on))
    click.echo(raw)  # only the token on stdout, so that scripts can capture it


@click.command("check")
@click.option("--repair", is_flag=True, help="Sửa những gì sửa được an toàn.")
@click.option("--checksums", is_flag=True, help="Đọc lại từng tệp để so SHA-256 (chậm).")
def check(repair: bool, checksums: bool) -> None:
    """List inconsistencies between the database and the object store; exit 1 when any remain."""
    from repository.services import consistency

    from repository.services import search_index
    from storage import StorageError

    try:
        report = _run(lambda: consistency.check_storage(SystemActor(), repair=repair, checksums=checksums))
    except StorageError as error:  # the store down: say so, nothing can be compared
        click.echo(f"Lỗi: {error}", err=True)
        sys.exit(1)
    index_report = _run(lambda: search_index.check_index(SystemActor(), repair=repair))
    repaired = {(f.kind, f.key) for f in report.repaired}
    remaining = [f for f in report.findings if (f.kind, f.key) not in repaired]
    click.echo(f"Đã kiểm tra {report.files} tệp trong CSDL và {report.objects} đối tượng lưu trữ.")
    for finding in report.repaired:
        click.echo(f"  đã sửa {finding.kind}: {finding.key} ({finding.detail})")
    for finding in remaining:
        click.echo(f"  {finding.kind}: {finding.key} {finding.detail}")
    if index_report.damaged and index_report.rebuilt:
        click.echo(f"  đã sửa chỉ mục hỏng: dựng lại từ CSDL ({index_report.damaged})")
    elif index_report.damaged:
        click.echo(f"  index_damaged: {index_report.damaged} (chạy check --repair để dựng lại)")
    click.echo(f"Chỉ mục tìm kiếm: {index_report.documents} tài liệu, {index_report.materials} học liệu trong CSDL.")
    index_problems = 0 if index_report.repaired else index_report.problems
    if index_report.repaired:
        click.echo(f"  đã sửa chỉ mục: {index_report.repaired} học liệu được đánh chỉ mục lại")
    for kind, ids in (("index_missing", index_report.missing), ("index_extra", index_report.extra),
                      ("index_stale", index_report.stale)):
        if ids and not index_report.repaired:
            click.echo(f"  {kind}: {', '.join(map(str, ids[:50]))}{' …' if len(ids) > 50 else ''}")
    fact_problems = _check_report_facts(repair)
    if remaining or index_problems or fact_problems:
        click.echo(f"Còn {len(remaining) + index_problems + fact_problems} điểm không nhất quán.", err=True)
        sys.exit(1)
    click.echo("Không có điểm không nhất quán.")


def _check_report_facts(repair: bool) -> int:
    """Print the contribution facts that differ from the materials' history; returns how many remain."""
    from repository.reports.consistency import check_facts

    stale, repaired = check_facts(repair)
    if repaired:
        click.echo(f"  đã sửa dữ liệu báo cáo: {repaired} học liệu được tính lại")
        return 0
    if stale:
        click.echo(f"  report_facts_stale: {', '.join(map(str, stale[:50]))}{' …' if len(stale) > 50 else ''}"
                   " (chạy check --repair để tính lại)")
    return len(stale)


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the demo province and print the demo accounts with their passwords (idempotent)."""
    from repository.services import demo

    accounts = _run(lambda: demo.seed(SystemActor()))
    click.echo("Tài khoản demo (mật khẩu demo, không bắt buộc đổi):")
    for email, password, label in accounts:
        click.echo(f"  {email:<40} {password:<16} {label}")


review_cli = AppGroup("review", help="Quy trình duyệt học liệu.")


@review_cli.command("digest")
def review_digest() -> None:
    """E-mail each reviewer the queue notices kept for the daily digest (run once a day)."""
    from repository.services import notifications

    sent = notifications.send_digest()
    click.echo(f"Đã gửi {sent} thư tổng hợp.")


def register_cli(app: Flask) -> None:
    from repository.cli_backup import backup, restore
    from repository.cli_jobs import jobs_cli
    from repository.cli_reports import reports_cli

    for command in (users_cli, schools_cli, units_cli, materials_cli, tokens_cli, search_cli, check, seed_demo,
                    review_cli, jobs_cli, backup, restore, reports_cli):
        app.cli.add_command(command)
