"""Running the application in a child process (tests/faults/child.py) and killing it."""
from __future__ import annotations

import json
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Optional

from tests.faults.child import HALTED

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The settings a child shares with the test's app: the same database, store, index and spool.
SHARED = ("STORAGE_BACKEND", "STORAGE_DIR", "S3_ENDPOINT_URL", "S3_BUCKET", "SEARCH_INDEX_DIR", "UPLOAD_TMPDIR",
          "SEARCH_APPLY", "PROCESSING")


def _limit_file_size(limit: int) -> None:
    # CPython ignores SIGXFSZ at start-up, so the write fails with EFBIG instead of killing it.
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


class Child:
    """One child process on the configuration of `app`; its output lines arrive in a queue so the
    test can wait for them with a time limit."""

    def __init__(self, app: Any, database_url: str, log: Path, *args: str, halt: str = "",
                 max_file_bytes: Optional[int] = None) -> None:
        """`max_file_bytes`: RLIMIT_FSIZE of the child, so that writing past that size in any file
        fails with EFBIG ("File too large") the way a full disk fails with ENOSPC."""
        config = {name: app.config[name] for name in SHARED}
        env = {**os.environ, "FAULT_HALT": halt}
        self.log = log
        self._stderr = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.child", database_url, json.dumps(config), *args],
            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            preexec_fn=None if max_file_bytes is None else lambda: _limit_file_size(max_file_bytes))
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout: float = 60.0) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the child said nothing for {timeout} s; its log:\n{self.log.read_text()}")
        assert line is not None, f"the child ended early; its log:\n{self.log.read_text()}"
        return line

    def wait_halted(self, timeout: float = 60.0) -> None:
        while self.next_line(timeout) != HALTED:
            continue

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no finally block runs in the child."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL
        self._stderr.close()

    def finish(self, timeout: float = 120.0) -> str:
        """Wait for a command to end; returns everything it printed."""
        out: list[str] = []
        try:
            while (line := self.lines.get(timeout=timeout)) is not None:
                out.append(line)
        except queue.Empty:
            raise AssertionError(f"the child did not finish in {timeout} s; its log:\n{self.log.read_text()}")
        self.process.wait(timeout=timeout)
        self._stderr.close()
        return "\n".join(out)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if not self._stderr.closed:
            self._stderr.close()
