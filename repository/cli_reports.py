"""`flask --app app reports ...`: the contribution reports' operator commands.

- `reports remind` (run once a day by cron, e.g. `15 7 * * *`): reminds the schools and
  communes/wards that have not submitted a report due in `reports.reminder_days` days or fewer;
- `reports rebuild`: recomputes every contribution fact from the materials' history (after an
  upgrade or a restore; `check --repair` fixes only the stale ones).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import click
from flask.cli import AppGroup

from repository.extensions import db
from repository.reports import facts
from repository.services import report_reminders

reports_cli = AppGroup("reports", help="Báo cáo đóng góp học liệu.")


@reports_cli.command("remind")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Chạy như thể hôm nay là ngày này (YYYY-MM-DD), để chạy bù.")
def reports_remind(today: Optional[datetime]) -> None:
    """Notify who has not submitted a report whose deadline is near (run once a day)."""
    sent = report_reminders.send_reminders(today.date() if today else None)
    click.echo(f"Đã gửi {sent} thông báo nhắc nộp báo cáo.")


@reports_cli.command("rebuild")
def reports_rebuild() -> None:
    """Recompute every contribution fact from the materials' audit trail."""
    rows = facts.rebuild(db.session)
    db.session.commit()
    click.echo(f"Đã tính lại {rows} dòng dữ liệu đóng góp.")
