"""repository.filecheck: real small files of every accepted format pass with the type we decide;
each nasty file (a distinct trick) is refused with a Vietnamese message naming the file.

Every file is generated here (tests/repository/nasty_files.py); nothing binary is committed.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import threading
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from PIL import Image, ImageFile

from repository import activecontent, filecheck
from repository.errors import ValidationError
from repository.filecheck import CheckedFile, FileRefused, check_file, check_filename
from tests.repository import nasty_files as nf

MB = 1024 * 1024
LIMIT = 100 * MB
OOXML = "application/vnd.openxmlformats-officedocument."

GOOD = [
    ("Bài 5 - Qua Đèo Ngang.docx", nf.make_docx, "document", OOXML + "wordprocessingml.document"),
    # libmagic 5.44 reads this member order as application/octet-stream, which the allow-list accepts
    ("customxml-dau-tien.docx", lambda: nf.rebuild_zip(nf.make_docx(), first="customXml/item1.xml"), "document",
     OOXML + "wordprocessingml.document"),
    ("Bài giảng điện tử.pptx", nf.make_pptx, "presentation", OOXML + "presentationml.presentation"),
    ("Bảng điểm lớp 7A.xlsx", nf.make_xlsx, "spreadsheet", OOXML + "spreadsheetml.sheet"),
    ("giao-an.odt", lambda: nf.make_odf("text"), "document", nf.ODF + "text"),
    ("trinh-chieu.odp", lambda: nf.make_odf("presentation"), "presentation", nf.ODF + "presentation"),
    ("bang-tinh.ods", lambda: nf.make_odf("spreadsheet"), "spreadsheet", nf.ODF + "spreadsheet"),
    ("Đề kiểm tra 15 phút.pdf", nf.make_pdf, "pdf", "application/pdf"),
    ("giao-an-cu.doc", lambda: nf.ole("WordDocument"), "document", "application/msword"),
    ("bang-diem-cu.xls", lambda: nf.ole("Workbook"), "spreadsheet", "application/vnd.ms-excel"),
    ("bai-giang-cu.ppt", lambda: nf.ole("PowerPoint"), "presentation", "application/vnd.ms-powerpoint"),
    ("bai-giang-khong-ten.ppt", lambda: nf.ole("Current User", "PowerPoint Document"), "presentation",
     "application/vnd.ms-powerpoint"),
    ("ảnh minh hoạ.jpg", lambda: nf.make_image("JPEG"), "image", "image/jpeg"),
    ("anh.JPEG", lambda: nf.make_image("JPEG", noise=True), "image", "image/jpeg"),
    ("so-do.png", lambda: nf.make_image("PNG"), "image", "image/png"),
    ("hoat-hinh.gif", lambda: nf.make_image("GIF"), "image", "image/gif"),
    ("anh.webp", lambda: nf.make_image("WEBP"), "image", "image/webp"),
    ("video bài 5.mp4", nf.make_mp4, "video", "video/mp4"),
    ("video-mp42.mp4", lambda: nf.make_mp4(b"mp42", b"mp42isom"), "video", "video/mp4"),
    ("video.m4v", lambda: nf.make_mp4(b"M4V ", b"M4V mp42isom"), "video", "video/mp4"),
    ("video.webm", nf.make_webm, "video", "video/webm"),
    ("bai-hat.mp3", nf.make_mp3, "audio", "audio/mpeg"),
    ("ghi-am.m4a", lambda: nf.make_mp4(b"M4A ", b"M4A mp42isom"), "audio", "audio/mp4"),
    ("doc-mau.wav", nf.make_wav, "audio", "audio/wav"),
    ("doc-mau.ogg", nf.make_ogg, "audio", "audio/ogg"),
    ("bai-5-scorm.zip", nf.make_scorm, "package", "application/zip"),
    ("bai-5.h5p", nf.make_h5p, "package", "application/zip"),
    ("h5p-trong-zip.zip", nf.make_h5p, "package", "application/zip"),
    ("ghi-chu.txt", lambda: nf.VIETNAMESE.encode(), "text", "text/plain"),
    ("ghi-chu-bom.txt", lambda: b"\xef\xbb\xbf" + nf.VIETNAMESE.encode(), "text", "text/plain"),
    ("windows-1258.txt", lambda: nf.encode_cp1258(nf.VIETNAMESE * 3), "text", "text/plain"),
    ("tcvn3.txt", lambda: nf.encode_tcvn3(nf.VIETNAMESE * 3), "text", "text/plain"),
    ("bai-tap-tin-hoc.txt", lambda: b"#include <stdio.h>\nint main(void) { return 0; }\n", "text", "text/plain"),
    ("diem.txt", lambda: b"ho_ten,diem\nAn,9\nBinh,8\n", "text", "text/plain"),
    # active-content checks must let ordinary files through
    ("pdf-1.5-luong-doi-tuong.pdf", nf.pdf_with_object_streams, "pdf", "application/pdf"),
    ("pdf-mo-trang-dau.pdf", lambda: nf.pdf_with_object_streams(b"<< /S /GoTo /D [3 0 R /Fit] >>"), "pdf",
     "application/pdf"),
    ("pdf-lien-ket.pdf", lambda: nf.pdf_with(OpenAction={"/S": _name("/URI"), "/URI": _text("https://example.org")}),
     "pdf", "application/pdf"),
    ("giao-an-co-bang.doc", lambda: nf.ole_tree({"WordDocument": b"W" * 5000, "1Table": b"T"}), "document",
     "application/msword"),
    ("bang-diem-biff.xls", lambda: nf.ole_tree({"Workbook": nf.biff_workbook(0, 0, 2)}), "spreadsheet",
     "application/vnd.ms-excel"),
    ("bai-giang-khong-macro.ppt", lambda: nf.ole_tree({"Current User": b"u", "PowerPoint Document":
                                                       nf.ppt_document(with_vba=False)}),
     "presentation", "application/vnd.ms-powerpoint"),
]


@dataclass(frozen=True)
class Nasty:
    name: str
    build: Callable[[], bytes]
    reason: str                      # a key word of the reason that must appear in the message
    shown: str | None = None         # what of the name the message must show (default: the name)
    limits: dict[str, Any] = field(default_factory=dict)


def _pdf_with(text: bytes) -> Callable[[], bytes]:
    return lambda: b"%PDF-1.4\n" + text + b"\n" + nf.make_pdf()[9:]


def _name(value: str) -> Any:
    from pypdf.generic import NameObject
    return NameObject(value)


def _text(value: str) -> Any:
    from pypdf.generic import TextStringObject
    return TextStringObject(value)


def _js_name_tree() -> bytes:
    from pypdf.generic import ArrayObject, DictionaryObject
    action = DictionaryObject({_name("/S"): _name("/JavaScript"), _name("/JS"): _text("app.alert(1)")})
    return nf.pdf_with(Names={"/JavaScript": DictionaryObject({_name("/Names"): ArrayObject([_text("a"), action])})})


def _corrupt_object_stream() -> bytes:
    data = bytearray(nf.pdf_with_object_streams())
    at = data.index(b"stream\n") + 7
    data[at:at + 8] = b"\xff" * 8  # the zlib header and first bytes of the packed objects
    return bytes(data)


JS_ACTION = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"
LAUNCH_ACTION = b"<< /S /Launch /F (cmd.exe) /Win << /F (cmd.exe) /P (/c calc) >> >>"


LONG = "bài giảng " * 29 + "cuối.pdf"
NASTY_CASES = {
    # size
    "empty-file": Nasty("rong.pdf", lambda: b"", "tệp rỗng"),
    "over-size-limit": Nasty("qua-lon.pdf", lambda: nf.make_pdf() + bytes(2 * MB), "giới hạn 1 MB",
                             limits={"max_bytes": MB}),
    # extension and content disagree
    "pdf-renamed-docx": Nasty("bai-giang.docx", nf.make_pdf, "không khớp"),
    "png-renamed-jpg": Nasty("anh.jpg", lambda: nf.make_image("PNG"), "không khớp"),
    "webp-renamed-gif": Nasty("anh.gif", lambda: nf.make_image("WEBP"), "không khớp"),
    "mp4-renamed-mp3": Nasty("bai-hat.mp3", nf.make_mp4, "không khớp"),
    "xlsx-renamed-docx": Nasty("bang-diem.docx", nf.make_xlsx, "không khớp"),
    "xls-renamed-doc": Nasty("bang-diem.doc", lambda: nf.ole("Workbook"), "không khớp"),
    "mp3-renamed-wav": Nasty("doc.wav", nf.make_mp3, "không khớp"),
    # executables and scripts, whatever the name
    "elf-renamed-pdf": Nasty("tai-lieu.pdf", nf.elf, "chạy được"),
    "pe-exe-renamed-pptx": Nasty("trinh-chieu.pptx", nf.pe_exe, "chạy được"),
    "macho-renamed-mp4": Nasty("video.mp4", lambda: bytes.fromhex("cffaedfe07000001") + bytes(400), "chạy được"),
    "shell-script-renamed-txt": Nasty("ghi-chu.txt", lambda: b"#!/bin/sh\nrm -rf ~\n", "chạy được"),
    "python-script-renamed-txt": Nasty("ghi-chu.txt", lambda: b"#!/usr/bin/env python3\nimport os\n", "chạy được"),
    "php-renamed-jpg": Nasty("anh.jpg", lambda: b"<?php system($_GET['c']); ?>", "chạy được"),
    # markup, whatever the name
    "html-renamed-pdf": Nasty("de-thi.pdf", lambda: b"<!DOCTYPE html><html><script>alert(1)</script></html>", "HTML"),
    "html-renamed-txt": Nasty("de-thi.txt", lambda: b"<html><body onload=alert(1)>Bai 5</body></html>", "HTML"),
    "html-inside-txt": Nasty("ghi-chu.txt", lambda: nf.VIETNAMESE.encode() + b"<script>alert(1)</script>\n", "HTML"),
    "xml-renamed-txt": Nasty("du-lieu.txt", lambda: b'<?xml version="1.0"?><a>1</a>', "XML"),
    "svg-script-renamed-png": Nasty("so-do.png", lambda: b'<svg xmlns="http://www.w3.org/2000/svg">'
                                    b'<script>alert(1)</script></svg>', "SVG"),
    # polyglots
    "gif-header-then-javascript": Nasty("hoat-hinh.gif", lambda: b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;"
                                        b"alert(document.cookie);", "ảnh bị hỏng"),
    "jpeg-with-appended-zip": Nasty("anh.jpg", lambda: nf.make_image("JPEG") + nf.make_scorm(), "tệp nén ẩn"),
    "jpeg-script-in-comment": Nasty("anh.jpg", lambda: nf.jpeg_with_comment(b"<script>alert(1)</script>"),
                                    "polyglot"),
    "png-html-appended": Nasty("so-do.png", lambda: nf.make_image("PNG") + b"<html><script>x()</script>",
                               "polyglot"),
    "pdf-script-in-head": Nasty("de-thi.pdf", _pdf_with(b"%<script>alert(1)</script>"), "polyglot"),
    "pdf-then-html": Nasty("de-thi.pdf", lambda: b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>",
                           "polyglot"),
    "mp4-with-svg-in-head": Nasty("video.mp4", lambda: nf.make_mp4() + b"<svg onload=alert(1)>", "polyglot"),
    # broken or hostile structure
    "pdf-truncated": Nasty("de-thi.pdf", lambda: nf.make_pdf()[:-40], "PDF bị hỏng"),
    "docx-without-document-xml": Nasty("giao-an.docx", lambda: nf.rebuild_zip(nf.make_docx(),
                                       drop=("word/document.xml",)), "word/document.xml"),
    "docx-without-content-types": Nasty("giao-an.docx", lambda: nf.rebuild_zip(nf.make_docx(),
                                        drop=("[Content_Types].xml",)), "[Content_Types].xml"),
    "docx-with-vba-project": Nasty("giao-an.docx", lambda: nf.rebuild_zip(nf.make_docx(),
                                   add={"word/vbaProject.bin": nf.ole("VBA")}), "macro"),
    "docm-content-renamed-docx": Nasty("giao-an.docx", lambda: nf.rebuild_zip(nf.make_docx(), replace=(
        b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml")), "macro"),
    "docx-with-prepended-data": Nasty("giao-an.docx", lambda: bytes(600) + nf.make_docx(), "hỏng"),
    "docx-truncated": Nasty("giao-an.docx", lambda: nf.make_docx()[:5000], "hỏng"),
    "odt-with-basic-macro": Nasty("giao-an.odt", lambda: nf.make_odf(extra={"Basic/Standard/Module1.xml": b"<x/>"}),
                                  "macro"),
    "odp-content-renamed-odt": Nasty("giao-an.odt", lambda: nf.make_odf("presentation"), "không khớp"),
    "odt-mimetype-not-first": Nasty("giao-an.odt", lambda: nf.rebuild_zip(nf.make_odf(), drop=("mimetype",),
                                    add={"mimetype": (nf.ODF + "text").encode()}), "mimetype"),
    "doc-with-vba-project": Nasty("giao-an.doc", lambda: nf.ole("WordDocument", "Macros", "_VBA_PROJECT"), "macro"),
    "doc-with-vba-storage-tree": Nasty("giao-an.doc", lambda: nf.ole_tree(
        {"WordDocument": b"W", "Macros": {"VBA": {"dir": b"d", "_VBA_PROJECT": b"v", "Module1": b"m"}}}), "macro"),
    "xls-with-vba-project": Nasty("bang-diem.xls", lambda: nf.ole_tree(
        {"Workbook": nf.biff_workbook(0), "_VBA_PROJECT_CUR": {"VBA": {"dir": b"d"}}}), "macro"),
    "xls-excel4-macro-sheet": Nasty("bang-diem.xls", lambda: nf.ole_tree({"Workbook": nf.biff_workbook(0, 1)}),
                                    "macro"),
    "xls-vb-module-sheet": Nasty("bang-diem.xls", lambda: nf.ole_tree({"Workbook": nf.biff_workbook(6)}), "macro"),
    "ppt-with-vba-info": Nasty("trinh-chieu.ppt", lambda: nf.ole_tree(
        {"Current User": b"u", "PowerPoint Document": nf.ppt_document(with_vba=True)}), "macro"),
    "ppt-not-a-compound-file": Nasty("trinh-chieu.ppt", lambda: bytes.fromhex("D0CF11E0A1B11AE1") + bytes(3000),
                                     "Office cũ bị hỏng"),
    # active content in PDFs
    "pdf-openaction-javascript": Nasty("de-thi.pdf", lambda: nf.pdf_with(OpenAction={
        "/S": _name("/JavaScript"), "/JS": _text("app.alert(1)")}), "JavaScript"),
    "pdf-document-javascript": Nasty("de-thi.pdf", _js_name_tree, "JavaScript"),
    "pdf-launch-action": Nasty("de-thi.pdf", lambda: nf.pdf_with(OpenAction={
        "/S": _name("/Launch"), "/F": _text("cmd.exe")}), "Launch"),
    "pdf-hex-escaped-javascript": Nasty("de-thi.pdf", _pdf_with(b"9 0 obj << /S /J#61va#53cript /JS (x) >> endobj"),
                                        "JavaScript"),
    "pdf-hex-escaped-js-key": Nasty("de-thi.pdf", _pdf_with(b"9 0 obj << /J#53 (app.alert\\(1\\)) >> endobj"),
                                    "JavaScript"),
    "pdf-javascript-in-object-stream": Nasty("de-thi.pdf", lambda: nf.pdf_with_object_streams(JS_ACTION),
                                             "JavaScript"),
    "pdf-launch-in-object-stream": Nasty("de-thi.pdf", lambda: nf.pdf_with_object_streams(LAUNCH_ACTION), "Launch"),
    "pdf-bare-js-key-in-object-stream": Nasty("de-thi.pdf", lambda: nf.pdf_with_object_streams(
        b"<< /JS (app.alert\\(1\\)) >>"), "JavaScript"),
    "pdf-object-stream-unreadable": Nasty("de-thi.pdf", _corrupt_object_stream, "luồng đối tượng nén"),
    "docm-by-name": Nasty("bai-giang.docm", nf.make_docx, "macro"),
    "xlsm-by-name": Nasty("bang-diem.xlsm", nf.make_xlsx, "macro"),
    "pptm-by-name": Nasty("trinh-chieu.pptm", nf.make_pptx, "macro"),
    "zip-without-manifest": Nasty("tai-lieu.zip", lambda: nf.make_zip({"bai.pdf": nf.make_pdf()}), "SCORM"),
    "h5p-without-h5p-json": Nasty("bai.h5p", nf.make_scorm, "H5P"),
    "h5p-json-invalid": Nasty("bai.h5p", lambda: nf.make_h5p(b"{not json"), "h5p.json"),
    "scorm-manifest-billion-laughs": Nasty("bai.zip", lambda: nf.make_zip({"imsmanifest.xml": (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<manifest>&b;</manifest>")}), "imsmanifest.xml"),
    "zip-bomb": Nasty("bai-5.zip", nf.zip_bomb, "bom nén"),
    "zip-10001-members": Nasty("bai-5.zip", lambda: nf.many_members(10_001), "10000 thành phần"),
    "zip-unpacked-over-limit": Nasty("bai-5.zip", lambda: nf.make_scorm(**{"a.bin": bytes(4000)}), "giải nén vượt quá",
                                     limits={"max_unpacked_bytes": 1000}),
    "zip-dotdot-member": Nasty("bai-5.zip", lambda: nf.zip_with_info(zipfile.ZipInfo("../evil.sh")), "không an toàn"),
    "zip-absolute-member": Nasty("bai-5.zip", lambda: nf.zip_with_info(zipfile.ZipInfo("/etc/cron.d/evil")),
                                 "không an toàn"),
    "zip-drive-letter-member": Nasty("bai-5.zip", lambda: nf.zip_with_info(zipfile.ZipInfo("C:/Windows/evil.dll")),
                                     "không an toàn"),
    "zip-symlink-member": Nasty("bai-5.zip", nf.symlink_zip, "symlink"),
    "zip-encrypted-member": Nasty("bai-5.zip", nf.encrypted_zip, "mã hoá"),
    "image-bomb-20000x20000": Nasty("anh-lon.png", lambda: nf.png_header_only(20_000, 20_000), "bom giải nén"),
    "image-bomb-warning-level": Nasty("anh-lon.png", lambda: nf.png_header_only(7_000, 7_000), "bom giải nén"),
    "jpeg-truncated": Nasty("anh.jpg", lambda: nf.make_image("JPEG", (256, 256), noise=True)[:3000], "ảnh bị hỏng"),
    "png-corrupt-crc": Nasty("so-do.png", lambda: nf.make_image("PNG")[:-5] + b"XXXXX", "ảnh bị hỏng"),
    "text-with-nul-in-head": Nasty("ghi-chu.txt", lambda: b"Bai 5\x00\x00\x00 Qua Deo Ngang",
                                   "application/octet-stream"),
    "text-with-nul-after-64k": Nasty("ghi-chu.txt", lambda: nf.VIETNAMESE.encode() * 1000 + b"\x00", "NUL"),
    "text-utf16": Nasty("ghi-chu.txt", lambda: nf.VIETNAMESE.encode("utf-16"), "NUL"),
    "text-unknown-encoding": Nasty("ghi-chu.txt", lambda: ("日本語のテキストです。" * 20).encode("shift_jis"),
                                   "UTF-8"),
    # names
    "name-empty": Nasty("", nf.make_pdf, "tên tệp trống"),
    "name-with-nul": Nasty("bai.pdf\x00.exe", nf.make_pdf, "ký tự điều khiển", shown="bai.pdf"),
    "name-with-newline": Nasty("bai\n5.pdf", nf.make_pdf, "ký tự điều khiển", shown="bai"),
    "name-with-rtl-override": Nasty("anh\u202egpj.exe.pdf", nf.make_pdf, "ký tự điều khiển", shown="gpj.exe.pdf"),
    "name-with-slash": Nasty("../../etc/bai.pdf", nf.make_pdf, "gạch chéo"),
    "name-with-backslash": Nasty("C:\\temp\\bai.pdf", nf.make_pdf, "gạch chéo"),
    "name-double-ext-exe-pdf": Nasty("bai.exe.pdf", nf.make_pdf, ".exe"),
    "name-double-ext-js-docx": Nasty("de-thi.js.docx", nf.make_docx, ".js"),
    "name-double-ext-php-jpg": Nasty("a.php.jpg", lambda: nf.make_image("JPEG"), ".php"),
    "name-300-characters": Nasty(LONG, nf.make_pdf, "255 ký tự", shown=LONG[:60]),
    "name-only-extension": Nasty(".pdf", nf.make_pdf, "dấu chấm"),
    "name-only-dots": Nasty("...", nf.make_pdf, "dấu chấm"),
    "ext-exe": Nasty("setup.exe", nf.pe_exe, ".exe"),
    "ext-html": Nasty("bai.html", lambda: b"<html></html>", ".html"),
    "ext-svg": Nasty("so-do.svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                     ".svg"),
    "ext-php": Nasty("shell.php", lambda: b"<?php ?>", ".php"),
    "no-extension": Nasty("bai-giang", nf.make_pdf, "không có phần mở rộng"),
    "trailing-dot-after-extension": Nasty("bai.pdf.", nf.make_pdf, "không có phần mở rộng"),
}


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.bin"  # the spooled temp file: its name says nothing
    path.write_bytes(data)
    return path


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D")).encode("ascii", "ignore").decode()


@pytest.mark.parametrize("name,build,kind,mime", GOOD, ids=[_ascii(good[0]) for good in GOOD])
def test_good_file_is_accepted(tmp_path, name, build, kind, mime):
    checked = check_file(_write(tmp_path, build()), name, max_bytes=LIMIT)
    assert checked == CheckedFile(extension=name.rsplit(".", 1)[1].lower(), mime_type=mime, kind=kind)


def test_there_are_at_least_35_distinct_nasty_cases():
    distinct = {(case.name, case.build(), tuple(sorted(case.limits.items()))) for case in NASTY_CASES.values()}
    assert len(distinct) == len(NASTY_CASES) >= 35


@pytest.mark.parametrize("case", NASTY_CASES.values(), ids=NASTY_CASES.keys())
def test_nasty_file_is_refused(tmp_path, case):
    with pytest.raises(FileRefused) as refused:
        check_file(_write(tmp_path, case.build()), case.name, **{"max_bytes": LIMIT, **case.limits})
    message = str(refused.value)
    assert message.startswith("Tệp «") and "» bị từ chối: " in message
    assert (case.shown if case.shown is not None else case.name) in message
    assert case.reason in message
    assert isinstance(refused.value, ValidationError) and refused.value.status == 422
    assert refused.value.field_errors == {"file": [refused.value.message]}


def test_refusal_message_reads_as_in_the_brief(tmp_path):
    with pytest.raises(FileRefused) as refused:
        check_filename("bai-giang.docm")
    assert str(refused.value) == "Tệp «bai-giang.docm» bị từ chối: định dạng có macro không được chấp nhận."


def test_check_filename_normalises_to_nfc():
    decomposed = unicodedata.normalize("NFD", "  Bài giảng Đường tròn lớp 9.pptx ")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    assert check_filename(decomposed) == "Bài giảng Đường tròn lớp 9.pptx"


def test_check_file_accepts_a_decomposed_name(tmp_path):
    name = unicodedata.normalize("NFD", "Ảnh minh hoạ.PNG")
    assert check_file(_write(tmp_path, nf.make_image("PNG")), name, max_bytes=LIMIT).extension == "png"


@pytest.mark.parametrize("name", ["Bài 1. Mở đầu.pdf", "v1.2 đề cương.docx", "bai.final.pdf", "x" * 251 + ".pdf"])
def test_harmless_dots_and_long_names_pass(name):
    assert check_filename(name) == name


def test_limits_are_shown_in_mb_and_gb(tmp_path):
    path = tmp_path / "sparse.bin"
    with path.open("wb") as fh:
        fh.truncate(2 * 1024 ** 3 + 1)  # sparse: the size is refused before a byte is read
    with pytest.raises(FileRefused, match="giới hạn 2 GB"):
        check_file(path, "video.mp4", max_bytes=2 * 1024 ** 3)
    assert filecheck._size(int(1.5 * 1024 ** 3)) == "1.5 GB"
    assert filecheck._size(50 * MB) == "50 MB"


def test_zip_member_limit_is_a_parameter(tmp_path):
    path = _write(tmp_path, nf.many_members(20))
    assert check_file(path, "bai.zip", max_bytes=LIMIT).kind == "package"
    with pytest.raises(FileRefused, match="10 thành phần"):
        check_file(path, "bai.zip", max_bytes=LIMIT, max_members=10)


def test_pillow_global_state_is_restored(tmp_path):
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, list(warnings.filters))
    with pytest.raises(FileRefused):
        check_file(_write(tmp_path, nf.png_header_only(20_000, 20_000)), "a.png", max_bytes=LIMIT)
    check_file(_write(tmp_path, nf.make_image("PNG")), "a.png", max_bytes=LIMIT)
    assert (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, list(warnings.filters)) == before


def test_checks_run_concurrently(tmp_path):
    files = [(nf.make_docx(), "a.docx"), (nf.make_image("JPEG"), "a.jpg"), (nf.make_pdf(), "a.pdf"),
             (nf.make_image("GIF"), "a.gif")]
    paths = []
    for i, (data, name) in enumerate(files):
        path = tmp_path / f"{i}.bin"
        path.write_bytes(data)
        paths.append((path, name))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                for path, name in paths:
                    check_file(path, name, max_bytes=LIMIT)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --- active content across read boundaries; videos made by ffmpeg ------------------------------

def test_pdf_javascript_straddling_a_read_chunk_is_found(tmp_path):
    """The raw scan reads 1 MiB at a time; a name cut by a chunk boundary is still seen."""
    for cut in (3, 6, 11):  # where in "/JavaScript" the boundary falls
        filler = b"%" + b"x" * (activecontent.CHUNK - len(b"%PDF-1.4\n") - 1 - cut) + b"\n"
        data = b"%PDF-1.4\n" + filler + b"/JavaScript (x)\n" + nf.make_pdf()[9:]
        assert data.index(b"/JavaScript") < activecontent.CHUNK < data.index(b"/JavaScript") + 11
        path = _write(tmp_path, data)
        assert activecontent.pdf_active_content(path) == "javascript"
        with pytest.raises(FileRefused, match="JavaScript"):
            check_file(path, "de-thi.pdf", max_bytes=LIMIT)


def test_powerpoint_vba_record_straddling_a_sector_run_is_found(tmp_path):
    """Large streams are read in runs of sectors (at most 1 MiB each), never whole."""
    document = nf.ppt_document(with_vba=True)
    at = document.index(bytes.fromhex("0F00FF03"))
    stream = b"\0" * (activecontent.CHUNK - at - 7) + document  # the record starts 7 bytes before 1 MiB
    path = _write(tmp_path, nf.ole_tree({"Current User": b"u", "PowerPoint Document": stream + bytes(4096)}))
    assert activecontent.office_macros(path) == "powerpoint-vba"
    clean = _write(tmp_path, nf.ole_tree({"Current User": b"u", "PowerPoint Document":
                                          b"\0" * activecontent.CHUNK + nf.ppt_document(with_vba=False)}))
    assert activecontent.office_macros(clean) is None


def test_excel4_macro_sheet_after_a_megabyte_of_globals_is_found(tmp_path):
    """BOUNDSHEET records are parsed across read chunks (records are not cut or skipped)."""
    filler = b"".join(struct.pack("<HH", 0x003C, 8000) + bytes(8000) for _ in range(140))  # CONTINUE records
    workbook = nf.biff_workbook()[:-4] + filler + nf.biff_workbook(0, 1)[20:]
    assert len(workbook) > activecontent.CHUNK
    assert activecontent.office_macros(_write(tmp_path, nf.ole_tree({"Workbook": workbook}))) == "xlm-macro-sheet"


REQUIRE_MEDIA_TOOLS = os.environ.get("REQUIRE_MEDIA_TOOLS") == "1"


@pytest.mark.parametrize("ext,codec,mime", [("mov", "mpeg4", "video/quicktime"), ("3gp", "h263", "video/3gpp"),
                                            ("mp4", "mpeg4", "video/mp4")])
def test_videos_made_by_ffmpeg_are_accepted(tmp_path, ext, codec, mime):
    if shutil.which("ffmpeg") is None:
        if REQUIRE_MEDIA_TOOLS:
            pytest.fail("ffmpeg is required (REQUIRE_MEDIA_TOOLS=1) but not installed")
        pytest.skip("ffmpeg not installed")
    path = tmp_path / f"video.{ext}"
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc=duration=1:size=176x144:rate=10", "-f", "lavfi", "-i", "sine=duration=1",
                    "-c:v", codec, "-c:a", "aac", "-y", str(path)], check=True, timeout=60)
    assert check_file(path, f"Bài giảng quay bằng điện thoại.{ext.upper()}", max_bytes=LIMIT) == CheckedFile(
        extension=ext, mime_type=mime, kind="video")
    with pytest.raises(FileRefused, match="không khớp"):
        check_file(path, "bai-hat.mp3", max_bytes=LIMIT)
