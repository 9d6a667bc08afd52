"""Thumbnails: EXIF orientation, metadata stripping, formats, PDFs and video poster frames."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from repository.processing import make_thumbnail, thumbnails


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def two_colour(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new(mode, (width, height), "blue")
    image.paste(Image.new(mode, (width // 2, height), "red"), (0, 0))
    return image


def test_jpeg_exif_orientation_applied_metadata_stripped_original_untouched(tmp_path):
    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "Camera maker"
    exif[0x8825] = {1: "N"}  # a GPS block, the privacy risk
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    two_colour(800, 400).save(src, "JPEG", exif=exif, icc_profile=icc, quality=95)
    before = sha(src)

    dest = tmp_path / "thumbs" / "photo.jpg"
    assert make_thumbnail(src, "image", dest, max_px=200) is True

    assert sha(src) == before
    with Image.open(dest) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (100, 200)  # 800×400 stored, shown upright as 400×800
        assert not thumb.getexif()
        assert "icc_profile" not in thumb.info and "exif" not in thumb.info
        rgb = thumb.convert("RGB")
        top, bottom = rgb.getpixel((50, 20)), rgb.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 60  # the stored left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


@pytest.mark.parametrize("fmt,mode", [("PNG", "RGBA"), ("GIF", "P"), ("WEBP", "RGB"), ("PNG", "L")])
def test_other_image_formats(tmp_path, fmt, mode):
    src = tmp_path / f"image.{fmt.lower()}"
    image = two_colour(1200, 600, "RGB").convert(mode) if mode != "RGBA" else two_colour(1200, 600, "RGBA")
    if mode == "RGBA":
        image.putalpha(128)
    save_args = {"exif": Image.Exif()} if fmt == "WEBP" else {}
    image.save(src, fmt, **save_args)
    dest = tmp_path / "thumb.jpg"
    assert make_thumbnail(src, "image", dest) is True
    with Image.open(dest) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (480, 240)
        assert not thumb.getexif()


def test_webp_destination_and_rerun_overwrites(tmp_path):
    src = tmp_path / "a.png"
    two_colour(300, 300).save(src)
    dest = tmp_path / "t.webp"
    assert make_thumbnail(src, "image", dest, max_px=64)
    first = dest.read_bytes()
    assert make_thumbnail(src, "image", dest, max_px=64)  # idempotent: same output, no leftovers
    with Image.open(dest) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (64, 64)
    assert dest.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "t.webp"]


def test_disallowed_format_corrupt_file_and_other_kinds(tmp_path):
    bmp = tmp_path / "a.bmp"
    two_colour(100, 100).save(bmp, "BMP")
    assert make_thumbnail(bmp, "image", tmp_path / "t1.jpg") is False  # BMP is not on the list
    broken = tmp_path / "b.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert make_thumbnail(broken, "image", tmp_path / "t2.jpg") is False
    assert make_thumbnail(bmp, "document", tmp_path / "t3.jpg") is False
    assert make_thumbnail(tmp_path / "missing.png", "image", tmp_path / "t4.jpg") is False
    assert not list(tmp_path.glob("t*.jpg")) and not list(tmp_path.glob(".*"))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_decompression_bomb_is_refused(tmp_path):
    # A 30000×30000 PNG header (900 MP) with almost no data: refused before decoding.
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 100)) \
        + _png_chunk(b"IEND", b"")
    src = tmp_path / "bomb.png"
    src.write_bytes(png)
    assert make_thumbnail(src, "image", tmp_path / "t.jpg") is False


def test_pdf_first_page(tmp_path, make_pdf):
    src = make_pdf(tmp_path / "doc.pdf", [["Page one"], ["Page two"]])
    dest = tmp_path / "t.jpg"
    assert make_thumbnail(src, "pdf", dest) is True
    with Image.open(dest) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.height == 480 and 330 <= thumb.width <= 345  # A4 portrait
        assert not thumb.getexif()


def test_pdf_falls_back_to_pdftoppm(tmp_path, make_pdf, monkeypatch):
    if shutil.which("pdftoppm") is None:
        if os.environ.get("REQUIRE_MEDIA_TOOLS") == "1":
            pytest.fail("pdftoppm (poppler-utils) is required when REQUIRE_MEDIA_TOOLS=1")
        pytest.skip("pdftoppm (poppler-utils) not installed")
    real_child = thumbnails._child
    monkeypatch.setattr(thumbnails, "_child",
                        lambda op, *args: False if op == "pdf" else real_child(op, *args))
    src = make_pdf(tmp_path / "doc.pdf", [["Page one"]])
    dest = tmp_path / "t.jpg"
    assert make_thumbnail(src, "pdf", dest) is True
    with Image.open(dest) as thumb:
        assert max(thumb.size) == 480


def test_broken_pdf_gives_no_thumbnail(tmp_path):
    src = tmp_path / "x.pdf"
    src.write_bytes(b"%PDF-1.4\n garbage")
    assert make_thumbnail(src, "pdf", tmp_path / "t.jpg") is False
    assert not (tmp_path / "t.jpg").exists()


def test_video_poster_frame(tmp_path, ffmpeg, make_video):
    src = make_video(tmp_path / "clip.mp4", seconds=2, size="640x360")
    dest = tmp_path / "t.jpg"
    assert make_thumbnail(src, "video", dest) is True
    with Image.open(dest) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (480, 270)


def test_short_video_uses_first_frame(tmp_path, ffmpeg, make_video):
    src = make_video(tmp_path / "short.mp4", seconds=0.5)
    assert make_thumbnail(src, "video", tmp_path / "t.jpg") is True


def test_not_a_video_and_playlist_refused(tmp_path, ffmpeg, make_video):
    text = tmp_path / "fake.mp4"
    text.write_text("just text")
    assert make_thumbnail(text, "video", tmp_path / "t1.jpg") is False
    # An HLS playlist named .mp4 that points at another local file: plain ffmpeg follows it (and
    # would render whatever it points at into our thumbnail); the demuxer whitelist refuses it.
    segment = make_video(tmp_path / "elsewhere.ts", seconds=1, container="mpegts")
    playlist = tmp_path / "evil.mp4"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
                        f"#EXTINF:1.0,\nfile://{segment}\n#EXT-X-ENDLIST\n")
    assert make_thumbnail(playlist, "video", tmp_path / "t2.jpg") is False
    assert make_thumbnail(segment, "video", tmp_path / "t3.jpg") is True  # the clip itself is fine


def test_video_without_ffmpeg_is_false(tmp_path, monkeypatch):
    monkeypatch.setattr(thumbnails, "ffmpeg_available", lambda: False)
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"\0" * 100)
    assert make_thumbnail(src, "video", tmp_path / "t.jpg") is False


def test_image_thumbnail_of_in_memory_jpeg_keeps_source_bytes(tmp_path):
    """Pillow never writes back: the source stays identical even for a JPEG without EXIF."""
    buffer = io.BytesIO()
    two_colour(50, 50).save(buffer, "JPEG")
    src = tmp_path / "small.jpg"
    src.write_bytes(buffer.getvalue())
    assert make_thumbnail(src, "image", tmp_path / "t.jpg")
    assert src.read_bytes() == buffer.getvalue()
    with Image.open(tmp_path / "t.jpg") as thumb:
        assert thumb.size == (50, 50)  # never upscaled
