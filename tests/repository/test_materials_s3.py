"""The application on the S3 backend, over HTTP to an S3-compatible server: uploads land in the
bucket, downloads go through short-lived presigned URLs for the public endpoint, and an
unreachable store refuses the upload cleanly."""
from __future__ import annotations

import io
import socket
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
from flask import current_app
from sqlalchemy import func, select

from repository import demo_files
from repository.extensions import db
from repository.models import Material, PendingUpload
from repository.permissions import SystemActor
from repository.services import consistency
from storage import S3Storage
from tests.helpers import sign_in
from tests.repository import nasty_files as nf

TEACHER = "giaovien@thcs1.ninhbinh.edu.vn"


@pytest.fixture
def app_overrides(s3_endpoint: str) -> dict[str, Any]:
    bucket = f"kho-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": bucket,
            "S3_PUBLIC_ENDPOINT_URL": s3_endpoint.replace("127.0.0.1", "localhost")}


def _form(tmp_path: Path) -> dict[str, Any]:
    pdf = demo_files.pdf_file(tmp_path / "a.pdf", "Đề thi", ["Câu 1"]).read_bytes()
    return {"title": "Đề thi học kì", "subject": "TOAN", "grades": ["6"], "material_type": "BAI_KIEM_TRA",
            "licence": "CC_BY_4", "language": "vi", "files": (io.BytesIO(pdf), "Đề thi học kì.pdf")}


def test_an_upload_lands_in_the_bucket_and_downloads_are_presigned_for_the_public_host(
        client: Any, world: dict[str, Any], s3_endpoint: str, tmp_path: Path) -> None:
    bucket = current_app.config["S3_BUCKET"]
    sign_in(client, TEACHER)
    assert client.post("/materials/new", data=_form(tmp_path)).status_code == 302
    material = db.session.scalar(select(Material))
    stored = material.files[0]
    listing = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listing] == [stored.object_key]
    response = client.get(f"/materials/{material.id}/files/{stored.id}/download")
    assert response.status_code == 302
    url = urlsplit(response.headers["Location"])
    query = parse_qs(url.query)
    assert url.hostname == "localhost" and url.path == f"/{bucket}/{stored.object_key}"
    assert int(query["X-Amz-Expires"][0]) <= 3600
    disposition = unquote(query["response-content-disposition"][0])
    assert disposition.startswith("attachment") and "Đề thi học kì.pdf" in disposition
    preview = client.get(f"/materials/{material.id}/files/{stored.id}/preview")
    assert preview.status_code == 200 and preview.data.startswith(b"%PDF-")
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert "localhost" in client.get("/").headers["Content-Security-Policy"]  # img/media from the store
    assert consistency.check_storage(SystemActor(), checksums=True).findings == []


def test_the_store_unreachable_refuses_the_upload_and_leaves_nothing(
        client: Any, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setitem(current_app.extensions, "storage",
                        S3Storage("kho", endpoint_url=f"http://127.0.0.1:{closed}", access_key="x", secret_key="x"))
    sign_in(client, TEACHER)
    response = client.post("/materials/new", data=_form(tmp_path), headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 503
    assert "Không lưu được tệp" in response.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0
    assert db.session.scalar(select(func.count()).select_from(PendingUpload)) == 0


def test_a_refused_large_file_sent_in_parts_leaves_nothing_in_the_bucket(
        client: Any, world: dict[str, Any], s3_endpoint: str) -> None:
    """Parts of a large upload go to S3 while it arrives; a refusal aborts them."""
    bucket = current_app.config["S3_BUCKET"]
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    fake_video = b"<html><script>alert(1)</script>" + b" " * (17 * 1024 * 1024)  # more than one 16 MiB part
    sign_in(client, TEACHER)
    form = {"title": "Video giả", "subject": "TOAN", "grades": ["6"], "material_type": "VIDEO",
            "licence": "CC_BY_4", "language": "vi", "files": (io.BytesIO(fake_video), "video.mp4")}
    response = client.post("/materials/new", data=form, headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 422 and "video.mp4" in response.get_json()["error"]["message"]
    assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_large_file_sent_in_parts_is_stored_whole(client: Any, world: dict[str, Any], s3_endpoint: str) -> None:
    import hashlib
    import os

    video = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + (20 * 1024 * 1024).to_bytes(4, "big") + b"mdat"
    video += os.urandom(20 * 1024 * 1024)
    sign_in(client, TEACHER)
    form = {"title": "Video thật", "subject": "TOAN", "grades": ["6"], "material_type": "VIDEO",
            "licence": "CC_BY_4", "language": "vi", "files": (io.BytesIO(video), "video.mp4")}
    assert client.post("/materials/new", data=form).status_code == 302
    stored = db.session.scalar(select(Material)).files[0]
    body = boto3.client("s3", endpoint_url=s3_endpoint).get_object(
        Bucket=current_app.config["S3_BUCKET"], Key=stored.object_key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == stored.sha256 == hashlib.sha256(video).hexdigest()
    assert stored.size == len(video)
    # the parts went up with their CRC32s, so the store holds a checksum it verified part by part
    head = boto3.client("s3", endpoint_url=s3_endpoint).head_object(
        Bucket=current_app.config["S3_BUCKET"], Key=stored.object_key, ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32")


def test_a_pdf_with_javascript_after_its_first_part_is_refused_and_nothing_is_kept(
        client: Any, world: dict[str, Any], s3_endpoint: str) -> None:
    """The script sits past the first 16 MiB part, which has already gone to S3 when the check
    finds it: the multipart upload is aborted, and no object, row or in-flight mark remains."""
    bucket = current_app.config["S3_BUCKET"]
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    pdf = (b"%PDF-1.4\n%" + b"x" * (17 * 1024 * 1024) + b"\n9 0 obj << /S /JavaScript /JS (app.alert\\(1\\)) >> endobj\n"
           + nf.make_pdf()[9:])
    sign_in(client, TEACHER)
    form = {"title": "Đề thi có mã", "subject": "TOAN", "grades": ["6"], "material_type": "BAI_KIEM_TRA",
            "licence": "CC_BY_4", "language": "vi", "files": (io.BytesIO(pdf), "de-thi.pdf")}
    response = client.post("/materials/new", data=form, headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 422
    message = response.get_json()["error"]["message"]
    assert "de-thi.pdf" in message and "JavaScript" in message
    assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0
    assert db.session.scalar(select(func.count()).select_from(PendingUpload)) == 0
