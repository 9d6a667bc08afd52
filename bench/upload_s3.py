"""Upload a large file through the application to the S3 backend and compare with boto3.

Starts an S3-compatible server (moto's server mode, its own process) on 127.0.0.1, uploads the same file once
with boto3's own upload_file and once through the running application (gunicorn, real HTTP,
a streamed multipart body), and prints both throughputs, their ratio and the application's peak
memory growth (VmHWM after minus VmRSS before the upload).

    .venv/bin/python bench/upload_s3.py            # 1 GiB (the issue's measure)
    .venv/bin/python bench/upload_s3.py --mib 64   # a quick run
    .venv/bin/python bench/upload_s3.py --also S3_UPLOAD_CHECKSUMS=0   # also the app without
                                                   # declared checksums (the upload before them)

Targets from the materials issue: ratio >= 0.7, memory growth <= 100 MiB.
"""
from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import boto3
from boto3.s3.transfer import TransferConfig

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PASSWORD = "bench.teacher@bench.ninhbinh.edu.vn", "Bench#Upload2026"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_video(path: Path, mib: int) -> None:
    """An MP4-looking file (ftyp box, then incompressible payload in an mdat box)."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    size = mib * 1024 * 1024
    with path.open("wb") as out:
        out.write(ftyp)
        out.write((size - len(ftyp)).to_bytes(4, "big") + b"mdat")
        written = len(ftyp) + 8
        block = os.urandom(1024 * 1024)
        while written < size:
            chunk = block[: min(len(block), size - written)]
            out.write(chunk)
            written += len(chunk)


def baseline_upload(client: object, video: Path) -> float:
    """boto3's own upload of the same file (same part size and concurrency), then removed again."""
    start = time.perf_counter()
    client.upload_file(str(video), "baseline", "video.mp4",  # type: ignore[attr-defined]
                       Config=TransferConfig(multipart_chunksize=16 * 1024**2, max_concurrency=4))
    seconds = time.perf_counter() - start
    client.delete_object(Bucket="baseline", Key="video.mp4")  # type: ignore[attr-defined]
    return seconds


def worker_pid(master: int) -> int:
    """The one gunicorn worker (WORKERS=1): the process whose memory the upload grows."""
    for _ in range(100):
        children = [int(c) for t in Path(f"/proc/{master}/task").iterdir()
                    for c in (t / "children").read_text().split()]
        if children:
            return children[0]
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def start_app(env: dict[str, str], port: int) -> subprocess.Popen:
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "app"]
    subprocess.run(flask + ["db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(flask + ["units", "load"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(flask + ["schools", "import", env["BENCH_SCHOOLS"]], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(flask + ["users", "create", EMAIL, "--name", "Giáo viên đo", "--role", "teacher",
                            "--school", "BENCH01", "--password-stdin"],
                   env=env, check=True, capture_output=True, input=PASSWORD + "\n", text=True, cwd=ROOT)
    server = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "repository.serve"],
                              env=dict(env, LISTEN=f"127.0.0.1:{port}", WORKERS="1"), cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return server


def sign_in(port: int) -> tuple[str, str]:
    """Returns (cookie header, CSRF token of the upload form)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD}).encode()
    opener.open(base + "/login", data=body)
    form = opener.open(base + "/materials/new").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, token


def multipart(fields: dict[str, str], file_path: Path, boundary: str) -> tuple[list[bytes], int]:
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ) + (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{file_path.name}"\r\n'
         "Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return [head, tail], len(head) + file_path.stat().st_size + len(tail)


def stream_body(parts: list[bytes], file_path: Path) -> Iterator[bytes]:
    yield parts[0]
    with file_path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            yield chunk
    yield parts[1]


def upload_through_app(port: int, file_path: Path) -> float:
    cookie, token = sign_in(port)
    fields = {"csrf_token": token, "title": "Video đo tốc độ", "subject": "TOAN", "grades": "6",
              "material_type": "VIDEO", "licence": "CC_BY_4", "language": "vi", "series": ""}
    boundary = uuid.uuid4().hex
    parts, length = multipart(fields, file_path, boundary)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    start = time.perf_counter()
    conn.putrequest("POST", "/materials/new")
    for name, value in (("Content-Type", f"multipart/form-data; boundary={boundary}"),
                        ("Content-Length", str(length)), ("Cookie", cookie),
                        ("X-Requested-With", "XMLHttpRequest")):
        conn.putheader(name, value)
    conn.endheaders()
    for chunk in stream_body(parts, file_path):
        conn.send(chunk)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 201:
        raise RuntimeError(f"upload failed: {response.status} {body[:500]!r}")
    return elapsed


def measure_app(env: dict[str, str], video: Path, warm: Path) -> tuple[float, int, int]:
    """One application run on a fresh instance: (seconds for the upload, RSS before, peak RSS)."""
    port = free_port()
    server = start_app(env, port)
    try:
        upload_through_app(port, warm)
        worker = worker_pid(server.pid)
        before = rss_kib(worker, "VmRSS")
        seconds = upload_through_app(port, video)
        return seconds, before, rss_kib(worker, "VmHWM")
    finally:
        server.terminate()
        server.wait(10)


def empty_bucket(client: object, bucket: str) -> None:
    """Remove what a run stored, so every run meets the S3 server in the same state."""
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):  # type: ignore[attr-defined]
        client.delete_object(Bucket=bucket, Key=item["Key"])  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--also", action="append", default=[], metavar="NAME=VALUE",
                        help="measure the application once more with this setting (e.g. S3_UPLOAD_CHECKSUMS=0 "
                             "for the upload as it was before checksums were declared); repeatable")
    args = parser.parse_args()
    variants = [("as configured", {})] + [(spec, dict([spec.split("=", 1)])) for spec in args.also]
    # The S3 server runs in a process of its own, so neither the boto3 baseline (in this process)
    # nor the application (in its own) shares an interpreter lock with it.
    s3_port = free_port()
    moto = subprocess.Popen([str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{s3_port}"
    wait_for_port(s3_port)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        work = Path(tmp)
        video = work / "bai-giang.mp4"
        make_video(video, args.mib)
        size = video.stat().st_size
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="baseline")
        client.create_bucket(Bucket="kho")
        warm = work / "warm-up.mp4"
        make_video(warm, 40)  # larger than a part: warms the multipart path on both sides
        # Both sides are measured warm: a first upload pays one-off costs (botocore loading its
        # models and endpoint rules) that a long-running server pays once, not per upload.
        client.upload_file(str(warm), "baseline", "warm-up.mp4")
        boto_runs = [baseline_upload(client, video)]
        (work / "schools.csv").write_text("code,name,type,unit_code\nBENCH01,Trường THCS Đo tốc độ,THCS,14329\n")
        results = []
        for number, (_label, extra) in enumerate(variants):
            env = dict(os.environ, INSTANCE_PATH=str(work / f"instance-{number}"), STORAGE_BACKEND="s3",
                       S3_ENDPOINT_URL=endpoint, S3_BUCKET="kho", PROCESSING="worker", UPLOAD_TMPDIR=str(work),
                       BENCH_SCHOOLS=str(work / "schools.csv"), LOGIN_RATE_LIMIT="1000 per minute", **extra)
            results.append(measure_app(env, video, warm))
            empty_bucket(client, "kho")
        # boto3 again after the app, so neither side is favoured by the server's state (moto
        # keeps objects in memory and slows as it fills); the baseline is the mean of both runs.
        boto_runs.append(baseline_upload(client, video))
        boto_seconds = sum(boto_runs) / len(boto_runs)
    moto.terminate()
    moto.wait(10)
    mib = size / 1024**2
    boto_rate = mib / boto_seconds
    print(f"file size:                {mib:.0f} MiB")
    print(f"boto3 upload_file:        {boto_seconds:.2f} s  {boto_rate:.1f} MiB/s  "
          f"(mean of {', '.join(f'{t:.2f}' for t in boto_runs)} s, before and after the app)")
    for (label, _extra), (app_seconds, before, peak) in zip(variants, results):
        app_rate = mib / app_seconds
        print(f"through the application ({label}):")
        print(f"  upload:                 {app_seconds:.2f} s  {app_rate:.1f} MiB/s")
        print(f"  throughput ratio:       {app_rate / boto_rate:.2f}  (target >= 0.7)")
        print(f"  app memory growth:      {(peak - before) / 1024:.1f} MiB  (target <= 100 MiB; "
              f"RSS after warm-up {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB)")


if __name__ == "__main__":
    sys.exit(main())
