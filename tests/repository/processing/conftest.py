"""Fixtures for the processing tests: every input file is generated here, nothing is committed.

LibreOffice and ffmpeg tests skip when the tool is missing, unless REQUIRE_MEDIA_TOOLS=1 (CI),
in which case a missing tool fails the run.
"""
from __future__ import annotations

import ctypes
import glob
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Callable, Optional

import pytest

from repository.legacy_text import TCVN3_LOWER

REQUIRE_MEDIA_TOOLS = os.environ.get("REQUIRE_MEDIA_TOOLS") == "1"
TCVN3_ENCODE = {letter: byte for byte, letter in TCVN3_LOWER.items()}
_FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
]


def _need(available: bool, what: str) -> None:
    if available:
        return
    if REQUIRE_MEDIA_TOOLS:
        pytest.fail(f"{what} is required (REQUIRE_MEDIA_TOOLS=1) but not installed")
    pytest.skip(f"{what} not installed")


@pytest.fixture
def soffice() -> None:
    from repository.processing import libreoffice_available

    _need(libreoffice_available(), "LibreOffice (soffice)")


@pytest.fixture
def ffmpeg() -> None:
    _need(shutil.which("ffmpeg") is not None, "ffmpeg")


@pytest.fixture
def gone() -> Callable[[str], bool]:
    """Whether a process has exited (or is a zombie awaiting init); SIGKILL may take a moment."""
    def check(pid: str, wait: float = 2.0) -> bool:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
                    return True
            except FileNotFoundError:
                return True
            time.sleep(0.02)
        return False
    return check


@pytest.fixture
def tcvn3() -> Callable[[str], bytes]:
    """Lower-case Vietnamese text → TCVN3 (ABC) bytes."""
    def encode(text: str) -> bytes:
        return bytes(TCVN3_ENCODE.get(ch, ord(ch)) for ch in text)
    return encode


@pytest.fixture
def unicode_font() -> str:
    """A TrueType font with Vietnamese glyphs, to embed in generated PDFs."""
    for path in _FONT_CANDIDATES + sorted(glob.glob("/usr/share/fonts/**/*.ttf", recursive=True)):
        if os.path.isfile(path):
            return path
    _need(False, "a TrueType font (fonts-dejavu-core)")
    raise AssertionError  # unreachable


def write_pdf(path: Path, pages: list[list[str]], ttf: Optional[str] = None, size: float = 14) -> Path:
    """A PDF with text lines per page, built with pypdfium2's raw API (Helvetica, or ``ttf``)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument.new()
    font = None
    if ttf:
        data = Path(ttf).read_bytes()
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        font = raw.FPDFText_LoadFont(pdf, buf, len(data), raw.FPDF_FONT_TRUETYPE, True)
        assert font
    for lines in pages:
        page = pdf.new_page(595, 842)
        y = 800.0
        for line in lines:
            obj = (raw.FPDFPageObj_CreateTextObj(pdf, font, size) if font
                   else raw.FPDFPageObj_NewTextObj(pdf, b"Helvetica", size))
            text = ctypes.create_string_buffer((line + "\0").encode("utf-16-le"))
            assert raw.FPDFText_SetText(obj, ctypes.cast(text, ctypes.POINTER(raw.FPDF_WCHAR)))
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 40, y)
            raw.FPDFPage_InsertObject(page, obj)
            y -= size * 1.5
        assert raw.FPDFPage_GenerateContent(page)
        page.close()
    pdf.save(str(path))
    pdf.close()
    if font:
        raw.FPDFFont_Close(font)
    return path


@pytest.fixture
def make_pdf() -> Callable[..., Path]:
    return write_pdf


def pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        out = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(out)
    finally:
        pdf.close()


@pytest.fixture
def read_pdf_text() -> Callable[[Path], str]:
    return pdf_text


_ODF_MIMES = {
    "odt": "application/vnd.oasis.opendocument.text",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"'
)


def write_odf(path: Path, body: str, kind: str = "odt") -> Path:
    """A minimal ODF package whose content.xml office:body holds ``body``."""
    content = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_ODF_NS}>'
               f"<office:body>{body}</office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODF_MIMES[kind]}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), _ODF_MIMES[kind])  # stored, first
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


@pytest.fixture
def make_odf() -> Callable[..., Path]:
    return write_odf


@pytest.fixture
def make_video() -> Callable[..., Path]:
    def make(path: Path, seconds: float = 2, size: str = "320x240", container: Optional[str] = None) -> Path:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
             "-i", f"testsrc=duration={seconds}:size={size}:rate=10", "-c:v", "mpeg4",
             "-pix_fmt", "yuv420p", *(["-f", container] if container else []), "-y", str(path)],
            check=True, timeout=60,
        )
        return path
    return make
