"""Text extraction: every format, NFC, legacy encodings, caps, zip bombs, timeouts and crashes."""
from __future__ import annotations

import time
import unicodedata
import zipfile

import docx
import pytest
from openpyxl import Workbook
from pptx import Presentation
from pptx.util import Inches
from pypdf import PdfWriter

from repository.processing import (
    ExtractedText,
    ProcessingFailed,
    _extract_child,
    extract,
    extract_text,
)

VIETNAMESE = "Tiếng Việt: Đường thẳng song song và học sinh lớp mười ở Hà Nội"
WORDS = ["Tiếng", "Việt", "Đường", "thẳng", "học", "sinh", "lớp", "mười", "Hà", "Nội"]
LOWER = "trường học ở hà nội, giáo dục đào tạo, bài giảng điện tử, sư phạm, người việt"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def assert_words(result: ExtractedText, words=WORDS) -> None:
    assert result.text == nfc(result.text)
    for word in words:
        assert word in result.text, (word, result.text[:300])


# ---------------------------------------------------------------- formats

def test_pdf_vietnamese(tmp_path, make_pdf, unicode_font):
    src = make_pdf(tmp_path / "a.pdf", [[VIETNAMESE], ["Trang hai: Hoá học"]], ttf=unicode_font)
    result = extract_text(src, "pdf", "pdf")
    assert_words(result, WORDS + ["Hoá"])
    assert result.flags == []


def test_pdf_page_cap_and_idempotent(tmp_path, make_pdf, monkeypatch):
    src = make_pdf(tmp_path / "a.pdf", [[f"Page number {i}"] for i in range(5)])
    first = extract_text(src, "pdf", "PDF")
    assert first == extract_text(src, "pdf", ".pdf")
    assert "Page number 4" in first.text
    monkeypatch.setattr(extract, "MAX_PAGES", 2)
    capped = extract_text(src, "pdf", "pdf")
    assert "Page number 1" in capped.text and "Page number 2" not in capped.text
    assert "truncated" in capped.flags


def test_pdf_pypdf_engine(tmp_path, make_pdf, unicode_font):
    src = make_pdf(tmp_path / "a.pdf", [[VIETNAMESE]], ttf=unicode_font)
    job = {"src": str(src), "kind": "pdf", "extension": "pdf", "max_chars": 10_000, "max_pages": 10,
           "max_cells": 10, "max_zip_bytes": 10, "engine": "pypdf"}
    result = _extract_child.run_job(job)
    assert result["ok"] and "Đường thẳng" in result["text"]


def test_encrypted_pdf(tmp_path, make_pdf):
    plain = make_pdf(tmp_path / "plain.pdf", [["Secret"]])
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt("mat-khau")
    src = tmp_path / "locked.pdf"
    with open(src, "wb") as fh:
        writer.write(fh)
    with pytest.raises(ProcessingFailed) as info:
        extract_text(src, "pdf", "pdf")
    assert info.value.code == "encrypted"


def test_docx_paragraphs_tables_and_header(tmp_path):
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Trường THCS Hoa Lư"
    document.add_heading("Kế hoạch bài dạy", level=1)
    document.add_paragraph(VIETNAMESE)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Môn học"
    table.cell(0, 1).text = "Ngữ văn"
    table.cell(1, 0).text = "Giáo viên"
    table.cell(1, 1).text = "Nguyễn Thị Hương"
    src = tmp_path / "a.docx"
    document.save(src)
    result = extract_text(src, "document", "docx")
    assert_words(result, WORDS + ["Kế hoạch", "Môn học", "Ngữ văn", "Nguyễn Thị Hương", "Hoa Lư"])
    assert result.flags == []


def test_docx_nfd_becomes_nfc(tmp_path):
    document = docx.Document()
    document.add_paragraph(unicodedata.normalize("NFD", VIETNAMESE))
    src = tmp_path / "nfd.docx"
    document.save(src)
    result = extract_text(src, "document", "docx")
    assert result.text == nfc(VIETNAMESE)


def test_pptx_text_tables_groups_and_notes(tmp_path):
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
    slide.shapes.title.text = "Bài giảng Hoá học"
    box = slide.shapes.add_textbox(Inches(1), Inches(1.5), Inches(6), Inches(1))
    box.text_frame.text = "Dòng một\vDòng hai"  # \v is a line break inside the paragraph
    group = slide.shapes.add_group_shape()
    inner = group.shapes.add_textbox(Inches(1), Inches(3), Inches(3), Inches(1))
    inner.text_frame.text = "Chữ trong nhóm"
    nested = group.shapes.add_group_shape()
    nested.shapes.add_textbox(Inches(4), Inches(3), Inches(3), Inches(1)).text_frame.text = "Nhóm lồng nhau"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(4.5), Inches(6), Inches(1)).table
    table.cell(0, 0).text = "Ô bảng một"
    table.cell(1, 1).text = "Ô bảng bốn"
    slide.notes_slide.notes_text_frame.text = "Ghi chú của giáo viên: " + VIETNAMESE
    src = tmp_path / "a.pptx"
    presentation.save(src)
    result = extract_text(src, "presentation", "pptx")
    assert_words(result, WORDS + ["Hoá học", "Chữ trong nhóm", "Nhóm lồng nhau", "Ô bảng một", "Ô bảng bốn",
                                  "Ghi chú"])
    assert "Dòng một\nDòng hai" in result.text


def test_xlsx(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Điểm lớp 7A"
    sheet.append(["Họ và tên", "Điểm"])
    sheet.append(["Trần Văn Đức", 9.5])
    second = workbook.create_sheet("Ghi chú")
    second["C3"] = VIETNAMESE
    src = tmp_path / "a.xlsx"
    workbook.save(src)
    result = extract_text(src, "spreadsheet", "xlsx")
    assert_words(result, WORDS + ["Điểm lớp 7A", "Họ và tên", "Trần Văn Đức", "Ghi chú"])


ODT_BODY = (
    "<office:text>"
    "<text:tracked-changes><text:changed-region text:id='c1'><text:deletion>"
    "<text:p>Đoạn đã xoá</text:p></text:deletion></text:changed-region></text:tracked-changes>"
    "<text:h text:outline-level='1'>Chương một</text:h>"
    "<text:p>Tiếng <text:span>Việt</text:span>:<text:s text:c='3'/>Đường thẳng<text:tab/>song song"
    "<office:annotation><dc:creator>Người nhận xét</dc:creator><dc:date>2025-01-01</dc:date>"
    "<text:p>Lời bình</text:p></office:annotation> và học sinh</text:p>"
    "<text:p>lớp mười ở <text:span>Hà</text:span> Nội<text:line-break/>dòng mới</text:p>"
    "<table:table><table:table-row><table:table-cell><text:p>Ô một</text:p></table:table-cell>"
    "<table:table-cell><text:p>Ô hai</text:p></table:table-cell></table:table-row></table:table>"
    "<text:p><draw:frame><draw:text-box><text:p>Hộp chữ</text:p></draw:text-box></draw:frame>sau hộp</text:p>"
    "</office:text>"
)


def test_odt(tmp_path, make_odf):
    src = make_odf(tmp_path / "a.odt", ODT_BODY)
    result = extract_text(src, "document", "odt")
    assert_words(result, ["Chương một", "Tiếng Việt: Đường thẳng song song", "lớp mười ở Hà Nội\ndòng mới",
                          "Ô một", "Ô hai", "Hộp chữ", "sau hộp", "Lời bình", "và học sinh"])
    assert "Đoạn đã xoá" not in result.text  # deleted text of tracked changes
    assert "Người nhận xét" not in result.text and "2025-01-01" not in result.text


def test_odp_with_notes_and_ods(tmp_path, make_odf):
    odp = make_odf(tmp_path / "a.odp", (
        "<office:presentation><draw:page draw:name='1'><draw:frame><draw:text-box>"
        f"<text:p>{VIETNAMESE}</text:p></draw:text-box></draw:frame>"
        "<presentation:notes><draw:frame><draw:text-box><text:p>Ghi chú trình chiếu</text:p>"
        "</draw:text-box></draw:frame></presentation:notes></draw:page></office:presentation>"), "odp")
    assert_words(extract_text(odp, "presentation", "odp"), WORDS + ["Ghi chú trình chiếu"])
    ods = make_odf(tmp_path / "a.ods", (
        "<office:spreadsheet><table:table table:name='Trang1'><table:table-row>"
        "<table:table-cell><text:p>Bảng điểm</text:p></table:table-cell>"
        "<table:table-cell><text:p>Học kỳ một</text:p></table:table-cell>"
        "</table:table-row></table:table></office:spreadsheet>"), "ods")
    assert_words(extract_text(ods, "spreadsheet", "ods"), ["Bảng điểm", "Học kỳ một"])


def test_odt_with_dtd_entities_is_refused(tmp_path, make_odf):
    src = tmp_path / "evil.odt"
    make_odf(src, "<office:text/>")
    evil = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
            "<office:body>&b;</office:body></office:document-content>")
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", evil)
    with pytest.raises(ProcessingFailed) as info:
        extract_text(src, "document", "odt")
    assert info.value.code == "invalid"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_txt_unicode_encodings(tmp_path, encoding):
    src = tmp_path / "a.txt"
    src.write_bytes(VIETNAMESE.encode(encoding))
    result = extract_text(src, "text", "txt")
    assert result.text == VIETNAMESE and result.flags == []


def test_txt_nfd_becomes_nfc_and_whitespace_collapses(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text(unicodedata.normalize("NFD", "Đường   thẳng\t\tsong\r\n\r\n\r\nsong\x00 ở  Hà Nội  "),
                   encoding="utf-8")
    result = extract_text(src, "text", "txt")
    assert result.text == "Đường thẳng song\nsong ở Hà Nội"
    assert result.text == nfc(result.text)


def test_txt_tcvn3_converted(tmp_path, tcvn3):
    src = tmp_path / "cu.txt"
    src.write_bytes(tcvn3(LOWER))
    result = extract_text(src, "text", "txt")
    assert result.text == LOWER
    assert result.flags == ["legacy_tcvn3_converted"]


def test_txt_windows_1258_converted(tmp_path):
    text = "Trường học ở Hà Nội, giáo dục và đào tạo"
    data = "".join(
        unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", ch)
                                             if c not in "\u0300\u0301\u0303\u0309\u0323"))
        + "".join(c for c in unicodedata.normalize("NFD", ch) if c in "\u0300\u0301\u0303\u0309\u0323")
        for ch in text).encode("cp1258")
    src = tmp_path / "excel.csv"
    src.write_bytes(data)
    result = extract_text(src, "text", "csv")
    assert result.text == text
    assert result.flags == ["legacy_cp1258_converted"]


# ---------------------------------------------------------------- legacy fonts in documents

def test_docx_vntime_runs_converted(tmp_path, tcvn3):
    document = docx.Document()
    paragraph = document.add_paragraph()
    paragraph.add_run("Unicode đã đúng: Hoá học. ")
    legacy = paragraph.add_run(tcvn3(LOWER).decode("latin-1"))
    legacy.font.name = ".VnTime"
    title = document.add_paragraph().add_run(tcvn3("kế hoạch bài dạy").decode("latin-1"))
    title.font.name = ".VnTimeH"  # the capitals font: same bytes, upper-case glyphs
    src = tmp_path / "vntime.docx"
    document.save(src)
    assert "\xb5" in tcvn3(LOWER).decode("latin-1")  # really mojibake ("µ" is TCVN3 "à")
    result = extract_text(src, "document", "docx")
    assert "Unicode đã đúng: Hoá học. " + LOWER in result.text
    assert "KẾ HOẠCH BÀI DẠY" in result.text
    assert result.flags == ["legacy_tcvn3_converted"]


def test_docx_vntime_from_style(tmp_path, tcvn3):
    document = docx.Document()
    document.styles["Normal"].font.name = ".VnArial"
    document.add_paragraph(tcvn3(LOWER).decode("latin-1"))
    src = tmp_path / "style.docx"
    document.save(src)
    result = extract_text(src, "document", "docx")
    assert result.text == LOWER and result.flags == ["legacy_tcvn3_converted"]


def test_tcvn3_mojibake_without_font_info_is_detected(tmp_path, tcvn3, make_pdf, unicode_font):
    src = make_pdf(tmp_path / "old.pdf", [[tcvn3(LOWER).decode("latin-1")]], ttf=unicode_font)
    result = extract_text(src, "pdf", "pdf")
    assert result.text == LOWER and result.flags == ["legacy_tcvn3_converted"]


def test_tcvn3_mixed_with_unicode_is_only_flagged(tmp_path, tcvn3):
    document = docx.Document()
    document.add_paragraph("Bài giảng điện tử về người Việt")
    document.add_paragraph(tcvn3(LOWER).decode("latin-1"))  # no font info, Unicode letters around
    src = tmp_path / "mixed.docx"
    document.save(src)
    result = extract_text(src, "document", "docx")
    assert "Bài giảng điện tử về người Việt" in result.text
    assert result.flags == ["legacy_encoding_suspected"]


VNI = "Vieät Nam laø ñaát nöôùc coù nhieàu tröôøng hoïc vaø giaùo vieân gioûi"


def test_docx_vni_font_flagged(tmp_path):
    document = docx.Document()
    document.add_paragraph().add_run(VNI).font.name = "VNI-Times"
    src = tmp_path / "vni.docx"
    document.save(src)
    result = extract_text(src, "document", "docx")
    assert result.text == VNI and result.flags == ["legacy_vni_suspected"]


def test_vni_text_flagged(tmp_path):
    src = tmp_path / "vni.txt"
    src.write_bytes(VNI.encode("cp1252"))
    result = extract_text(src, "text", "txt")
    assert result.flags == ["legacy_vni_suspected"]


# ---------------------------------------------------------------- limits and failures

def test_max_chars_cap(tmp_path):
    src = tmp_path / "long.txt"
    src.write_text(("học sinh lớp mười " * 2000), encoding="utf-8")
    result = extract_text(src, "text", "txt", max_chars=1000)
    assert len(result.text) <= 1000 and result.text.startswith("học sinh lớp mười")
    assert "truncated" in result.flags
    document = docx.Document()
    for _ in range(300):
        document.add_paragraph(VIETNAMESE)
    docx_src = tmp_path / "long.docx"
    document.save(docx_src)
    capped = extract_text(docx_src, "document", "docx", max_chars=500)
    assert len(capped.text) <= 500 and "truncated" in capped.flags


def test_zip_bomb_disguised_as_docx(tmp_path):
    src = tmp_path / "bomb.docx"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            chunk = b" " * (1 << 20)
            for _ in range(210):
                fh.write(chunk)
    assert src.stat().st_size < 5 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(ProcessingFailed) as info:
        extract_text(src, "document", "docx")
    assert info.value.code == "too_large"
    assert time.monotonic() - started < 5


def test_not_a_docx(tmp_path):
    src = tmp_path / "fake.docx"
    src.write_text("plain text pretending")
    with pytest.raises(ProcessingFailed) as info:
        extract_text(src, "document", "docx")
    assert info.value.code == "invalid"


def test_unsupported_format_returns_flag(tmp_path):
    src = tmp_path / "old.doc"
    src.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert extract_text(src, "document", "doc") == ExtractedText("", ["unsupported_format"])


def test_timeout_kills_the_child(tmp_path, monkeypatch, gone):
    src = tmp_path / "a.txt"
    src.write_text("x")
    pidfile = tmp_path / "pids"
    monkeypatch.setattr(extract, "_child_argv",
                        lambda: (["sh", "-c", f"echo $$ > {pidfile}; sleep 30 & echo $! >> {pidfile}; wait"], False))
    started = time.monotonic()
    with pytest.raises(ProcessingFailed) as info:
        extract_text(src, "text", "txt", timeout=1)
    elapsed = time.monotonic() - started
    assert info.value.code == "timeout" and elapsed < 3
    for pid in pidfile.read_text().split():
        assert gone(pid)


def test_real_child_with_tiny_timeout(tmp_path, make_pdf):
    src = make_pdf(tmp_path / "a.pdf", [["Page"]] * 50)
    started = time.monotonic()
    with pytest.raises(ProcessingFailed) as info:
        extract_text(src, "pdf", "pdf", timeout=0.05)
    assert info.value.code == "timeout" and time.monotonic() - started < 2.1


def test_crash_raises(tmp_path, monkeypatch):
    src = tmp_path / "a.docx"
    src.write_bytes(b"PK")
    monkeypatch.setattr(extract, "_child_argv", lambda: (["sh", "-c", "kill -SEGV $$"], False))
    with pytest.raises(ProcessingFailed) as info:
        extract_text(src, "document", "docx")
    assert info.value.code == "crashed" and "SIGSEGV" in info.value.reason


def test_memory_limit_reported(tmp_path, make_pdf):
    src = make_pdf(tmp_path / "a.pdf", [["Page"]])
    with pytest.raises(ProcessingFailed) as info:
        extract_text(src, "pdf", "pdf", memory_mb=24)  # not even enough to start the worker
    assert info.value.code in ("memory", "crashed")


def test_missing_file(tmp_path):
    with pytest.raises(ProcessingFailed):
        extract_text(tmp_path / "nope.pdf", "pdf", "pdf")
