"""The app served for real for the browser tests: `python -m repository.serve` (gunicorn, as in
production) in a subprocess on a free port of 127.0.0.1, on a temporary SQLite database, object
store and search index that province.py seeds before the server starts.

The server's configuration comes only from here: every application setting the surrounding
environment may carry (a developer's DATABASE_URL, SESSION_COOKIE_SECURE=1, ...) is dropped first.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from repository.config import _SETTINGS as APP_SETTINGS
from tests.browser import province
from tests.helpers import make_app

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    url: str
    root: Path
    log: Path
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(root: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_SETTINGS}
    env.update({
        "DATABASE_URL": f"sqlite:///{root / 'browser.sqlite3'}", "INSTANCE_PATH": str(root / "instance"),
        "SECRET_KEY": "browser-tests", "STORAGE_DIR": str(root / "storage"), "SEARCH_INDEX_DIR": str(root / "index"),
        "UPLOAD_TMPDIR": str(root / "spool"), "BASE_URL": f"http://127.0.0.1:{port}",
        # Several people sign in from one address within a minute in every journey.
        "LOGIN_RATE_LIMIT": "600 per minute",
        "LISTEN": f"127.0.0.1:{port}", "WORKERS": "1", "THREADS": "8", "LOG_LEVEL": "warning",
    })
    return env


def _wait_until_serving(server: LiveServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            pytest.fail(f"the server stopped while starting:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"the server did not answer within {timeout} s:\n{server.log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve(log: Path) -> Iterator[LiveServer]:
    """Seed a fresh database, start the server (its output goes to `log`), stop it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="kho-browser-"))
    try:
        for folder in ("instance", "storage", "index", "spool", "seed"):
            (root / folder).mkdir()
        port = _free_port()
        env = _server_env(root, port)
        province.seed(make_app(env["DATABASE_URL"], STORAGE_DIR=env["STORAGE_DIR"],
                               SEARCH_INDEX_DIR=env["SEARCH_INDEX_DIR"]), root / "seed")
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "repository.serve"], cwd=PROJECT_DIR, env=env,
                                       stdout=out, stderr=subprocess.STDOUT)
        server = LiveServer(f"http://127.0.0.1:{port}", root, log, process)
        try:
            _wait_until_serving(server)
            yield server
        finally:
            _stop(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)
