"""The object store down, stalled or slow while a file is uploaded or downloaded (S3 over HTTP,
through a proxy that resets, holds or delays the real traffic).

Each test ends with the real `check` reporting nothing and every file committed before the fault
still in the store with its bytes unchanged."""
from __future__ import annotations

import hashlib
import io
import threading
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from repository.extensions import db
from repository.models import Material
from tests.faults.proxy import FaultProxy
from tests.faults.support import (
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
UNAVAILABLE = "Kho lưu trữ tệp không phản hồi"


@pytest.fixture
def app_overrides(s3_config: dict[str, Any]) -> dict[str, Any]:
    return s3_config


@pytest.fixture
def committed(app: Any, world: dict[str, Any], tmp_path: Any) -> dict[int, tuple]:
    """One material uploaded before the fault; its rows and bytes must survive it."""
    response = upload(signed_in(app), pdf_form(tmp_path, "Phương trình bậc nhất"))
    assert response.status_code == 201, response.data
    return snapshot()


def test_store_down_refuses_the_upload_with_a_message_and_leaves_nothing(
        app: Any, committed: dict, proxy: FaultProxy, s3_direct: Any, tmp_path: Any) -> None:
    client = signed_in(app)
    before = counts()
    proxy.cut()
    response = upload(client, pdf_form(tmp_path, "Bài tập chương 2"))
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_json()["error"]["message"]
    page = client.post("/materials/new", data=pdf_form(tmp_path, "Bài tập chương 2"))  # the HTML form
    assert page.status_code == 503 and UNAVAILABLE in page.get_data(as_text=True)
    assert counts() == before
    result = run_check(app)  # nothing to compare with: it says why, and fails
    assert result.exit_code == 1 and UNAVAILABLE in result.output and result.exception.code == 1
    proxy.restore()
    assert upload(client, pdf_form(tmp_path, "Bài tập chương 2")).status_code == 201
    bucket = app.config["S3_BUCKET"]
    assert len(s3_direct.list_objects_v2(Bucket=bucket)["Contents"]) == 2
    assert_nothing_lost(committed)
    assert_clean(app)


def test_store_lost_while_a_large_file_streams_in_parts(
        app: Any, app_with: Any, committed: dict, proxy: FaultProxy, s3_direct: Any) -> None:
    """The first 16 MiB part is on its way to the store when the store goes down: the upload is
    refused, no row or object remains, and the parts it sent are removed by check --repair."""
    client = signed_in(app)
    before = counts()
    video = mp4_bytes(20 * MiB)
    form = {"title": "Video thí nghiệm", "subject": "VAT_LY", "grades": ["8"], "material_type": "VIDEO",
            "licence": "CC_BY_4", "language": "vi"}
    answers: list[Any] = []

    def post() -> None:
        answers.append(upload(client, {**form, "files": (io.BytesIO(video), "thi-nghiem.mp4")}))

    sender = threading.Thread(target=post)
    sender.start()
    proxy.wait_uploaded(proxy.uploaded + 8 * MiB)  # half of the first part has reached the store
    proxy.cut()
    sender.join(timeout=60)
    assert answers and answers[0].status_code == 503, answers
    assert UNAVAILABLE in answers[0].get_json()["error"]["message"]
    assert counts() == before
    proxy.restore()
    bucket = app.config["S3_BUCKET"]
    assert len(s3_direct.list_objects_v2(Bucket=bucket)["Contents"]) == 1  # only the committed file
    # moto dates every multipart upload 2010-11-10, so this one already looks abandoned (that a
    # young one is left alone is shown on the local store, whose dates are real).
    result = run_check(app)
    assert result.exit_code == 1 and "unfinished: materials/" in result.output
    assert "đã sửa unfinished" in assert_clean(later(app, app_with), "--repair").output
    assert s3_direct.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert_nothing_lost(committed)
    assert_clean(app)


def test_a_stalled_store_holds_only_the_upload_and_it_completes_when_the_store_answers(
        app: Any, app_with: Any, committed: dict, proxy: FaultProxy, s3_endpoint: str, tmp_path: Any) -> None:
    client = signed_in(app)
    material_id = next(iter(committed.values()))[0]
    answers: list[Any] = []
    proxy.pause()
    sender = threading.Thread(target=lambda: answers.append(upload(client, pdf_form(tmp_path, "Ôn tập cuối kì"))))
    sender.start()
    proxy.wait_held()
    # The rest of the site keeps answering, and a check run elsewhere (straight to the store) sees
    # nothing wrong with an upload in flight: it neither reports nor removes anything.
    assert signed_in(app).get(f"/materials/{material_id}").status_code == 200
    elsewhere = app_with(STORAGE_BACKEND="s3", S3_ENDPOINT_URL=s3_endpoint, S3_BUCKET=app.config["S3_BUCKET"],
                         SEARCH_INDEX_DIR=app.config["SEARCH_INDEX_DIR"])
    assert_clean(elsewhere, "--repair")
    proxy.resume()
    sender.join(timeout=60)
    assert answers and answers[0].status_code == 201
    proxy.delay = 0.02  # slow, not stalled: the checksum pass still reads every byte right
    assert_clean(app, "--checksums")
    proxy.delay = 0.0
    assert_nothing_lost(committed)
    assert db.session.query(Material).count() == 2


class _Server:
    """The application served over real HTTP in a thread, so a download cut mid-body is seen by
    the client the way a browser sees it."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@sqlite_only  # reads only: the database plays no part in it
def test_store_down_or_slow_during_download(app: Any, world: dict[str, Any], proxy: FaultProxy, tmp_path: Any) -> None:
    """Previews of PDFs stream through the application; downloads are presigned redirects."""
    big = pdf_form(tmp_path, "Giáo án cả năm")
    # A comment after the header makes it several 1 MiB chunks long, to stream and to cut.
    pdf = b"%PDF-1.4\n%" + b"x" * (3 * MiB) + b"\n" + big["files"][0].getvalue()[9:]
    big["files"] = (io.BytesIO(pdf), "Giáo án cả năm.pdf")
    assert upload(signed_in(app), big).status_code == 201
    before = snapshot()
    [(file_id, (material_id, _title, _key, _size, sha256))] = before.items()
    server = _Server(app)
    try:
        browser = requests.Session()
        assert browser.post(f"{server.url}/login", data={"email": TEACHER, "password": PASSWORD},
                            allow_redirects=False).status_code == 302
        preview = f"{server.url}/materials/{material_id}/files/{file_id}/preview"
        download = f"{server.url}/materials/{material_id}/files/{file_id}/download"

        proxy.delay = 0.005  # slow store: the preview arrives whole
        assert hashlib.sha256(browser.get(preview).content).hexdigest() == sha256
        proxy.delay = 0.0

        proxy.cut()  # store down: a clear 503 page, and the presigned download needs no store
        answer = browser.get(preview)
        assert answer.status_code == 503 and "503" in answer.text
        assert browser.get(download, allow_redirects=False).status_code == 302
        proxy.restore()

        # The store dies in the middle of the body: the browser sees a broken download, never a
        # shorter file that looks complete, and the server goes on serving.
        proxy.drop_after_download = 2 * MiB
        received = 0
        with browser.get(preview, stream=True) as answer:
            assert answer.status_code == 200
            with pytest.raises(requests.exceptions.ChunkedEncodingError):
                for chunk in answer.iter_content(64 * 1024):
                    received += len(chunk)
        assert 0 < received < len(pdf)
        assert hashlib.sha256(browser.get(preview).content).hexdigest() == sha256
    finally:
        server.close()
    assert_nothing_lost(before)
    assert_clean(app)


def test_a_store_that_dies_before_the_first_byte_fails_at_open_not_mid_response() -> None:
    """A store that answers 200 and dies before sending any of the body: `open` raises the store's
    error (a 503 for a preview), instead of returning a stream whose first read fails after the
    response has already started (a 500 from the WSGI server)."""
    import socketserver

    from storage import S3Storage, StorageError

    class HeadersOnly(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            received = b""
            while b"\r\n\r\n" not in received:
                received += self.request.recv(65536)
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 4096\r\n"
                                 b'ETag: "0123"\r\n\r\n')

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), HeadersOnly) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        store = S3Storage("kho-dead", endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
                          access_key="x", secret_key="x")
        with pytest.raises(StorageError):
            store.open("materials/2026/11/0123456789abcdef0123456789abcdef")
        server.shutdown()
