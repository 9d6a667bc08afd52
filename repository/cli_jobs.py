"""`flask --app app jobs worker`: the process that runs queued background work (thumbnails, text
extraction, renditions, e-mail) when REDIS_URL is set. Run one or more on any host that has the
application's configuration; they share the queue, so adding workers adds capacity."""
from __future__ import annotations

from typing import Optional

import click
from flask.cli import AppGroup

from repository import jobs

jobs_cli = AppGroup("jobs", help="Hàng đợi công việc nền (RQ trên Redis).")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Làm hết các việc đang chờ rồi thoát.")
@click.option("--max-jobs", type=click.IntRange(min=1), default=None,
              help="Thoát sau từng ấy việc (để trình quản lý tiến trình khởi động lại).")
def jobs_worker(burst: bool, max_jobs: Optional[int]) -> None:
    """Run jobs from the JOBS_QUEUE queue on REDIS_URL until stopped (SIGTERM finishes the
    current job first)."""
    if not jobs.queued():
        raise click.UsageError("REDIS_URL chưa được đặt: không có hàng đợi; công việc nền chạy ngay trong yêu cầu.")
    # The scheduler moves jobs waiting for a retry (e-mail after an SMTP failure) back in the queue.
    jobs.worker().work(burst=burst, max_jobs=max_jobs, with_scheduler=True, logging_level="INFO")
