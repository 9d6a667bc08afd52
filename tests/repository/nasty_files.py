"""Builders of good and nasty uploads, all generated in memory (no committed binaries).

Each builder returns bytes. The good ones are real files from python-docx, python-pptx, openpyxl,
pypdf and Pillow, or hand-built where no writer is installed (ODF, MP4, MP3, OGG, WebM, OLE).
"""
from __future__ import annotations

import io
import json
import struct
import wave
import zipfile
import zlib

import docx
import openpyxl
import pptx
from PIL import Image
from pypdf import PdfWriter

from repository.legacy_text import TCVN3_LOWER
from tests import helpers
from tests.helpers import encode_cp1258  # noqa: F401  (used by the nasty-file table)

ODF = "application/vnd.oasis.opendocument."
VIETNAMESE = "Bài giảng Ngữ văn lớp 7: Qua Đèo Ngang, Bà Huyện Thanh Quan.\nGiáo viên: Nguyễn Thị Hương\n"


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    (obj.write if isinstance(obj, PdfWriter) else obj.save)(buffer)
    return buffer.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Bài 5. Qua Đèo Ngang", 1)
    document.add_paragraph(VIETNAMESE)
    return _saved(document)


def make_pptx() -> bytes:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = "Bài giảng điện tử"
    return _saved(deck)


def make_xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Họ và tên", "Điểm"])
    book.active.append(["Trần Văn Đức", 9.5])
    return _saved(book)


def make_odf(kind: str = "text", *, mimetype: str | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """An ODF package by hand: `mimetype` stored first, then content.xml and the manifest."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), mimetype or ODF + kind, compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2">'
                    '<office:body/></office:document-content>')
        zf.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
                    f'manifest:full-path="/" manifest:media-type="{ODF + kind}"/></manifest:manifest>')
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


def make_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    return _saved(writer)


def make_image(fmt: str, size: tuple[int, int] = (32, 24), noise: bool = False) -> bytes:
    image = Image.effect_noise(size, 64).convert("RGB") if noise else Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that only declares its size (1-bit grey): enough for Pillow's bomb check, costs nothing."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def make_mp4(brand: bytes = b"isom", compatible: bytes = b"isomiso2avc1mp41") -> bytes:
    """ftyp + moov(mvhd) + mdat: libmagic 5.44 reads isom/mp42 as video/mp4, M4V as video/x-m4v, M4A as audio/x-m4a."""
    mvhd = _box(b"mvhd", bytes(12) + struct.pack(">II", 1000, 0) + b"\x00\x01\x00\x00\x01\x00" + bytes(70)
                + struct.pack(">I", 2))
    return _box(b"ftyp", brand + struct.pack(">I", 512) + compatible) + _box(b"moov", mvhd) + _box(b"mdat", bytes(256))


def make_mp3() -> bytes:
    """An ID3v2.4 header and five MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each)."""
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x64" + bytes(413)) * 5


def make_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(1600))
    return buffer.getvalue()


def make_ogg() -> bytes:
    return b"OggS\x00\x02" + bytes(20) + b"\x01\x1e\x01vorbis" + bytes(40)


def make_webm() -> bytes:
    return bytes.fromhex("1A45DFA39F4286810142F7810142F2810442F381084282847765626D4287810442858102") + bytes(40)


def make_zip(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


SCORM_MANIFEST = (b'<?xml version="1.0"?><manifest identifier="bai-5" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1">'
                  b'<organizations/><resources><resource identifier="r1" type="webcontent" href="index.html"/>'
                  b'</resources></manifest>')


def make_scorm(**extra: bytes) -> bytes:
    return make_zip({"imsmanifest.xml": SCORM_MANIFEST, "index.html": b"<html><body>Bai 5</body></html>", **extra})


def make_h5p(h5p_json: bytes | None = None) -> bytes:
    meta = h5p_json if h5p_json is not None else json.dumps(
        {"title": "Bài 5", "mainLibrary": "H5P.InteractiveVideo", "language": "vi"}).encode()
    return make_zip({"h5p.json": meta, "content/content.json": b"{}"})


def rebuild_zip(data: bytes, *, drop: tuple[str, ...] = (), add: dict[str, bytes] | None = None,
                replace: tuple[bytes, bytes] | None = None, first: str | None = None) -> bytes:
    """A copy of a zip (an OOXML file) without some members, with others added, text replaced, or
    one member moved to the front."""
    source, buffer = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    names = sorted(source.namelist(), key=lambda name: name != first)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name in names:
            if name not in drop:
                body = source.read(name)
                out.writestr(name, body.replace(*replace) if replace else body)
        for name, body in (add or {}).items():
            out.writestr(name, body)
    return buffer.getvalue()


def zip_with_info(info: zipfile.ZipInfo, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("imsmanifest.xml", SCORM_MANIFEST)
        zf.writestr(info, data)
    return buffer.getvalue()


def symlink_zip() -> bytes:
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    return zip_with_info(info, b"/etc/passwd")


def encrypted_zip() -> bytes:
    """A SCORM zip whose second member claims to be encrypted (flag bit 0, local and central headers)."""
    data = bytearray(make_scorm())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.rfind(signature)
        data[at + flag_at] |= 0x01
    return bytes(data)


def zip_bomb() -> bytes:
    """50 MB of zeros deflate to ~50 KB: a ratio near 1000:1, built in a fraction of a second."""
    return make_scorm(**{"video.bin": bytes(50 * 1024 * 1024)})


def many_members(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("imsmanifest.xml", SCORM_MANIFEST)
        for i in range(count - 1):
            zf.writestr(f"a/{i}", b"")
    return buffer.getvalue()


def ole(*streams: str) -> bytes:
    """A minimal compound file (OLE2, v3, 512-byte sectors): a root storage holding empty streams.

    libmagic 5.44 names it by a stream: WordDocument -> msword, Workbook -> vnd.ms-excel,
    PowerPoint -> vnd.ms-powerpoint.
    """
    end, free, fatsect, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF

    def entry(name: str, kind: int, child: int = nostream, right: int = nostream) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", nostream, right, child) + bytes(36) + struct.pack("<IQ", end, 0))
    entries = [entry("Root Entry", 5, child=1)]
    entries += [entry(name, 2, right=i + 2 if i + 1 < len(streams) else nostream) for i, name in enumerate(streams)]
    entries += [bytes(128)] * (-len(entries) % 4)
    sectors = len(entries) // 4
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<9I", 0, 1, 1, 0, 4096, end, 0, end, 0) + struct.pack("<I", 0)
              + struct.pack("<I", free) * 108)
    fat = [fatsect] + list(range(2, sectors + 1)) + [end]
    return header + b"".join(struct.pack("<I", x) for x in fat).ljust(512, b"\xff") + b"".join(entries)


def encode_tcvn3(text: str) -> bytes:
    """TCVN3 of the lower-cased text, dropping what the table cannot encode."""
    table = set(TCVN3_LOWER.values())
    return helpers.encode_tcvn3("".join(c for c in text.lower() if c in table or ord(c) < 128))


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + struct.pack("<HHI", 2, 0x3E, 1) + bytes(400)


def pe_exe() -> bytes:
    data = bytearray(1024)
    data[0:2] = b"MZ"
    data[0x3C:0x40] = struct.pack("<I", 0x80)
    data[0x80:0x86] = b"PE\0\0" + struct.pack("<H", 0x14C)
    return bytes(data)


def jpeg_with_comment(comment: bytes) -> bytes:
    """A JPEG with a COM segment right after SOI (where a polyglot puts its payload)."""
    jpeg = make_image("JPEG")
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


# --- active content: PDF actions, macros in legacy Office files --------------------------------

def _pdf_object_stream(objects: list[bytes]) -> bytes:
    """A PDF 1.5 whose objects 1..n all sit in one compressed object stream (n+1), found through an
    xref stream (n+2): what Word and LibreOffice write, and where raw bytes show no names."""
    count = len(objects)
    offsets, body = [], b""
    for obj in objects:
        offsets.append(len(body))
        body += obj + b"\n"
    index = b" ".join(b"%d %d" % (i + 1, off) for i, off in enumerate(offsets)) + b"\n"
    packed = zlib.compress(index + body)
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    stm_at = len(out)
    out += (b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (count + 1, count, len(index), len(packed))) + packed + b"\nendstream\nendobj\n"
    xref_at = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)] + [struct.pack(">BIH", 2, count + 1, i) for i in range(count)]
    rows += [struct.pack(">BIH", 1, stm_at, 0), struct.pack(">BIH", 1, xref_at, 0)]
    table = b"".join(rows)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
            % (count + 2, count + 3, len(table))) + table + b"\nendstream\nendobj\n"
    return bytes(out + b"startxref\n%d\n%%%%EOF\n" % xref_at)


def pdf_with_object_streams(open_action: bytes | None = None) -> bytes:
    """One blank page; with `open_action`, the catalog's /OpenAction is that action dictionary."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R" + (b" /OpenAction 4 0 R" if open_action else b"") + b" >>"
    objects = [catalog, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    return _pdf_object_stream(objects + ([open_action] if open_action else []))


def pdf_with(**catalog_entries: object) -> bytes:
    """A real pypdf PDF (plain objects) with entries added to its catalog."""
    from pypdf.generic import DictionaryObject, NameObject

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    for key, value in catalog_entries.items():
        writer._root_object[NameObject("/" + key)] = value if not isinstance(value, dict) else DictionaryObject(
            {NameObject(k): v for k, v in value.items()})
    return _saved(writer)


def ole_tree(tree: dict) -> bytes:
    """A compound file (OLE2 v3, 512-byte sectors) holding `tree`: name -> bytes (a stream) or a
    dict (a storage). Streams are padded to 4096 bytes so that they live in ordinary sectors."""
    end, free, fatsect, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    flat: list[list] = [["Root Entry", 5, None, nostream, nostream]]  # name, kind, data, right, child

    def add(children: dict) -> int:
        first = nostream
        for name, value in reversed(list(children.items())):
            flat.append([name, 1 if isinstance(value, dict) else 2, None, first, nostream])
            at = len(flat) - 1
            if isinstance(value, dict):
                flat[at][4] = add(value)
            else:
                flat[at][2] = value.ljust(4096, b"\0")
            first = at
        return first
    flat[0][4] = add(tree)
    flat += [None] * (-len(flat) % 4)
    dir_sectors = len(flat) // 4
    data_sectors = sum(len(e[2]) // 512 + (len(e[2]) % 512 > 0) for e in flat if e and e[2] is not None)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + dir_sectors + data_sectors:
        fat_sectors += 1
    fat = [fatsect] * fat_sectors + list(range(fat_sectors + 1, fat_sectors + dir_sectors)) + [end]
    sectors, entries = b"", b""
    for e in flat:
        if e is None:
            entries += bytes(128)
            continue
        name, kind, data, right, child = e
        start, size = end, 0
        if data is not None:
            start, size = fat_sectors + dir_sectors + len(sectors) // 512, len(data)
            count = size // 512 + (size % 512 > 0)
            fat += list(range(start + 1, start + count)) + [end]
            sectors += data.ljust(count * 512, b"\0")
        raw = (name + "\0").encode("utf-16-le")
        entries += (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                    + struct.pack("<III", nostream, right, child) + bytes(36) + struct.pack("<IQ", start, size))
    difat = list(range(fat_sectors)) + [free] * (109 - fat_sectors)
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<9I", 0, fat_sectors, fat_sectors, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", *difat))
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat).ljust(fat_sectors * 512, b"\xff")
    return header + fat_bytes + entries + sectors


def biff_workbook(*sheet_types: int) -> bytes:
    """An Excel 97 workbook stream: BOF, one BOUNDSHEET record per sheet type (0 worksheet,
    1 Excel 4.0 macro sheet, 6 VB module), EOF."""
    def record(kind: int, body: bytes) -> bytes:
        return struct.pack("<HH", kind, len(body)) + body
    sheets = b"".join(record(0x0085, struct.pack("<IBBB", 0, 0, kind, 6) + b"Sheet1"[:6].ljust(6, b"1"))
                      for kind in sheet_types)
    return record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x1F3A, 0x07CD, 0, 6)) + sheets + record(0x000A, b"")


def ppt_document(with_vba: bool) -> bytes:
    """A PowerPoint document stream: a DocumentContainer holding (or not) the VBAInfoContainer that
    points PowerPoint to its compressed VBA project."""
    vba = bytes.fromhex("0F00FF0314000000020000040C000000") + struct.pack("<III", 7, 1, 2)
    atom = struct.pack("<HHI", 0x0001, 0x03E9, 40) + bytes(40)  # DocumentAtom
    inner = atom + (vba if with_vba else b"")
    return struct.pack("<HHI", 0x000F, 0x03E8, len(inner)) + inner
