"""Thumbnails of images, PDFs and videos (TECH-NOTES §3), each made in a sandboxed child process.

- Images: Pillow limited to JPEG/PNG/GIF/WEBP and ~40 MP, EXIF orientation applied, saved as a new
  image without EXIF/ICC/XMP. The original file is only read.
- PDF: page 1 rendered with pypdfium2 (never PyMuPDF: AGPL); if that fails, ``pdftoppm`` (poppler,
  a separate GPL program) when installed.
- Video: a poster frame at 1 s (or the first frame of shorter clips) with ``ffmpeg`` when installed,
  restricted to local files and common video demuxers.

``make_thumbnail`` returns True when ``dest`` was (re)written, False when there is no thumbnail
(another kind, a missing tool, or a file that cannot be decoded/timed out; the app then shows a type
icon). ``dest`` is replaced atomically, so a re-run simply overwrites it. A ``.webp`` destination
gives WebP, anything else JPEG.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Optional

from ._sandbox import run_limited
from .errors import ProcessingFailed

__all__ = ["make_thumbnail", "THUMBNAIL_KINDS", "ffmpeg_available", "pdftoppm_available"]

log = logging.getLogger(__name__)

THUMBNAIL_KINDS = frozenset({"image", "pdf", "video"})
CHILD_MODULE = "repository.processing._thumb_child"
IMAGE_TIMEOUT = 30
PDF_TIMEOUT = 30
VIDEO_TIMEOUT = 60
MEMORY_MB = 1024
# ffmpeg demuxers a school video can need; no playlists (hls, concat), images or network.
VIDEO_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,asf,mpeg,mpegts,mpegvideo,ogg,h264,hevc,m4v"


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def pdftoppm_available() -> bool:
    return shutil.which("pdftoppm") is not None


def _format_for(dest: Path) -> str:
    return "WEBP" if dest.suffix.lower() == ".webp" else "JPEG"


def _child(op: str, src: Path, out: Path, max_px: int, fmt: str, timeout: float) -> bool:
    job = {"op": op, "src": str(src), "out": str(out), "max_px": int(max_px), "format": fmt}
    try:
        done = run_limited([CHILD_MODULE], module=True, timeout=timeout, memory_mb=MEMORY_MB,
                           file_mb=64, input_bytes=json.dumps(job).encode("utf-8"),
                           capture_stdout=True, what=f"{op} thumbnail")
    except ProcessingFailed as exc:
        log.warning("%s thumbnail of %s: %s", op, src, exc.reason)
        return False
    try:
        result = json.loads(done.stdout.decode("utf-8")) if done.returncode == 0 else {}
    except ValueError:
        result = {}
    if not result.get("ok"):
        log.info("no %s thumbnail for %s: %s", op, src, result.get("reason") or done.stderr[-300:])
        return False
    return out.is_file() and out.stat().st_size > 0


def _pdftoppm(src: Path, work: Path, max_px: int) -> Optional[Path]:
    if not pdftoppm_available():
        return None
    prefix = work / "page"
    try:
        run_limited(["pdftoppm", "-f", "1", "-l", "1", "-scale-to", str(max_px), "-png", "-singlefile",
                     str(src), str(prefix)], timeout=PDF_TIMEOUT, memory_mb=MEMORY_MB, file_mb=64,
                    what="pdftoppm")
    except ProcessingFailed as exc:
        log.warning("pdftoppm on %s: %s", src, exc.reason)
        return None
    png = prefix.with_suffix(".png")
    return png if png.is_file() and png.stat().st_size > 0 else None


def _video_frame(src: Path, work: Path, max_px: int) -> Optional[Path]:
    if not ffmpeg_available():
        return None
    frame = work / "frame.png"
    scale = f"scale='min({max_px},iw)':'min({max_px},ih)':force_original_aspect_ratio=decrease"
    for seek in ("1", "0"):  # clips shorter than a second have no frame at 1 s
        argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                "-protocol_whitelist", "file", "-format_whitelist", VIDEO_DEMUXERS, "-threads", "1",
                "-ss", seek, "-i", f"file:{src}",
                "-map", "0:v:0", "-frames:v", "1", "-vf", scale, "-an", "-sn", "-dn", "-threads", "1",
                "-y", f"file:{frame}"]
        try:
            run_limited(argv, timeout=VIDEO_TIMEOUT, memory_mb=MEMORY_MB, file_mb=64, what="ffmpeg")
        except ProcessingFailed as exc:
            log.warning("ffmpeg on %s: %s", src, exc.reason)
            return None
        if frame.is_file() and frame.stat().st_size > 0:
            return frame
    return None


def make_thumbnail(src: Path, kind: str, dest: Path, *, max_px: int = 480) -> bool:
    """Write a JPEG (or WebP, by ``dest`` suffix) thumbnail of at most ``max_px`` per side.

    ``kind`` is the file's kind: ``image``, ``pdf`` or ``video``; any other kind returns False.
    """
    kind = (kind or "").lower()
    if kind not in THUMBNAIL_KINDS:
        return False
    src, dest = Path(src).absolute(), Path(dest)  # absolute, not resolve(): keep a link's name
    if not src.is_file():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    fmt = _format_for(dest)
    tmp_out = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
    try:
        with tempfile.TemporaryDirectory(prefix="thumb-") as work_dir:
            work = Path(work_dir)
            if kind == "image":
                ok = _child("image", src, tmp_out, max_px, fmt, IMAGE_TIMEOUT)
            elif kind == "pdf":
                ok = _child("pdf", src, tmp_out, max_px, fmt, PDF_TIMEOUT)
                if not ok:
                    page = _pdftoppm(src, work, max_px)
                    ok = page is not None and _child("image", page, tmp_out, max_px, fmt, IMAGE_TIMEOUT)
            else:
                frame = _video_frame(src, work, max_px)
                ok = frame is not None and _child("image", frame, tmp_out, max_px, fmt, IMAGE_TIMEOUT)
        if ok:
            os.replace(tmp_out, dest)
        return ok
    finally:
        tmp_out.unlink(missing_ok=True)
