"""Real files for the browser journeys: a 50 MB H.264 MP4 made by ffmpeg and a one-page PDF.

The video is H.264 in MP4 with the index at the front (faststart), so Chromium can show its
first frame and duration in the preview after fetching only the start of the file. Its frames are
noise, which does not compress, so a few seconds of small video reach the size a teacher's
recorded lesson has; the same ffmpeg always writes the same bytes.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from repository import demo_files

VIDEO_MIN_BYTES = 50 * 1024 * 1024


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def make_video(path: Path, min_bytes: int = VIDEO_MIN_BYTES, seed: int = 1) -> Path:
    """An MP4 of at least `min_bytes`; ~9 MB per second of 640x360 noise at 25 fps. The noise's
    `seed` makes different videos of the same length."""
    seconds = 6
    while True:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
             "-i", f"testsrc2=size=640x360:rate=25:duration={seconds},noise=alls=60:allf=t+u:all_seed={seed}",
             "-c:v", "libx264", "-preset", "ultrafast", "-qp", "4", "-pix_fmt", "yuv420p",
             "-movflags", "+faststart", "-y", str(path)],
            check=True, timeout=120)
        if path.stat().st_size >= min_bytes:
            return path
        seconds += 2  # another ffmpeg build compressed noise better: make it longer


def make_pdf(path: Path, title: str) -> Path:
    return demo_files.pdf_file(path, title, ["Bai 1: Dinh li Pythagore", "Bai 2: Dinh li Pythagore dao",
                                             "Bai tap ve nha"])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
