"""The child-process sandbox: limits really apply, timeouts kill the whole process group."""
from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repository.processing import ProcessingFailed
from repository.processing._sandbox import describe_exit, run_limited

PY = sys.executable


def test_limits_are_set_in_the_child():
    code = ("import resource as r; print(r.getrlimit(r.RLIMIT_AS)[0], r.getrlimit(r.RLIMIT_CPU)[0], "
            "r.getrlimit(r.RLIMIT_FSIZE)[0], r.getrlimit(r.RLIMIT_CORE)[0])")
    done = run_limited([PY, "-c", code], timeout=10, memory_mb=300, file_mb=5, cpu_seconds=7,
                       capture_stdout=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(300 << 20).encode(), b"7", str(5 << 20).encode(), b"0"]
    assert resource.getrlimit(resource.RLIMIT_AS)[0] != 300 << 20  # the parent is untouched


def test_memory_limit_stops_allocation():
    done = run_limited([PY, "-c", "x = bytearray(400 * 1024 * 1024)"], timeout=10, memory_mb=200)
    assert done.returncode != 0 and "MemoryError" in done.stderr


def test_cpu_limit_kills_a_busy_loop():
    started = time.monotonic()
    done = run_limited([PY, "-c", "while True: pass"], timeout=20, memory_mb=200, cpu_seconds=1)
    assert done.returncode == -signal.SIGXCPU
    assert time.monotonic() - started < 5
    assert describe_exit(done.returncode)[0] == "timeout"


def test_timeout_kills_grandchildren(tmp_path, gone):
    pidfile = tmp_path / "pids"
    started = time.monotonic()
    with pytest.raises(ProcessingFailed) as info:
        run_limited(["sh", "-c", f"sleep 30 & echo $! > {pidfile}; sleep 30"], timeout=0.5, memory_mb=100)
    assert info.value.code == "timeout" and time.monotonic() - started < 2.5
    assert gone(pidfile.read_text().strip())


def test_missing_program_is_an_exit_code_not_a_hang():
    done = run_limited(["definitely-not-a-program-xyz"], timeout=5, memory_mb=100)
    assert done.returncode == 127


def test_stdin_and_stdout_round_trip():
    done = run_limited([PY, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())"], timeout=10,
                       memory_mb=300, input_bytes="học sinh".encode(), capture_stdout=True)
    assert done.stdout.decode() == "HỌC SINH"


def test_child_sees_no_parent_stdin():
    # A worker must never block on the web process's stdin.
    done = run_limited([PY, "-c", "import sys; print(repr(sys.stdin.read()))"], timeout=5, memory_mb=300,
                       capture_stdout=True)
    assert done.stdout.strip() == b"''"


def test_workers_import_without_flask():
    code = ("import sys, repository.processing._extract_child, repository.processing._thumb_child; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'boto3')))")
    done = run_limited(["repository.processing._extract_child"], module=True, timeout=10, memory_mb=512,
                       input_bytes=b'{"src": "/dev/null", "extension": "bin", "max_chars": 10, '
                                   b'"max_pages": 1, "max_cells": 1, "max_zip_bytes": 1}',
                       capture_stdout=True)
    assert done.returncode == 0, done.stderr
    assert b"unsupported_format" in done.stdout
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                           cwd=Path(__file__).resolve().parents[3])
    assert plain.stdout.strip() == "[]", plain.stderr
