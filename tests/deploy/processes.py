"""Helpers for the deployment tests: the application's own commands run as separate processes,
configured only through environment variables, as on a real host."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask", "--app", "app"]
REDIS_URL = "redis://127.0.0.1:6379/13"  # database 13 of the local Redis belongs to tests/deploy


def redis_or_skip() -> str:
    """REDIS_URL when Redis answers; a skip otherwise, or a failure with REQUIRE_REDIS=1 (CI)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but Redis is unreachable at {REDIS_URL}: {error}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error}")
    finally:
        client.close()
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def host_env(settings: dict[str, Any], instance: Path) -> dict[str, str]:
    """The environment of one application host: this machine's, less any setting the test run
    itself carries, plus `settings` (every value as the string an operator would write)."""
    env = {k: v for k, v in os.environ.items() if k not in {"FLASK_APP", "TEST_DATABASE_URL"}}
    instance.mkdir(parents=True, exist_ok=True)
    env.update({"INSTANCE_PATH": str(instance), "PYTHONUNBUFFERED": "1"})
    env.update({name: str(value) for name, value in settings.items()})
    return env


class Process:
    """One command of the application started in the project folder, its output kept in a log
    file (shown when a test fails), stopped with SIGTERM like a process manager would."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        """The exit status of a command that is meant to finish by itself."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.name} still running after {timeout} s:\n{self.output()[-4000:]}") from None

    def terminate(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM (a no-op when it has exited), then SIGKILL if it is still there after 30 s."""
        self.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def stop_all(processes: list[Process]) -> None:
    """Stop several processes at once: signal them all first, so that their shutdowns overlap."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()


def wait_until(what: str, check: Callable[[], Optional[Any]], timeout: float = 60.0,
               processes: tuple[Process, ...] = ()) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds with `what`
    and the logs of `processes`. The bound only limits a failing run, no assertion rests on it."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        for process in processes:
            if process.proc.poll() is not None:
                raise AssertionError(f"{process.name} exited while waiting for {what}:\n{process.output()[-4000:]}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in processes)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)
