"""The web process killed (SIGKILL) in the middle of an upload: while the body still arrives and
its first part is on its way to S3, while the local store writes the file, and after the file is
stored but before its rows are committed. Nothing of it may become a material; what it left (an
unfinished multipart upload, a temporary file, an orphaned object, its in-flight mark, its spooled
body) is not reported while it could still be an upload in progress, and `check --repair` removes
all of it once it is older than UPLOAD_MAX_HOURS."""
from __future__ import annotations

import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.faults.processes import Child
from tests.faults.proxy import FaultProxy
from tests.faults.support import (
    DATABASES,
    TEACHER,
    assert_clean,
    assert_nothing_lost,
    counts,
    later,
    mp4_bytes,
    pdf_form,
    run_check,
    signed_in,
    snapshot,
    sqlite_only,
    upload,
)
from tests.helpers import PASSWORD

MiB = 1024 * 1024


@pytest.fixture
def app_overrides(tmp_path: Path) -> dict[str, Any]:
    spool = tmp_path / "spool"
    spool.mkdir()
    return {"UPLOAD_TMPDIR": str(spool)}


def _served(app: Any, database_url: str, tmp_path: Path, halt: str = "") -> tuple[Child, str, str]:
    """A child web server, its address and the session cookie of the teacher signed in there."""
    child = Child(app, database_url, tmp_path / "child.log", "serve", halt=halt)
    base = f"http://127.0.0.1:{child.next_line()}"
    session = requests.Session()
    answer = session.post(f"{base}/login", data={"email": TEACHER, "password": PASSWORD}, allow_redirects=False)
    assert answer.status_code == 302
    return child, base, session.cookies["session"]


def _multipart(fields: list[tuple[str, str]], filename: str, size: int) -> tuple[str, bytes, bytes, int]:
    """(boundary, what precedes the file's bytes, what follows them, the body's total length)."""
    boundary = f"kho-{uuid.uuid4().hex}"
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in fields)
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n")
    tail = f"\r\n--{boundary}--\r\n".encode()
    return boundary, head.encode(), tail, len(head.encode()) + size + len(tail)


@sqlite_only  # nothing reaches the database before the kill
def test_killed_while_the_body_streams_to_s3(app: Any, app_with: Any, world: dict[str, Any], database_url: str,
                                             s3_config: dict[str, Any], proxy: FaultProxy, s3_direct: Any,
                                             tmp_path: Path) -> None:
    s3_app = app_with(**s3_config, UPLOAD_TMPDIR=app.config["UPLOAD_TMPDIR"])
    assert upload(signed_in(s3_app), pdf_form(tmp_path, "Phương trình bậc nhất")).status_code == 201
    before, rows = snapshot(), counts()
    child, base, cookie = _served(s3_app, database_url, tmp_path)
    try:
        video = mp4_bytes(24 * MiB)
        fields = [("title", "Video thí nghiệm"), ("subject", "VAT_LY"), ("grades", "8"),
                  ("material_type", "VIDEO"), ("licence", "CC_BY_4"), ("language", "vi")]
        boundary, head, _tail, length = _multipart(fields, "thi-nghiem.mp4", len(video))
        sock = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        sock.sendall(f"POST /materials/new HTTP/1.1\r\nHost: {base[7:]}\r\nCookie: session={cookie}\r\n"
                     f"X-Requested-With: XMLHttpRequest\r\nContent-Length: {length}\r\n"
                     f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode() + head)
        sock.sendall(video[:18 * MiB])  # the rest never comes
        proxy.wait_uploaded(proxy.uploaded + 8 * MiB)  # the first 16 MiB part is half-way to S3
        child.kill()
        sock.close()
    finally:
        child.stop()
    bucket = s3_app.config["S3_BUCKET"]
    assert counts() == rows
    assert len(s3_direct.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1
    assert len(list(Path(app.config["UPLOAD_TMPDIR"]).iterdir())) == 1
    # moto dates every multipart upload 2010-11-10, so the check already reports it; the spooled
    # body is young and could be an upload in progress, so it is not reported yet.
    result = run_check(s3_app)
    assert result.exit_code == 1 and "unfinished: materials/" in result.output and "spool" not in result.output
    repaired = assert_clean(later(s3_app, app_with), "--repair").output
    assert "đã sửa unfinished" in repaired and "đã sửa spool" in repaired
    assert s3_direct.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert list(Path(app.config["UPLOAD_TMPDIR"]).iterdir()) == []
    assert_nothing_lost(before, s3_app)
    assert_clean(s3_app)


@pytest.mark.parametrize("database_url, halt, left",
                         [(name, "sql:INSERT INTO material_files", "orphan") for name in DATABASES]
                         + [("sqlite", "put", "unfinished")], indirect=["database_url"])
def test_killed_while_storing_or_before_the_rows_commit(app: Any, app_with: Any, world: dict[str, Any],
                                                        database_url: str, tmp_path: Path, halt: str,
                                                        left: str) -> None:
    """`put`: the local store has written the file under a temporary name. `sql`: the file is in
    place and marked in flight, and the material's row is inserted but its transaction is never
    committed (PostgreSQL rolls back a dead client's transaction; SQLite's next connection rolls
    back the hot journal)."""
    assert upload(signed_in(app), pdf_form(tmp_path, "Phương trình bậc nhất")).status_code == 201
    before, rows = snapshot(), counts()
    objects = {info.key for info in app.extensions["storage"].list("materials/")}
    child, base, cookie = _served(app, database_url, tmp_path, halt=halt)
    try:
        form = pdf_form(tmp_path, "Hệ phương trình")
        pdf = form.pop("files")
        sender = threading.Thread(target=_post_ignoring_the_kill, args=(base, cookie, form, pdf))
        sender.start()
        child.wait_halted()
        child.kill()
        sender.join(timeout=30)
    finally:
        child.stop()
    assert counts()[:2] == rows[:2]
    assert counts()[2] == 1  # the upload's in-flight mark, committed before its bytes were written
    stray = {info.key for info in app.extensions["storage"].list("materials/")} - objects
    assert len(stray) == (1 if left == "orphan" else 0)
    assert_clean(app)  # all of it young: an upload in progress looks the same
    repaired = assert_clean(later(app, app_with), "--repair").output
    assert f"đã sửa {left}: materials/" in repaired and "đã sửa spool" in repaired
    assert counts() == (rows[0], rows[1], 0)
    assert {info.key for info in app.extensions["storage"].list("materials/")} == objects
    assert list(app.extensions["storage"].unfinished()) == []
    assert_nothing_lost(before)
    assert upload(signed_in(app), pdf_form(tmp_path, "Hệ phương trình")).status_code == 201
    assert_clean(app)


def _post_ignoring_the_kill(base: str, cookie: str, form: dict[str, Any], pdf: tuple[Any, str]) -> None:
    try:
        requests.post(f"{base}/materials/new", data=form, files={"files": (pdf[1], pdf[0])},
                      cookies={"session": cookie}, timeout=60)
    except requests.exceptions.ConnectionError:
        pass  # the server was killed under it
