"""Bulk import of N materials from JSON Lines through `flask --app app materials import`.

Builds a fresh embedded deployment in a temporary folder (SQLite, local storage), writes N lines
(every 50th line deliberately bad, spread over the file), runs the import command as an operator
would and prints lines per second, the refused count and the peak memory of the import process.

    .venv/bin/python bench/import_jsonl.py --lines 100000
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHOOLS = "code,name,type,unit_code\nBENCH01,Trường THCS Nhập liệu,THCS,14329\nBENCH02,Trường THPT Nhập liệu,THPT,14329\n"


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "app", *args], env=env, cwd=ROOT,
                          input=stdin, text=True, capture_output=True)


def write_lines(folder: Path, count: int) -> Path:
    files = folder / "files"
    files.mkdir()
    for n in range(20):  # a few distinct small files, as a school's archive would have many
        (files / f"bai-{n}.txt").write_text(f"Bài {n}: phương trình bậc nhất, hàm số, hình học.\n" * 20)
    path = folder / "import.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            line = {"title": f"Bài giảng số {n}", "subject": "TOAN", "grades": [6 + n % 4],
                    "school": "BENCH01", "owner": "gv.nhap@bench.ninhbinh.edu.vn", "file": f"files/bai-{n % 20}.txt",
                    "type": "BAI_GIANG_DIEN_TU", "status": ["draft", "published", "school_approved"][n % 3],
                    "created_at": "2025-10-01T08:00:00"}
            if n % 50 == 49:
                line["subject"] = "KHONG_CO"
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, INSTANCE_PATH=str(work / "instance"), PROCESSING="worker")
        for step in (("db", "upgrade"), ("units", "load")):
            flask(env, *step).check_returncode()
        (work / "schools.csv").write_text(SCHOOLS)
        flask(env, "schools", "import", str(work / "schools.csv")).check_returncode()
        flask(env, "users", "create", "gv.nhap@bench.ninhbinh.edu.vn", "--name", "Giáo viên", "--role", "teacher",
              "--school", "BENCH01", "--password-stdin", stdin="Bench#Import2026\n").check_returncode()
        path = write_lines(work, args.lines)
        start = time.perf_counter()
        result = flask(env, "materials", "import", str(path))
        seconds = time.perf_counter() - start
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        refused = sum(1 for line in result.stderr.splitlines() if line.strip().startswith("dòng "))
        summary = next((line for line in result.stdout.splitlines() if line.startswith("Đã nhập")), result.stdout)
    print(f"lines:             {args.lines}")
    print(f"exit code:         {result.returncode} (1 expected: some lines are bad on purpose)")
    print(f"summary:           {summary}")
    print(f"refused reported:  {refused} (expected {args.lines // 50})")
    print(f"time:              {seconds:.1f} s  ({args.lines / seconds:.0f} lines/s)")
    print(f"peak memory:       {peak_mib:.0f} MiB (largest child process)")


if __name__ == "__main__":
    sys.exit(main())
