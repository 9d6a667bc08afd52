"""PDF renditions with headless LibreOffice: Vietnamese text survives, failures give None."""
from __future__ import annotations

import http.server
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import docx
import pytest
from openpyxl import Workbook
from pptx import Presentation

from repository.processing import (
    extract_text,
    libreoffice_available,
    make_thumbnail,
    pdf_rendition,
    renditions,
)

VIETNAMESE = "Tiếng Việt: Đường thẳng song song và học sinh lớp mười ở Hà Nội"
WORDS = ["Tiếng", "Việt", "Đường", "thẳng", "học", "sinh", "lớp", "mười", "Nội"]


def _docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Kế hoạch bài dạy", level=1)
    document.add_paragraph(VIETNAMESE)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Môn học"
    table.cell(0, 1).text = "Ngữ văn"
    document.save(path)
    return path


def _pptx(path: Path) -> Path:
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Bài giảng Hoá học"
    slide.placeholders[1].text_frame.text = VIETNAMESE
    presentation.save(path)
    return path


def _no_leftover_processes(marker: str) -> bool:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (proc / "status").read_text()
        except OSError:
            continue
        if marker in cmdline and "State:\tZ" not in state:
            return False
    return True


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Route the conversion's temp dirs (and profile) under tmp_path, to look for leftovers."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    return work


def test_libreoffice_available_matches_path(soffice):
    assert libreoffice_available() is True


def test_docx_to_pdf_keeps_vietnamese(tmp_path, soffice, read_pdf_text, private_tmp):
    src = _docx(tmp_path / "Kế hoạch.docx")
    out = pdf_rendition(src, tmp_path / "out")
    assert out == tmp_path / "out" / "Kế hoạch.pdf"
    assert out.read_bytes().startswith(b"%PDF-")
    text = read_pdf_text(out)
    for word in WORDS + ["Kế hoạch", "Môn học", "Ngữ văn"]:
        assert word in text, word
    assert src.exists() and not list(private_tmp.iterdir())  # temp profile cleaned up
    # The rendition feeds the other steps.
    assert "Đường thẳng" in extract_text(out, "pdf", "pdf").text
    assert make_thumbnail(out, "pdf", tmp_path / "thumb.jpg")


def test_pptx_to_pdf_and_rerun(tmp_path, soffice, read_pdf_text):
    src = _pptx(tmp_path / "slides.pptx")
    first = pdf_rendition(src, tmp_path)
    assert first == tmp_path / "slides.pdf"
    again = pdf_rendition(src, tmp_path)  # idempotent: replaced, same place
    assert again == first
    text = read_pdf_text(again)
    for word in WORDS + ["Hoá học"]:
        assert word in text, word
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_xlsx_and_odt_and_suffixless_input(tmp_path, soffice, read_pdf_text, make_odf):
    workbook = Workbook()
    workbook.active["A1"] = "Bảng điểm lớp 7A"
    workbook.save(tmp_path / "diem.xlsx")
    assert "Bảng điểm lớp 7A" in read_pdf_text(pdf_rendition(tmp_path / "diem.xlsx", tmp_path / "x"))

    odt = make_odf(tmp_path / "upload-tmp", f"<office:text><text:p>{VIETNAMESE}</text:p></office:text>")
    out = pdf_rendition(odt, tmp_path / "o", extension="odt")  # a temp download without a suffix
    assert out is not None and "Đường thẳng" in read_pdf_text(out)


def _soffice_convert(src: Path, fmt: str, outdir: Path) -> Path:
    """Make a legacy binary file (.doc/.ppt) for the test with LibreOffice itself."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={Path(profile).as_uri()}",
                        "--convert-to", fmt, "--outdir", str(outdir), str(src)],
                       check=True, capture_output=True, timeout=90)
    out = outdir / f"{src.stem}.{fmt}"
    assert out.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # OLE compound file
    return out


def test_legacy_doc_and_ppt(tmp_path, soffice, read_pdf_text):
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    doc = _soffice_convert(_docx(tmp_path / "cu.docx"), "doc", legacy)
    ppt = _soffice_convert(_pptx(tmp_path / "cu.pptx"), "ppt", legacy)
    for src in (doc, ppt):
        out = pdf_rendition(src, tmp_path / "out")
        assert out is not None and "Đường thẳng" in read_pdf_text(out), src


def test_mislabelled_word_files_still_convert(tmp_path, soffice, read_pdf_text):
    rtf = tmp_path / "rtf.doc"  # Word "Save as RTF" files often keep .doc
    rtf.write_bytes(rb"{\rtf1\ansi\uc1 H\u7885?c sinh l\u7899?p m\u432?\u7901?i}")
    assert "Học sinh lớp mười" in read_pdf_text(pdf_rendition(rtf, tmp_path / "o1"))
    renamed = tmp_path / "renamed.doc"
    renamed.write_bytes(_docx(tmp_path / "real.docx").read_bytes())
    assert "Đường thẳng" in read_pdf_text(pdf_rendition(renamed, tmp_path / "o2"))


def test_html_renamed_docx_is_not_converted(tmp_path, soffice):
    src = tmp_path / "page.docx"
    src.write_text("<html><body><h1>Not a document</h1><img src='http://127.0.0.1:9/x.png'></body></html>")
    assert pdf_rendition(src, tmp_path / "out") is None  # the forced Word filter refuses HTML


def test_timeout_kills_the_process_group(tmp_path, soffice, private_tmp):
    src = _docx(tmp_path / "a.docx")
    started = time.monotonic()
    assert pdf_rendition(src, tmp_path / "out", timeout=0.3) is None
    assert time.monotonic() - started < 2.5
    time.sleep(0.2)
    assert _no_leftover_processes(str(private_tmp))
    assert not (tmp_path / "out" / "a.pdf").exists()


def test_missing_libreoffice_or_unknown_type(tmp_path, monkeypatch):
    src = tmp_path / "a.docx"
    src.write_bytes(b"PK")
    assert pdf_rendition(tmp_path / "notes.txt", tmp_path) is None
    monkeypatch.setattr(renditions, "_soffice", lambda: None)
    assert libreoffice_available() is False
    assert pdf_rendition(src, tmp_path) is None


def test_concurrent_conversions_do_not_collide(tmp_path, soffice, read_pdf_text):
    from concurrent.futures import ThreadPoolExecutor

    sources = [_docx(tmp_path / f"d{i}.docx") for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        outputs = list(pool.map(lambda s: pdf_rendition(s, tmp_path / "out"), sources))
    assert [o.name for o in outputs] == ["d0.pdf", "d1.pdf", "d2.pdf"]
    assert all("Đường thẳng" in read_pdf_text(o) for o in outputs)


def test_linked_remote_image_is_not_fetched(tmp_path, soffice, make_odf):
    """Plain LibreOffice fetches a linked image while exporting (an SSRF from an upload); the
    seeded profile (untrusted links blocked, links never updated) makes no request."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/tracker.png"
        src = make_odf(tmp_path / "linked.odt", (
            "<office:text><text:p>Có ảnh<draw:frame svg:width='2cm' svg:height='2cm' text:anchor-type='as-char'>"
            f"<draw:image xmlns:xlink='http://www.w3.org/1999/xlink' xlink:href='{url}' xlink:type='simple'/>"
            "</draw:frame></text:p></office:text>"))
        workbook = Workbook()
        workbook.active["A1"] = f'=WEBSERVICE("{url}")'
        workbook.save(tmp_path / "ws.xlsx")
        assert pdf_rendition(src, tmp_path / "out") is not None
        assert pdf_rendition(tmp_path / "ws.xlsx", tmp_path / "out") is not None
    finally:
        server.shutdown()
    assert hits == []
