"""Active content hidden inside documents that the allow-list of repository.filecheck lets through.

Each finder returns what it found (a short English token for the log and the tests) or None;
repository.filecheck turns a finding into a refusal. Refused, not merely flagged: a learning
material needs neither scripts nor macros, and the readers of the teachers who download it run
them (decision recorded in the README's file-check section).

- PDF: JavaScript (document scripts, /OpenAction and /AA triggers, form fields: every JavaScript
  action names `/S /JavaScript`, and document scripts sit under a `/JavaScript` name tree) and
  `/Launch` actions (start a program or open a file). Names are looked for in the raw bytes with
  `#xx` escapes decoded (`/J#61vaScript`); compressed object streams (PDF 1.5+), which raw bytes
  do not show, are decoded with pypdf (within its decompression limits) and searched the same way,
  a bare `/JS` key included. A PDF whose object streams cannot be decoded is refused.
- Legacy Office (OLE2, olefile): a VBA project in any storage (Word's `Macros`, Excel's
  `_VBA_PROJECT_CUR`, a `VBA` storage), an Excel 4.0 (XLM) macro sheet or VB module sheet in an
  .xls workbook, and the VBAInfo record by which PowerPoint 97-2003 finds its VBA project (the
  project itself is compressed inside the document stream, where no storage names it).
Streams are read sector run by sector run from the file, never whole into memory.
"""
from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Optional

import olefile
from pypdf import PdfReader
from pypdf.generic import StreamObject

CHUNK = 1 << 20
_NAME_CHAR = rb"[^\x00\t\n\x0c\r /<>\[\]()%{}]"
_DELIMITER = rb"(?=[\x00\t\n\x0c\r /<>\[\]()%{}]|\Z)"
# The names that matter, plain or with #xx escapes (which a reader decodes before use). A bare /JS
# is not looked for in raw bytes: it matches binary stream data by chance, and a JavaScript action
# names /S /JavaScript anyway; inside object streams (PDF syntax only) it is.
_ESCAPED = _NAME_CHAR + rb"{0,127}#[0-9A-Fa-f]{2}" + _NAME_CHAR + rb"{0,127}"
_PDF_NAMES = re.compile(rb"/(JavaScript|Launch|ObjStm|" + _ESCAPED + rb")" + _DELIMITER)
_OBJECT_NAMES = re.compile(rb"/(JavaScript|Launch|JS|" + _ESCAPED + rb")" + _DELIMITER)
_OVERLAP = 600                  # longer than the longest name the pattern matches
PDF_ACTIVE = {"/JavaScript": "javascript", "/JS": "javascript", "/Launch": "launch"}
_KEPT = frozenset(PDF_ACTIVE) | {"/ObjStm"}  # escaped names are many in hostile files: keep only these

VBA_STORAGES = frozenset({"_vba_project", "_vba_project_cur", "macros", "vba"})
# VBAInfoContainer (recVer 0xF, type 0x03FF, length 20) holding its VBAInfoAtom (recVer 2, type 0x0400, length 12).
PPT_VBA_INFO = bytes.fromhex("0F00FF0314000000" "020000040C000000")
BIFF_EOF, BIFF_BOUNDSHEET = 0x000A, 0x0085
XLM_SHEET_TYPES = {0x01: "xlm-macro-sheet", 0x06: "vb-module-sheet"}
MAX_GLOBALS_BYTES = 64 * CHUNK  # the workbook globals (where sheets are listed) end long before this


class Unreadable(Exception):
    """The structure could not be read far enough to tell; the caller refuses the file."""


# --- PDF -------------------------------------------------------------------------------------

def _decoded(name: bytes) -> str:
    return "/" + re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name).decode("latin-1")


def _raw_pdf_names(fh: BinaryIO) -> set[str]:
    """The significant names in the file's bytes, in 1 MiB chunks that overlap by _OVERLAP."""
    found: set[str] = set()
    carry = b""
    while True:
        chunk = fh.read(CHUNK)
        buffer, final = carry + chunk, not chunk
        for match in _PDF_NAMES.finditer(buffer):
            if final or match.end() < len(buffer) - _OVERLAP // 2:  # else seen whole in the next round
                found.add(_decoded(match.group(1)))
        found &= _KEPT
        if final:
            return found
        carry = buffer[-_OVERLAP:]


def _names_in(data: bytes) -> set[str]:
    return {_decoded(match.group(1)) for match in _OBJECT_NAMES.finditer(data)} & _KEPT


def _compressed_names(fh: BinaryIO) -> set[str]:
    """The significant names inside every object stream, decoded by pypdf (its filters and its
    output limits); an object stream is PDF syntax once decoded, so the raw patterns apply."""
    try:
        reader = PdfReader(fh, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("password")  # object streams of a PDF that needs a password are unreadable
        found: set[str] = set()
        for number in sorted({stream for stream, _index in reader.xref_objStm.values()}):
            stream = reader.get_object(number)
            if not isinstance(stream, StreamObject):
                raise Unreadable(f"object {number} is no stream")
            # pypdf (not strict) hands back what it could decode, even nothing: the objects start
            # after the /First offset, so anything shorter was not read
            data = stream.get_data()
            if len(data) <= int(stream.get("/First", 0)):
                raise Unreadable(f"object stream {number}")
            found |= _names_in(data)
    except Unreadable:
        raise
    except Exception as error:  # pypdf raises many kinds on hostile input, its limits included
        raise Unreadable(type(error).__name__) from error
    return found


def pdf_active_content(path: Path) -> Optional[str]:
    """"javascript" or "launch" when the PDF carries such actions, else None. Raises Unreadable
    when its compressed object streams cannot be read to tell."""
    with path.open("rb") as fh:
        names = _raw_pdf_names(fh)
        for name in sorted(names):
            if name in PDF_ACTIVE:
                return PDF_ACTIVE[name]
        if "/ObjStm" not in names:
            return None
        fh.seek(0)
        return next((PDF_ACTIVE[n] for n in sorted(_compressed_names(fh)) if n in PDF_ACTIVE), None)


# --- legacy Office (OLE2) --------------------------------------------------------------------

def _stream_chunks(ole: Any, fh: BinaryIO, name: str, limit: int) -> Iterator[bytes]:
    """A stream's bytes in runs of contiguous sectors (at most CHUNK each), up to `limit` bytes;
    small streams live in the mini stream and are read whole by olefile."""
    entry = ole.direntries[ole._find(name)]
    if entry.size < ole.minisectorcutoff:
        yield ole.openstream(name).read(limit)
        return
    sector, left, size = entry.isectStart, min(entry.size, limit), ole.sectorsize
    for _ in range(len(ole.fat)):  # a chain never has more links than the FAT has entries
        if left <= 0 or not 0 <= sector < len(ole.fat):
            return
        first, count = sector, 1
        while count * size < min(left, CHUNK) and ole.fat[sector] == sector + 1:
            sector, count = sector + 1, count + 1
        fh.seek((first + 1) * size)
        data = fh.read(min(count * size, left))
        if not data:
            return
        yield data
        left -= len(data)
        sector = ole.fat[sector]


def _ppt_vba(ole: Any, fh: BinaryIO) -> Optional[str]:
    if not ole.exists("PowerPoint Document"):
        return None
    carry = b""
    for chunk in _stream_chunks(ole, fh, "PowerPoint Document", 1 << 62):
        if PPT_VBA_INFO in carry + chunk:
            return "powerpoint-vba"
        carry = chunk[-len(PPT_VBA_INFO):]
    return None


def _xls_macro_sheets(ole: Any, fh: BinaryIO) -> Optional[str]:
    """BIFF BOUNDSHEET records of the workbook globals: byte 5 of each is the sheet type."""
    name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
    if name is None:
        return None
    data, at = b"", 0
    for chunk in _stream_chunks(ole, fh, name, MAX_GLOBALS_BYTES):
        data = data[at:] + chunk
        at = 0
        while at + 4 <= len(data):
            kind, length = struct.unpack_from("<HH", data, at)
            if at + 4 + length > len(data):
                break
            if kind == BIFF_BOUNDSHEET and length >= 6 and data[at + 9] in XLM_SHEET_TYPES:
                return XLM_SHEET_TYPES[data[at + 9]]
            if kind == BIFF_EOF:
                return None
            at += 4 + length
    return None


def office_macros(path: Path) -> Optional[str]:
    """What kind of macro a legacy Office file holds, or None. Raises Unreadable when olefile
    cannot read it as a compound file."""
    try:
        with olefile.OleFileIO(str(path)) as ole, path.open("rb") as fh:
            for entry in ole.listdir(streams=True, storages=True):
                if any(part.lower() in VBA_STORAGES for part in entry):
                    return "vba-project"
            return _xls_macro_sheets(ole, fh) or _ppt_vba(ole, fh)
    except Unreadable:
        raise
    except Exception as error:  # olefile raises OSError and others on damaged files
        raise Unreadable(type(error).__name__) from error
