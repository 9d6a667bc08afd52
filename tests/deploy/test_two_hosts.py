"""Several stateless application hosts: two real servers (`python -m repository.serve`, gunicorn) on
different ports share one database and one S3-compatible store, and each keeps its own search index
current with its own change-log applier (`flask --app app search worker`). A material published
through host A is found through host B; a take-down on B disappears from A."""
from __future__ import annotations

import re
import secrets
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import boto3
import pytest
import requests

from repository import demo_files
from tests.conftest import FAKE_ENV
from tests.deploy.processes import FLASK, Process, free_port, host_env, stop_all, wait_until
from tests.helpers import PASSWORD
from tests.repository.review_support import DEPT_ADMIN, DEPT_REVIEWER, REVIEWER, TEACHER

SEARCH_WAIT = 90  # seconds; bounds a failing run only


@dataclass
class Host:
    name: str
    url: str
    server: Process
    applier: Process

    def search(self, words: str) -> list[int]:
        """Ids found by an anonymous visitor through the JSON search API."""
        response = requests.get(f"{self.url}/api/v1/materials", params={"q": words}, timeout=30)
        assert response.status_code == 200, response.text[:2000]
        return [item["id"] for item in response.json()["items"]]


def _start_host(name: str, settings: dict[str, Any], tmp_path: Path) -> Host:
    port = free_port()
    root = tmp_path / name
    env = host_env({**settings, "SEARCH_INDEX_DIR": root / "search-index", "LISTEN": f"127.0.0.1:{port}",
                    "WORKERS": 1, "THREADS": 4}, root / "instance")
    server = Process(f"{name}-server", [sys.executable, "-m", "repository.serve"], env, tmp_path)
    applier = Process(f"{name}-search-worker", [*FLASK, "search", "worker", "--interval", "0.2"], env, tmp_path)
    return Host(name, f"http://127.0.0.1:{port}", server, applier)


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/login", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def hosts(database_url: str, world: dict[str, Any], s3_endpoint: str, tmp_path: Path) -> Iterator[tuple[Host, Host]]:
    """Hosts A and B, configured only through the environment as the README's operations section
    describes: one database, one bucket, one SECRET_KEY, an index directory each."""
    bucket = f"kho-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    shared = {**FAKE_ENV, "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(32),
              "STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": bucket,
              "SEARCH_APPLY": "worker", "PROCESSING": "inline", "REDIS_URL": ""}
    started: list[Host] = []
    try:
        for name in ("host-a", "host-b"):
            started.append(_start_host(name, shared, tmp_path))
        for host in started:
            wait_until(f"{host.name} to answer", lambda: _answers(host.url), timeout=90,
                       processes=(host.server, host.applier))
        yield started[0], started[1]
    finally:
        stop_all([process for host in started for process in (host.server, host.applier)])


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    assert page.status_code == 200, page.text[:2000]
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def _signed_in(host: Host, email: str) -> tuple[requests.Session, str]:
    """A browser-like session signed in on `host`, with its CSRF token."""
    session = requests.Session()
    token = _csrf(session, f"{host.url}/login")
    response = session.post(f"{host.url}/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False, timeout=60)
    assert response.status_code == 302, response.text[:2000]
    return session, _csrf(session, f"{host.url}/materials/mine")


def _upload(host: Host, teacher: tuple[requests.Session, str], title: str, tmp_path: Path) -> tuple[int, bytes]:
    """Upload a PDF through the form and submit it for review; the material id and the bytes."""
    session, token = teacher
    pdf = demo_files.pdf_file(tmp_path / "lesson.pdf", title, ["Bai 1: Tinh the tich khoi chop"]).read_bytes()
    form = {"title": title, "subject": "TOAN", "grades": ["11"], "material_type": "BAI_GIANG_DIEN_TU",
            "licence": "CC_BY_4", "language": "vi", "csrf_token": token}
    response = session.post(f"{host.url}/materials/new", data=form, files={"files": (f"{title}.pdf", pdf)},
                            allow_redirects=False, timeout=120)
    assert response.status_code == 302, response.text[:3000]
    material_id = int(re.search(r"/materials/(\d+)$", response.headers["Location"]).group(1))
    _act(host, TEACHER, material_id, "submit", session=teacher)
    return material_id, pdf


def _act(host: Host, email: str, material_id: int, action: str, reason: str = "",
         session: Optional[tuple[requests.Session, str]] = None) -> None:
    client, token = session or _signed_in(host, email)
    response = client.post(f"{host.url}/review/{material_id}/act/{action}",
                           data={"csrf_token": token, "reason": reason}, allow_redirects=False, timeout=60)
    assert response.status_code == 303, (action, response.status_code, response.text[:2000])


def test_published_on_one_host_is_found_on_the_other_and_a_take_down_on_it_disappears(
        hosts: tuple[Host, Host], tmp_path: Path) -> None:
    a, b = hosts
    marker = f"mk{uuid.uuid4().hex[:8]}"  # a word no other material has
    teacher = _signed_in(a, TEACHER)
    material_id, pdf = _upload(a, teacher, f"Thể tích khối chóp {marker}", tmp_path)
    # No sticky sessions: B accepts the session cookie that A issued (one SECRET_KEY, state in the database).
    assert teacher[0].get(f"{b.url}/materials/mine", allow_redirects=False, timeout=30).status_code == 200
    _act(a, REVIEWER, material_id, "school_approve")
    assert b.search(marker) == []  # not public before the department publishes it
    _act(a, DEPT_REVIEWER, material_id, "publish")
    wait_until("B's index to have the material published on A", lambda: b.search(marker) == [material_id],
               timeout=SEARCH_WAIT, processes=(a.server, a.applier, b.server, b.applier))
    assert a.search(marker) == [material_id]  # A's own applier has it too

    # The file went to the shared bucket: B hands out a presigned link to the bytes stored through A.
    visitor = requests.Session()
    page = visitor.get(f"{b.url}/materials/{material_id}", timeout=30)
    file_id = re.search(rf"/materials/{material_id}/files/(\d+)/download", page.text).group(1)
    link = visitor.get(f"{b.url}/materials/{material_id}/files/{file_id}/download", allow_redirects=False, timeout=30)
    assert link.status_code == 302
    assert requests.get(link.headers["Location"], timeout=30).content == pdf

    _act(b, DEPT_ADMIN, material_id, "take_down", reason="Vi phạm bản quyền")
    wait_until("A's index to drop the material taken down on B", lambda: a.search(marker) == [],
               timeout=SEARCH_WAIT, processes=(a.server, a.applier, b.server, b.applier))
    assert b.search(marker) == []
