"""Run one risky step in a child process with a wall-clock timeout and resource limits.

The limits (RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE, no core dumps) are set *in the child* by a tiny
Python launcher that then ``exec``s the real program (soffice, ffmpeg, pdftoppm) or runs one of
our worker modules. That avoids ``preexec_fn``, which is unsafe in a threaded web server. The
child starts a new session, so on timeout the whole process group (soffice → oosplash →
soffice.bin, ffmpeg's helpers…) is killed with SIGKILL and reaped: nothing is left running.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

from .errors import ProcessingFailed

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024

# Runs as `python -I -c LAUNCHER as_bytes cpu_seconds fsize_bytes mode ...`.
# mode "exec": argv follows, exec'd after the limits are set.
# mode "module": project root and module name follow; the module runs as __main__.
_LAUNCHER = r"""
import os, resource, sys
def lim(which, soft, hard):
    if soft <= 0:
        return
    cur_soft, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))
as_bytes, cpu, fsize = (int(v) for v in sys.argv[1:4])
mode, rest = sys.argv[4], sys.argv[5:]
lim(resource.RLIMIT_AS, as_bytes, as_bytes)
lim(resource.RLIMIT_CPU, cpu, cpu + 5)
lim(resource.RLIMIT_FSIZE, fsize, fsize)
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
if mode == "exec":
    try:
        os.execvp(rest[0], rest)
    except OSError as exc:
        sys.stderr.write("cannot run %s: %s\n" % (rest[0], exc))
        os._exit(127)
sys.path.insert(0, rest[0])
sys.argv = [rest[1]] + rest[2:]
import runpy
runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: str
    elapsed: float


def launcher_argv(argv: Sequence[str], *, memory_mb: int, cpu_seconds: int, file_mb: int,
                  module: bool = False) -> list[str]:
    """The command line that applies the limits and then runs ``argv``.

    With ``module=True`` ``argv`` is ``[module_name, *args]`` of a module under the project root.
    """
    head = [sys.executable, "-I"] + ([] if module else ["-S"]) + ["-c", _LAUNCHER,
            str(memory_mb * MB), str(max(1, cpu_seconds)), str(file_mb * MB)]
    if module:
        return head + ["module", str(PROJECT_ROOT), *argv]
    return head + ["exec", *argv]


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_limited(argv: Sequence[str], *, timeout: float, memory_mb: int, file_mb: int = 256,
                cpu_seconds: Optional[int] = None, module: bool = False,
                input_bytes: Optional[bytes] = None, capture_stdout: bool = False,
                env: Optional[Mapping[str, str]] = None, cwd: Optional[Path] = None,
                what: str = "worker") -> Completed:
    """Run ``argv`` under the limits and return its result; never waits longer than ``timeout``.

    Raises ProcessingFailed(code="timeout") when the wall clock runs out (after killing the
    process group). A non-zero exit is returned, not raised: callers decide what it means.
    """
    cpu = cpu_seconds if cpu_seconds is not None else int(timeout) + 1
    full = launcher_argv(argv, memory_mb=memory_mb, cpu_seconds=cpu, file_mb=file_mb, module=module)
    started = time.monotonic()
    with tempfile.TemporaryFile() as errfile:
        proc = subprocess.Popen(
            full, stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL, stderr=errfile,
            start_new_session=True, close_fds=True, env=dict(env) if env is not None else None,
            cwd=str(cwd) if cwd else None,
        )
        try:
            stdout, _ = proc.communicate(input_bytes, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.communicate()
            elapsed = time.monotonic() - started
            log.warning("%s timed out after %.1f s: %s", what, elapsed, argv[0])
            raise ProcessingFailed(
                f"Quá thời gian xử lý ({timeout:g} giây) / timed out after {timeout:g} s",
                code="timeout",
            ) from None
        except BaseException:
            _kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            # Descendants that outlived the leader (daemonised helpers) go too.
            _kill_group(proc.pid)
        errfile.seek(0, os.SEEK_END)
        size = errfile.tell()
        errfile.seek(max(0, size - 4096))
        stderr = errfile.read().decode("utf-8", "replace")
    return Completed(proc.returncode, stdout or b"", stderr, time.monotonic() - started)


def describe_exit(returncode: int) -> tuple[str, str]:
    """(code, bilingual reason) for a failed child's exit status."""
    if returncode < 0:
        sig = -returncode
        if sig == signal.SIGXCPU:
            return "timeout", "Vượt giới hạn thời gian CPU / CPU time limit exceeded"
        if sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT):
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            return "crashed", f"Tiến trình xử lý bị lỗi / worker crashed ({name})"
        return "crashed", f"Tiến trình xử lý bị dừng / worker killed (signal {sig})"
    return "crashed", f"Tiến trình xử lý bị lỗi / worker failed (exit {returncode})"
