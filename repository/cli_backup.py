"""`flask --app app backup DIR` and `flask --app app restore DIR` (repository/services/backup.py).

Registered by repository/cli.py's register_cli. A refusal exits 1 with its reason; a backup that
was written but found objects missing or differing from their rows also exits 1 (it names them),
so that a scheduled backup's problems are noticed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext


def _size(n: int) -> str:
    return f"{n / 1024 ** 3:.2f} GiB" if n >= 1024 ** 3 else f"{n / 1024 ** 2:.1f} MiB"


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--with-objects", is_flag=True,
              help="Chép cả các tệp (đối tượng lưu trữ) vào bản sao lưu, không chỉ danh sách của chúng.")
@with_appcontext
def backup(directory: Path, with_objects: bool) -> None:
    """Write a consistent backup (every table, the object list with SHA-256) to a new DIRECTORY."""
    from repository.cli import _run
    from repository.permissions import SystemActor
    from repository.services import backup as service

    report = _run(lambda: service.create_backup(SystemActor(), directory, with_objects=with_objects))
    found = report.objects
    click.echo(f"Đã sao lưu {len(report.tables)} bảng, {report.rows} dòng (lược đồ {report.revision}) vào {directory}.")
    click.echo(f"Danh sách {found.objects} đối tượng; đã chép {found.copied} ({_size(found.bytes)}).")
    for key in found.missing:
        click.echo(f"  thiếu trong kho lưu trữ: {key}", err=True)
    for key in found.mismatched:
        click.echo(f"  khác kích thước/SHA-256 ghi trong CSDL: {key}", err=True)
    unlisted = found.problems - len(found.missing) - len(found.mismatched)
    if unlisted:
        click.echo(f"  … và {unlisted} đối tượng lỗi nữa", err=True)
    if found.problems:
        click.echo("Bản sao lưu đã ghi nhưng có đối tượng lỗi; chạy `flask --app app check --checksums`.", err=True)
        sys.exit(1)


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verify-objects", is_flag=True,
              help="Với bản sao lưu không chép tệp: đọc lại từng đối tượng trong kho để so SHA-256 (chậm).")
@with_appcontext
def restore(directory: Path, verify_objects: bool) -> None:
    """Restore the backup in DIRECTORY onto this empty deployment, then rebuild the search index."""
    from repository.cli import _run
    from repository.permissions import SystemActor
    from repository.services import backup as service

    report = _run(lambda: service.restore_backup(SystemActor(), directory, verify_objects=verify_objects))
    found = report.objects
    click.echo(f"Đã khôi phục {len(report.tables)} bảng, {report.rows} dòng (lược đồ {report.revision}).")
    if report.upgraded_to:
        click.echo(f"Đã nâng lược đồ lên {report.upgraded_to}.")
    click.echo(f"Đối tượng lưu trữ: {found.objects} đã kiểm tra, {found.copied} đã chép ({_size(found.bytes)}).")
    if report.missing_at_backup:
        click.echo(f"  {report.missing_at_backup} đối tượng đã thiếu ngay khi sao lưu; "
                   "`flask --app app check` sẽ liệt kê chúng.", err=True)
    if report.index_error:
        click.echo(f"Dữ liệu đã khôi phục nhưng chưa dựng được chỉ mục tìm kiếm: {report.index_error}", err=True)
        click.echo("Chạy `flask --app app search reindex` rồi `flask --app app check`.", err=True)
        sys.exit(1)
    click.echo(f"Đã dựng lại chỉ mục tìm kiếm: {report.index}")
    click.echo("Chạy `flask --app app check` để kiểm tra lại toàn bộ.")


COMMANDS = (backup, restore)
