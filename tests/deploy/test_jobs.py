"""Background jobs: with REDIS_URL an upload and an e-mail become RQ jobs on the local Redis, and
a real `flask --app app jobs worker` does them (the thumbnail made, the message delivered to a real
SMTP server); without REDIS_URL, or with Redis down, the same work happens in the request."""
from __future__ import annotations

import io
import socket
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis
from flask import current_app
from PIL import Image
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from repository import demo_files, jobs
from repository.extensions import db
from repository.models import Material, MaterialFile
from repository.services import review
from tests.deploy.processes import FLASK, Process, host_env, redis_or_skip
from tests.repository.review_support import TEACHER, make_material, signed_in
from tests.smtp import Mailbox

PROCESS_JOB = "repository.services.processing.process_uploaded"


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Database 13 of the local Redis, emptied after the test."""
    url = redis_or_skip()
    yield url
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


@pytest.fixture
def queued_app(app_with: Any, redis_url: str) -> Any:
    """The app with a job queue of its own (a fresh name, so nothing else's jobs are in it)."""
    return app_with(REDIS_URL=redis_url, JOBS_QUEUE=f"test-{uuid.uuid4().hex[:8]}", PROCESSING="inline")


def _upload_form(tmp_path: Path, title: str) -> dict[str, Any]:
    pdf = demo_files.pdf_file(tmp_path / "a.pdf", title, ["Câu 1: Giải phương trình"]).read_bytes()
    return {"title": title, "subject": "TOAN", "grades": ["9"], "material_type": "BAI_KIEM_TRA",
            "licence": "CC_BY_4", "language": "vi", "files": (io.BytesIO(pdf), f"{title}.pdf")}


def _upload(app: Any, tmp_path: Path, title: str = "Đề kiểm tra giữa kì") -> MaterialFile:
    client = signed_in(app, TEACHER)
    response = client.post("/materials/new", data=_upload_form(tmp_path, title))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    return db.session.scalars(db.select(Material).where(Material.title == title)).one().files[0]


def _worker(app: Any, tmp_path: Path) -> Process:
    """`flask --app app jobs worker --burst` as its own process, configured like the app."""
    settings = {name: app.config[name] for name in ("DATABASE_URL", "REDIS_URL", "JOBS_QUEUE", "STORAGE_DIR",
                                                    "SEARCH_INDEX_DIR", "SECRET_KEY")}
    env = host_env(settings, tmp_path / "worker-instance")
    return Process("jobs-worker", [*FLASK, "jobs", "worker", "--burst"], env, tmp_path)


def test_an_upload_is_processed_by_a_real_worker(queued_app: Any, world: dict[str, Any], tmp_path: Path) -> None:
    stored = _upload(queued_app, tmp_path)
    assert stored.state == "uploaded" and stored.thumbnail_key is None  # the request only queued it
    with queued_app.app_context():
        queue = jobs.queue()
        [job] = queue.get_jobs()
    assert job.func_name == "repository.jobs.perform" and job.args == (PROCESS_JOB, stored.id)
    assert job.timeout == 1800 and job.description == PROCESS_JOB  # JOBS_TIMEOUT; what RQ logs
    worker = _worker(queued_app, tmp_path)
    assert worker.wait(timeout=180) == 0, worker.output()
    assert job.get_status(refresh=True) == JobStatus.FINISHED, worker.output()
    db.session.expire_all()
    done = db.session.get(MaterialFile, stored.id)
    assert done.state == "ready", (done.failure_reason, worker.output())
    assert "Giai phuong trinh" in done.extracted_text  # demo PDFs carry ASCII text
    with queued_app.app_context():
        with current_app.extensions["storage"].open(done.thumbnail_key) as thumb:
            image = Image.open(io.BytesIO(thumb.read()))
        assert image.format == "JPEG" and max(image.size) > 0
        assert queue.count == 0


def test_a_queued_job_for_a_deleted_or_processed_file_does_nothing(queued_app: Any, world: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    stored = _upload(queued_app, tmp_path)
    with queued_app.app_context():
        from repository.services import processing

        processing.process_file(stored.id)  # e.g. `flask materials process` got there first
        first = db.session.get(MaterialFile, stored.id).processed_at
        jobs.perform(PROCESS_JOB, stored.id)  # the queued job, late: a no-op
        jobs.perform(PROCESS_JOB, 2_000_000)  # a file deleted since: a no-op, not a failure
        assert db.session.get(MaterialFile, stored.id).processed_at == first


def test_email_is_sent_by_the_worker_and_retried_while_smtp_is_down(
        app_with: Any, redis_url: str, world: dict[str, Any], tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    settings = {"REDIS_URL": redis_url, "JOBS_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
                "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_FROM": "kho@so.ninhbinh.edu.vn"}
    mail_app = app_with(**settings)
    with mail_app.test_request_context():
        material = make_material(world["teacher"], tmp_path, title="Hình học không gian")
        review.submit(world["teacher"], material)  # the school's two reviewers are told
        assert box.envelopes == []  # queued, not sent by the request
        assert jobs.queue().count == 2
        assert jobs.worker().work(burst=True) is True  # RQ's SimpleWorker, in this process
    assert box.recipients() == ["hieutruong@thcs1.ninhbinh.edu.vn", "totruong@thcs1.ninhbinh.edu.vn"]
    message = box.messages()[0]
    assert message["From"] == "kho@so.ninhbinh.edu.vn" and "Hình học không gian" in message.get_content()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]  # nothing listens here once the socket closes
    down_app = app_with(**{**settings, "MAIL_PORT": dead_port})
    with down_app.test_request_context():
        material = db.session.get(Material, material.id)
        review.request_changes(world["school_reviewer"], material, "Thiếu hình vẽ")
        [job_id] = jobs.queue().job_ids
        jobs.worker().work(burst=True)
        job = Job.fetch(job_id, connection=jobs.queue().connection)
        assert job.description == "repository.mail.send_now"  # RQ logs this, never the message text
        # Failed once, kept for a retry in a minute rather than lost.
        assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 2
        assert job_id in ScheduledJobRegistry(queue=jobs.queue()).get_job_ids()
        assert material.status == "changes_requested"  # the decision stands


def test_without_redis_url_the_upload_is_processed_in_the_request(app_with: Any, world: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    inline_app = app_with(PROCESSING="inline", REDIS_URL="")
    stored = _upload(inline_app, tmp_path)
    assert stored.state == "ready" and stored.thumbnail_key, stored.failure_reason
    with inline_app.app_context():
        assert not jobs.queued()
        assert jobs.enqueue("repository.services.processing.process_uploaded", stored.id) is None


def test_with_redis_down_the_work_still_happens_in_the_request(app_with: Any, world: dict[str, Any],
                                                               tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    down_app = app_with(PROCESSING="inline", REDIS_URL=f"redis://127.0.0.1:{dead_port}/0")
    with down_app.app_context():  # through the service: sign-in counting would need Redis too
        [stored] = make_material(world["teacher"], tmp_path).files
        assert stored.state == "ready" and stored.thumbnail_key, stored.failure_reason


def test_the_worker_command_needs_redis_url(tmp_path: Path) -> None:
    env = host_env({"REDIS_URL": ""}, tmp_path / "instance")
    worker = Process("jobs-worker", [*FLASK, "jobs", "worker"], env, tmp_path)
    assert worker.wait(timeout=60) == 2
    assert "REDIS_URL chưa được đặt" in worker.output()
