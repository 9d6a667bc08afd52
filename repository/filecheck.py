"""Every server-side check an uploaded file must pass before it is stored (OWASP; TECH-NOTES §3).

- The name is NFC, printable, without path separators, at most 255 characters, and ends in an
  allowed extension; an inner extension that is dangerous ("bai.exe.pdf") is refused.
- The content is sniffed by libmagic and must be in the ALLOW-LIST of its extension (`RULES`);
  the MIME type stored is the one decided here, never the client's.
- Executables and scripts, and HTML/XML/SVG, are refused whatever the name. Images, PDFs and
  media with markup in their first or last 4 KiB, and any non-zip file hiding a zip directory
  near its end, are refused as polyglots.
- Each format then passes a structure check: OOXML/ODF parts present and no macros; every zip
  bounded in members, unpacked size and ratio, with safe member paths; zips accepted only as
  SCORM/H5P packages; PDFs starting with %PDF- and without JavaScript or launch actions; images
  that Pillow decodes within a pixel limit; legacy Office files without VBA or Excel 4.0 macros
  (see repository.activecontent); text in UTF-8 or a legacy Vietnamese encoding.
"""
from __future__ import annotations

import codecs
import json
import re
import struct
import threading
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import magic
from defusedxml import ElementTree as SafeET
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile

from repository import activecontent
from repository.errors import ValidationError
from repository.legacy_text import guess_legacy_encoding

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
MAX_NAME_LENGTH = 255
MAX_MEMBERS, MAX_UNPACKED_BYTES, MAX_RATIO = 10_000, 2 * GiB, 100
RATIO_FLOOR = MiB               # a member unpacking to less cannot be a bomb, whatever its ratio
CD_BYTES_PER_MEMBER = KiB       # bounds the central directory before zipfile parses all of it
MAX_IMAGE_PIXELS = 40_000_000
SNIFF_BYTES = 64 * KiB          # python-magic wants >= 2048; an openpyxl XLSX needs ~8 KiB
WINDOW = 4 * KiB                # where polyglot markup is looked for, at each end

DANGEROUS_INNER = frozenset(
    "exe com bat cmd js jse mjs vbs vbe wsf wsh ps1 psm1 sh bash zsh csh php php3 php4 php5 php7 phtml phar "
    "pl py pyc rb cgi asp aspx jsp html htm xhtml shtml svg svgz jar msi msp scr dll hta cpl lnk reg inf apk "
    "app dmg deb rpm gadget pif url".split())
MACRO_EXTENSIONS = frozenset("docm dotm pptm potm ppsm sldm xlsm xltm xlam ppam".split())
# ELF, Mach-O (32/64, both byte orders, fat) and scripts; MZ/PE is left to libmagic ("MZ" can start a text).
EXEC_SIGNATURES = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                   b"\xca\xfe\xba\xbe", b"#!")
EXEC_MIMES = frozenset(
    "application/x-executable application/x-pie-executable application/x-sharedlib application/x-mach-binary "
    "application/x-dosexec application/vnd.microsoft.portable-executable application/x-msdownload "
    "application/x-msi application/x-java-applet application/java-archive application/x-object "
    "application/x-coredump text/x-shellscript text/x-php text/x-perl text/x-msdos-batch text/x-ruby".split())
POLYGLOT_MARKERS = (b"<script", b"<html", b"<svg", b"<?php")
TEXT_MARKUP = POLYGLOT_MARKERS + (b"<!doctype", b"<?xml", b"<iframe", b"<body", b"<object", b"<embed")
EOCD = b"PK\x05\x06"
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_HIDDEN = ("Cc", "Cf", "Cs")     # control, format (bidi overrides, zero-width), surrogate

_magic_lock, _pillow_lock = threading.Lock(), threading.Lock()
_magic: list[magic.Magic] = []


@dataclass(frozen=True)
class CheckedFile:
    extension: str
    mime_type: str  # the type decided here, never the client's
    kind: str       # pdf | document | presentation | spreadsheet | image | video | audio | package | text


class FileRefused(ValidationError):
    """A file refused before storage; the message names the file and gives the reason."""

    def __init__(self, name: str, reason: Any) -> None:
        self.filename, self.reason = name, reason
        message = _l("Tệp «%(name)s» bị từ chối: %(reason)s", name=_shown(name), reason=reason)
        super().__init__(message, field_errors={"file": [message]})


def _shown(name: str) -> str:
    """The name as it may be shown: hidden characters replaced, long names shortened."""
    text = "".join("\ufffd" if unicodedata.category(c) in _HIDDEN else c for c in name)
    return text if len(text) <= 80 else f"{text[:60]}…{text[-15:]}"


def _size(n: int) -> str:
    unit, div = ("GB", GiB) if n >= GiB else ("MB", MiB) if n >= MiB else ("KB", KiB)
    return f"{n / div:.1f}".rstrip("0").rstrip(".") + f" {unit}"


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[1].strip().lower() if "." in name else ""


def check_filename(name: str) -> str:
    """The NFC display name, or FileRefused. The name is metadata only: objects get UUID keys."""
    name = unicodedata.normalize("NFC", str(name or "")).strip()
    ext = _suffix(name)
    inner = [part.strip().lower() for part in name.split(".")[1:-1]]
    if not name:
        reason = _l("tên tệp trống.")
    elif any(unicodedata.category(c) in _HIDDEN for c in name):
        reason = _l("tên tệp chứa ký tự điều khiển hoặc ký tự rỗng (NUL).")
    elif "/" in name or "\\" in name:
        reason = _l("tên tệp không được chứa dấu gạch chéo (/ hoặc \\).")
    elif len(name) > MAX_NAME_LENGTH:
        reason = _l("tên tệp dài quá %(max)d ký tự.", max=MAX_NAME_LENGTH)
    elif name.startswith(".") or not name.strip("."):
        reason = _l("tên tệp phải có phần tên trước phần mở rộng và không bắt đầu bằng dấu chấm.")
    elif ext in MACRO_EXTENSIONS:
        reason = _l("định dạng có macro không được chấp nhận.")
    elif not ext:
        reason = _l("tên tệp không có phần mở rộng.")
    elif ext not in RULES:
        reason = _l("định dạng .%(ext)s không được chấp nhận.", ext=ext)
    elif DANGEROUS_INNER.intersection(inner):
        bad = next(part for part in inner if part in DANGEROUS_INNER)
        reason = _l("tên tệp có phần mở rộng nguy hiểm .%(ext)s ẩn bên trong.", ext=bad)
    else:
        return name
    raise FileRefused(name, reason)


@dataclass(frozen=True)
class _Upload:
    """What the structure checks need to know about one upload."""
    path: Path
    name: str
    ext: str
    head: bytes  # the first SNIFF_BYTES
    tail: bytes  # the last 64 KiB + 22 (room for a zip end record and its longest comment)
    max_members: int
    max_unpacked: int

    def refuse(self, reason: Any) -> FileRefused:
        return FileRefused(self.name, reason)


@dataclass(frozen=True)
class Rule:
    kind: str
    mime: str                         # the type stored
    check: Callable[[_Upload], None]  # the structure check
    also: tuple[str, ...] = ()        # other libmagic answers accepted for the extension
    zipped: bool = False

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset((self.mime, *self.also))


def check_file(path: Path, original_name: str, *, max_bytes: int, max_members: int = MAX_MEMBERS,
               max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> CheckedFile:
    """Every check, in order: name, size, executables, markup, allow-list, polyglots, structure."""
    name = check_filename(original_name)
    ext = _suffix(name)
    rule, size = RULES[ext], Path(path).stat().st_size
    if size == 0:
        raise FileRefused(name, _l("tệp rỗng."))
    if size > max_bytes:
        raise FileRefused(name, _l("tệp lớn hơn giới hạn %(limit)s.", limit=_size(max_bytes)))
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        fh.seek(max(0, size - 64 * KiB - 22))
        tail = fh.read()
    up = _Upload(Path(path), name, ext, head, tail, max_members, max_unpacked_bytes)
    mime = _sniff(head)
    if mime in EXEC_MIMES or mime.startswith("text/x-script") or head.startswith(EXEC_SIGNATURES):
        raise up.refuse(_l("tệp là chương trình hoặc mã lệnh chạy được."))
    if mime.endswith(("html", "xml")):  # text/html, text/xml, application/xml, image/svg+xml, xhtml+xml
        raise up.refuse(_l("nội dung HTML, XML hoặc SVG không được chấp nhận."))
    if mime not in rule.accepted:
        raise up.refuse(_l("nội dung tệp (%(mime)s) không khớp với phần mở rộng .%(ext)s.", mime=mime, ext=ext))
    ends = (head[:WINDOW] + b"\n" + tail[-WINDOW:]).lower()
    if rule.kind in ("image", "pdf", "video", "audio") and any(m in ends for m in POLYGLOT_MARKERS):
        raise up.refuse(_l("tệp có chứa mã HTML/script (tệp lai, polyglot)."))
    if not rule.zipped and EOCD in tail:
        raise up.refuse(_l("tệp có chứa một tệp nén ẩn ở cuối (tệp lai, polyglot)."))
    rule.check(up)
    return CheckedFile(extension=ext, mime_type=rule.mime, kind=rule.kind)


def _sniff(head: bytes) -> str:
    """libmagic's MIME type for the first bytes: one Magic object, used under a lock."""
    with _magic_lock:
        if not _magic:
            _magic.append(magic.Magic(mime=True))
        return _magic[0].from_buffer(head)


# --- zip-based formats -------------------------------------------------------------------------

def _open_zip(up: _Upload) -> zipfile.ZipFile:
    """The zip, starting at offset 0, once its directory is bounded (members, unpacked size, ratio
    per member over RATIO_FLOOR) and every member path is relative, without '..', not a symlink."""
    corrupt = _l("tệp nén bị hỏng hoặc không đọc được.")
    too_many = _l("tệp nén có quá %(max)d thành phần.", max=up.max_members)
    at = up.tail.rfind(EOCD)
    if not up.head.startswith(b"PK\x03\x04") or at < 0 or len(up.tail) - at < 22:
        raise up.refuse(corrupt)
    count, cd_size = struct.unpack("<HI", up.tail[at + 10:at + 16])
    if count > up.max_members or cd_size > up.max_members * CD_BYTES_PER_MEMBER:
        raise up.refuse(too_many)
    try:
        zf = zipfile.ZipFile(up.path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error):
        raise up.refuse(corrupt) from None
    try:
        infos = zf.infolist()
        if len(infos) > up.max_members:
            raise up.refuse(too_many)
        if sum(i.file_size for i in infos) > up.max_unpacked:
            raise up.refuse(_l("tệp nén khi giải nén vượt quá %(limit)s.", limit=_size(up.max_unpacked)))
        for info in infos:
            member = info.filename
            if member.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", member) or ".." in re.split(r"[/\\]", member):
                raise up.refuse(_l("tệp nén chứa đường dẫn không an toàn: %(member)s.", member=_shown(member)))
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise up.refuse(_l("tệp nén chứa liên kết tượng trưng (symlink): %(member)s.", member=_shown(member)))
            if info.flag_bits & 0x1:
                raise up.refuse(_l("tệp nén có thành phần được mã hoá."))
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise up.refuse(_l("tệp nén có thành phần nén bất thường (tỉ lệ hơn %(ratio)d:1), nghi là bom nén.",
                                   ratio=MAX_RATIO))
    except FileRefused:
        zf.close()
        raise
    return zf


def _read_member(up: _Upload, zf: zipfile.ZipFile, name: str, limit: int = 5 * MiB) -> bytes:
    """A small member (a manifest, [Content_Types].xml), its declared size bounding the read."""
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise up.refuse(_l("phần %(part)s của tệp lớn bất thường.", part=name))
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        raise up.refuse(_l("tệp nén bị hỏng hoặc không đọc được.")) from None


def _missing(up: _Upload, part: str) -> FileRefused:
    return up.refuse(_l("tài liệu thiếu phần %(part)s, tệp bị hỏng hoặc không đúng định dạng.", part=part))


def _macro(up: _Upload) -> FileRefused:
    return up.refuse(_l("định dạng có macro không được chấp nhận."))


def _ooxml(main_part: str) -> Callable[[_Upload], None]:
    """OOXML: [Content_Types].xml and the main part present; no VBA project, no macro-enabled type."""
    def check(up: _Upload) -> None:
        with _open_zip(up) as zf:
            names = {n.lower(): n for n in zf.namelist()}  # OPC part names are case-insensitive
            for part in ("[Content_Types].xml", main_part):
                if part.lower() not in names:
                    raise _missing(up, part)
            types = _read_member(up, zf, names["[content_types].xml"]).lower()
            if any(n.endswith("vbaproject.bin") for n in names) or b"macroenabled" in types or b"vbaproject" in types:
                raise _macro(up)
    return check


def _odf(mimetype: str) -> Callable[[_Upload], None]:
    """ODF: `mimetype` first and naming the type of the extension; content.xml present; no Basic/Scripts."""
    def check(up: _Upload) -> None:
        with _open_zip(up) as zf:
            names = zf.namelist()
            if not names or names[0] != "mimetype" or _read_member(up, zf, "mimetype").strip() != mimetype.encode():
                raise _missing(up, "mimetype")
            if "content.xml" not in names:
                raise _missing(up, "content.xml")
            if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                raise _macro(up)
    return check


def _package(up: _Upload) -> None:
    """A zip only as a SCORM (imsmanifest.xml, .zip) or H5P (h5p.json) package, manifest at the root
    and parseable (XML through defusedxml: no DTD entities)."""
    with _open_zip(up) as zf:
        names = set(zf.namelist())
        part = "h5p.json" if "h5p.json" in names else "imsmanifest.xml"
        if part not in names or (part == "imsmanifest.xml" and up.ext != "zip"):
            raise up.refuse(_l("tệp nén chỉ được chấp nhận khi là gói SCORM (imsmanifest.xml) hoặc H5P (h5p.json)."))
        data = _read_member(up, zf, part)
    try:
        valid = isinstance(json.loads(data), dict) if part == "h5p.json" else SafeET.fromstring(data) is not None
    except Exception:  # JSON and XML syntax errors, defusedxml's refusals of entities and DTDs
        valid = False
    if not valid:
        raise up.refuse(_l("tệp kê khai %(part)s của gói không hợp lệ.", part=part))


# --- other formats -----------------------------------------------------------------------------

def _pdf(up: _Upload) -> None:
    """A PDF starts with %PDF-, has its end-of-file marker in the last 64 KiB, and carries no
    JavaScript and no launch action: active content is refused, not flagged."""
    if not up.head.startswith(b"%PDF-") or b"%%EOF" not in up.tail:
        raise up.refuse(_l("tệp PDF bị hỏng hoặc không đúng định dạng."))
    try:
        found = activecontent.pdf_active_content(up.path)
    except activecontent.Unreadable:
        raise up.refuse(_l("không đọc được các luồng đối tượng nén của tệp PDF để kiểm tra mã lệnh nhúng.")) from None
    if found == "javascript":
        raise up.refuse(_l("tệp PDF có chứa mã JavaScript; hãy xuất lại tệp PDF không có mã lệnh."))
    if found is not None:
        raise up.refuse(_l("tệp PDF có lệnh mở chương trình hoặc tệp khác (Launch)."))


def _ole(up: _Upload) -> None:
    """A legacy Office (OLE2) file without a VBA project, Excel 4.0 macro sheet or PowerPoint VBA."""
    corrupt = _l("tài liệu Office cũ bị hỏng hoặc không đúng định dạng.")
    if not up.head.startswith(OLE_SIGNATURE):
        raise up.refuse(corrupt)
    try:
        found = activecontent.office_macros(up.path)
    except activecontent.Unreadable:
        raise up.refuse(corrupt) from None
    if found is not None:
        raise _macro(up)


def _image(pil_format: str) -> Callable[[_Upload], None]:
    """Pillow opens the file as `pil_format` only, with MAX_IMAGE_PIXELS set and its bomb warning
    made an error (global state restored, under a lock), verify()s it, then decodes JPEG (at 1/8
    scale), GIF and WebP to catch truncation; PNG's verify() checks every chunk CRC through IEND."""
    def check(up: _Upload) -> None:
        with _pillow_lock, warnings.catch_warnings():
            saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
            Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = MAX_IMAGE_PIXELS, False
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                with Image.open(up.path, formats=[pil_format]) as img:
                    img.verify()
                if pil_format != "PNG":
                    with Image.open(up.path, formats=[pil_format]) as img:
                        if pil_format == "JPEG":
                            img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
                        img.load()
            except (Image.DecompressionBombWarning, Image.DecompressionBombError):
                raise up.refuse(_l("ảnh có quá nhiều điểm ảnh (hơn %(max)s), nghi là bom giải nén.",
                                   max=f"{MAX_IMAGE_PIXELS:,}".replace(",", "."))) from None
            except Exception:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, struct.error...
                raise up.refuse(_l("ảnh bị hỏng hoặc không đúng định dạng.")) from None
            finally:
                Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved
    return check


def _media(up: _Upload) -> None:
    """Audio and video: the allow-list and the polyglot checks of check_file are all that is checked."""


def _text(up: _Upload) -> None:
    """Text: no NUL byte, no markup, and UTF-8 or a legacy Vietnamese encoding (TCVN3, Windows-1258)."""
    decoder, utf8, sample, carry = codecs.getincrementaldecoder("utf-8")(), True, b"", b""
    with up.path.open("rb") as fh:
        while chunk := fh.read(MiB):
            if b"\0" in chunk:
                raise up.refuse(_l("tệp văn bản chứa ký tự rỗng (NUL)."))
            if any(m in (carry[-16:] + chunk).lower() for m in TEXT_MARKUP):
                raise up.refuse(_l("nội dung HTML, XML hoặc SVG không được chấp nhận."))
            carry = chunk
            try:
                if utf8:
                    decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8, sample = False, chunk
    try:
        if utf8:
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        utf8, sample = False, carry
    if not utf8 and guess_legacy_encoding(sample) is None:
        raise up.refuse(_l("tệp văn bản không phải UTF-8 hay bảng mã tiếng Việt cũ (TCVN3, Windows-1258)."))


# --- the allow-list ----------------------------------------------------------------------------

_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
# OOXML/ODF: libmagic 5.44 names them only when the members are in the usual order; 5.46 says octet-stream.
_ZIPPED: dict[str, Any] = {"also": ("application/zip", "application/octet-stream"), "zipped": True}
_TEXTS = ("text/csv", "text/x-c", "text/x-c++", "text/x-java", "text/x-pascal", "text/x-fortran", "text/x-asm",
          "text/x-tex", "text/x-makefile", "text/x-diff")  # libmagic's guesses for code in Informatics lessons


RULES: dict[str, Rule] = {
    "pdf": Rule("pdf", "application/pdf", _pdf),
    "docx": Rule("document", _OOXML + "wordprocessingml.document", _ooxml("word/document.xml"), **_ZIPPED),
    "pptx": Rule("presentation", _OOXML + "presentationml.presentation", _ooxml("ppt/presentation.xml"), **_ZIPPED),
    "xlsx": Rule("spreadsheet", _OOXML + "spreadsheetml.sheet", _ooxml("xl/workbook.xml"), **_ZIPPED),
    "odt": Rule("document", _ODF + "text", _odf(_ODF + "text"), **_ZIPPED),
    "odp": Rule("presentation", _ODF + "presentation", _odf(_ODF + "presentation"), **_ZIPPED),
    "ods": Rule("spreadsheet", _ODF + "spreadsheet", _odf(_ODF + "spreadsheet"), **_ZIPPED),
    "doc": Rule("document", "application/msword", _ole),
    # libmagic names a .ppt from its summary information only; without one it says generic OLE.
    "ppt": Rule("presentation", "application/vnd.ms-powerpoint", _ole, ("application/x-ole-storage",)),
    "xls": Rule("spreadsheet", "application/vnd.ms-excel", _ole),
    "txt": Rule("text", "text/plain", _text, _TEXTS),
    "jpg": Rule("image", "image/jpeg", _image("JPEG")),
    "jpeg": Rule("image", "image/jpeg", _image("JPEG")),
    "png": Rule("image", "image/png", _image("PNG")),
    "gif": Rule("image", "image/gif", _image("GIF")),
    "webp": Rule("image", "image/webp", _image("WEBP")),
    "mp4": Rule("video", "video/mp4", _media, ("video/x-m4v",)),
    "mov": Rule("video", "video/quicktime", _media),
    "3gp": Rule("video", "video/3gpp", _media),
    "m4v": Rule("video", "video/mp4", _media, ("video/x-m4v",)),
    "webm": Rule("video", "video/webm", _media),
    "mp3": Rule("audio", "audio/mpeg", _media),
    "m4a": Rule("audio", "audio/mp4", _media, ("audio/x-m4a",)),
    "wav": Rule("audio", "audio/wav", _media, ("audio/x-wav", "audio/vnd.wave")),
    "ogg": Rule("audio", "audio/ogg", _media, ("application/ogg",)),
    "zip": Rule("package", "application/zip", _package, zipped=True),
    "h5p": Rule("package", "application/zip", _package, zipped=True),
}
