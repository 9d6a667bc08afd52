"""Text-extraction worker: ``python -m repository.processing._extract_child``.

Reads one JSON job on stdin ({"src", "kind", "extension", "max_chars", "max_pages", "max_cells",
"max_zip_bytes", "engine"}), writes one JSON object on stdout:
{"ok": true, "text": ..., "flags": [...]} or {"ok": false, "code": ..., "reason": ...}.
Runs under the limits set by ``_sandbox``; imports nothing from Flask.
"""
from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Optional

from repository.legacy_text import TCVN3, WINDOWS_1258, guess_legacy_encoding
from repository.processing import textnorm
from repository.processing.textnorm import font_hint

Segment = tuple[str, Optional[str]]

PDF_EXTENSIONS = {"pdf"}
DOCX_EXTENSIONS = {"docx", "dotx"}
PPTX_EXTENSIONS = {"pptx", "ppsx", "potx"}
XLSX_EXTENSIONS = {"xlsx", "xlsm", "xltx"}
ODF_EXTENSIONS = {"odt", "odp", "ods", "ott", "otp", "ots"}
TEXT_EXTENSIONS = {"txt", "csv", "tsv", "md"}
ZIP_EXTENSIONS = DOCX_EXTENSIONS | PPTX_EXTENSIONS | XLSX_EXTENSIONS | ODF_EXTENSIONS
MAX_ZIP_MEMBERS = 10_000


class JobFailed(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Budget:
    """Collects text pieces, grouped by font hint, until a character budget is spent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._groups: list[tuple[Optional[str], list[str]]] = []
        self.truncated = False

    @property
    def full(self) -> bool:
        return self.used >= self.limit

    @property
    def segments(self) -> list[Segment]:
        return [("".join(parts), hint) for hint, parts in self._groups]

    def clear(self) -> None:
        self._groups.clear()
        self.used = 0
        self.truncated = False

    def add(self, text: str, hint: Optional[str] = None) -> None:
        if not text:
            return
        if self.full:
            self.truncated = True
            return
        room = self.limit - self.used
        if len(text) > room:
            text, self.truncated = text[:room], True
        self.used += len(text)
        if self._groups and self._groups[-1][0] == hint:
            self._groups[-1][1].append(text)
        else:
            self._groups.append((hint, [text]))


# ---------------------------------------------------------------- zip safety and legacy fonts

def check_zip(path: Path, max_bytes: int) -> None:
    """Refuse archives whose declared uncompressed size or member count is too large.

    Python's zipfile stops each member at its declared size (and then fails the CRC), so the
    declared sizes also bound what the parsers below can inflate.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise JobFailed("invalid", f"Tệp không đúng định dạng / not a valid archive ({exc})") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise JobFailed("too_large", f"Tệp nén có quá nhiều thành phần / archive has {len(infos)} members")
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise JobFailed("too_large", "Tệp quá lớn khi giải nén / archive expands to "
                        f"{total // (1024 * 1024)} MB (limit {max_bytes // (1024 * 1024)} MB)")


_FONT_ATTR = re.compile(
    rb'(?:typeface|w:ascii|w:hAnsi|w:name|style:name|style:font-name|svg:font-family|name val|rFont val)'
    rb'\s*=\s*["\']\s*([^"\']{1,64})["\']')
_FONT_PARTS = re.compile(r"(fontTable|styles|theme\d*|slideMaster\d*|content|font)\.xml$", re.I)


def legacy_fonts_in_zip(path: Path, limit: int = 20 * 1024 * 1024) -> set[str]:
    """Legacy-encoding hints from font declarations in the package's font/style/theme parts."""
    hints: set[str] = set()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.file_size > limit or not _FONT_PARTS.search(info.filename):
                continue
            data = zf.read(info)
            for match in _FONT_ATTR.finditer(data):
                hint = font_hint(match.group(1).decode("utf-8", "replace"))
                if hint:
                    hints.add(hint)
    return hints


# ---------------------------------------------------------------- PDF

def extract_pdf(path: Path, budget: Budget, max_pages: int, engine: str) -> list[str]:
    flags: list[str] = []
    if engine != "pypdf":
        try:
            return _pdf_pdfium(path, budget, max_pages)
        except JobFailed:
            raise
        except Exception:  # noqa: BLE001 - pdfium refused the file: try pypdf
            budget.clear()
    return flags + _pdf_pypdf(path, budget, max_pages)


def _pdf_pdfium(path: Path, budget: Budget, max_pages: int) -> list[str]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise JobFailed("encrypted", "Tệp PDF có mật khẩu / password-protected PDF") from None
        raise
    flags = []
    try:
        count = len(pdf)
        if count > max_pages:
            flags.append(textnorm.FLAG_TRUNCATED)
        for index in range(min(count, max_pages)):
            if budget.full:
                break
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    budget.add(textpage.get_text_range() + "\n")
                finally:
                    textpage.close()
            finally:
                page.close()
    finally:
        pdf.close()
    return flags


def _pdf_pypdf(path: Path, budget: Budget, max_pages: int) -> list[str]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise JobFailed("encrypted", "Tệp PDF có mật khẩu / password-protected PDF")
        pages = reader.pages
        count = len(pages)
    except JobFailed:
        raise
    except Exception as exc:  # noqa: BLE001
        raise JobFailed("invalid", f"Không đọc được tệp PDF / cannot read PDF ({type(exc).__name__})") from None
    flags = [textnorm.FLAG_TRUNCATED] if count > max_pages else []
    for index in range(min(count, max_pages)):
        if budget.full:
            break
        try:
            budget.add((pages[index].extract_text() or "") + "\n")
        except Exception:  # noqa: BLE001 - one bad page does not lose the others
            continue
    return flags


# ---------------------------------------------------------------- DOCX

def extract_docx(path: Path, budget: Budget) -> None:
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(str(path))
    fonts = _DocxFonts(document, qn)
    roots = [document.element.body]
    seen = set()
    for section in document.sections:
        for part in (section.header, section.first_page_header, section.even_page_header,
                     section.footer, section.first_page_footer, section.even_page_footer):
            try:
                if part.is_linked_to_previous:
                    continue
                element = part._element  # noqa: SLF001 - python-docx has no public root accessor
            except Exception:  # noqa: BLE001
                continue
            if id(element) not in seen:
                seen.add(id(element))
                roots.append(element)

    W_P, W_R, W_T = qn("w:p"), qn("w:r"), qn("w:t")
    W_TAB, W_BR, W_CR, W_HYPH = qn("w:tab"), qn("w:br"), qn("w:cr"), qn("w:noBreakHyphen")
    MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
    for root in roots:
        for p in root.iter(W_P):
            if budget.full:
                return
            if any(a.tag == MC_FALLBACK for a in p.iterancestors()):
                continue  # the VML copy of a text box already read from mc:Choice
            pstyle = fonts.paragraph_style(p)
            for r in p.iter(W_R):
                if next(r.iterancestors(W_P), None) is not p:
                    continue  # belongs to a paragraph nested in a text box: read on its own
                parts = []
                for child in r:
                    if child.tag == W_T:
                        parts.append(child.text or "")
                    elif child.tag == W_TAB:
                        parts.append("\t")
                    elif child.tag in (W_BR, W_CR):
                        parts.append("\n")
                    elif child.tag == W_HYPH:
                        parts.append("-")
                if parts:
                    budget.add("".join(parts), font_hint(fonts.run_font(r, pstyle)))
            budget.add("\n", None)


class _DocxFonts:
    """Effective font of a run: direct formatting, character style, paragraph style, defaults."""

    def __init__(self, document, qn) -> None:
        self.qn = qn
        self.styles: dict[str, tuple[Optional[str], Optional[str]]] = {}
        self.default_paragraph: Optional[str] = None
        self.default_font: Optional[str] = None
        root = document.styles.element
        for style in root.iter(qn("w:style")):
            sid = style.get(qn("w:styleId"))
            based = style.find(qn("w:basedOn"))
            self.styles[sid] = (self._fonts_of(style.find(qn("w:rPr"))),
                                based.get(qn("w:val")) if based is not None else None)
            if style.get(qn("w:type")) == "paragraph" and style.get(qn("w:default")) in ("1", "true"):
                self.default_paragraph = sid
        defaults = root.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
        self.default_font = self._fonts_of(defaults)

    def _fonts_of(self, rpr) -> Optional[str]:
        if rpr is None:
            return None
        rfonts = rpr.find(self.qn("w:rFonts"))
        if rfonts is None:
            return None
        # Bytes 0x80–0xFF of a legacy font are set in the hAnsi font; plain ASCII in ascii.
        return rfonts.get(self.qn("w:hAnsi")) or rfonts.get(self.qn("w:ascii"))

    def _style_font(self, sid: Optional[str]) -> Optional[str]:
        for _ in range(20):  # basedOn chains are short; guard against loops
            if sid is None or sid not in self.styles:
                return None
            font, sid_next = self.styles[sid]
            if font:
                return font
            sid = sid_next
        return None

    def paragraph_style(self, p) -> Optional[str]:
        ppr = p.find(self.qn("w:pPr"))
        pstyle = ppr.find(self.qn("w:pStyle")) if ppr is not None else None
        return pstyle.get(self.qn("w:val")) if pstyle is not None else self.default_paragraph

    def run_font(self, r, pstyle: Optional[str]) -> Optional[str]:
        rpr = r.find(self.qn("w:rPr"))
        direct = self._fonts_of(rpr)
        if direct:
            return direct
        if rpr is not None:
            rstyle = rpr.find(self.qn("w:rStyle"))
            if rstyle is not None:
                font = self._style_font(rstyle.get(self.qn("w:val")))
                if font:
                    return font
        return self._style_font(pstyle) or self.default_font


# ---------------------------------------------------------------- PPTX

def extract_pptx(path: Path, budget: Budget) -> None:
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE
    from pptx.oxml.ns import qn

    A_R, A_FLD, A_BR, A_T = qn("a:r"), qn("a:fld"), qn("a:br"), qn("a:t")
    A_RPR, A_LATIN = qn("a:rPr"), qn("a:latin")

    def text_frame(frame) -> None:
        for paragraph in frame.paragraphs:
            for child in paragraph._p:  # noqa: SLF001 - runs, fields and breaks in order
                if child.tag in (A_R, A_FLD):
                    rpr = child.find(A_RPR)
                    latin = rpr.find(A_LATIN) if rpr is not None else None
                    face = latin.get("typeface") if latin is not None else None
                    budget.add(child.findtext(A_T) or "", font_hint(face))
                elif child.tag == A_BR:
                    budget.add("\n")
            budget.add("\n")

    def shapes(collection, depth: int = 0) -> None:
        for shape in collection:
            if budget.full:
                return
            if shape.shape_type == MSO_SHAPE_TYPE.GROUP and depth < 50:
                shapes(shape.shapes, depth + 1)
                continue
            if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                text_frame(shape.text_frame)
            if getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    for cell in row.cells:
                        if not cell.is_spanned:
                            text_frame(cell.text_frame)

    presentation = Presentation(str(path))
    for slide in presentation.slides:
        if budget.full:
            return
        shapes(slide.shapes)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None:
                text_frame(notes)
        budget.add("\n")


# ---------------------------------------------------------------- XLSX

def extract_xlsx(path: Path, budget: Budget, max_cells: int) -> list[str]:
    from openpyxl import load_workbook

    workbook = load_workbook(str(path), read_only=True, data_only=True)
    cells = 0
    try:
        for sheet in workbook.worksheets:
            budget.add(f"{sheet.title}\n")
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
                if cells > max_cells or budget.full:
                    return [textnorm.FLAG_TRUNCATED]
                values = [v.strip() for v in row if isinstance(v, str) and v.strip()]
                if values:
                    budget.add("\t".join(values) + "\n")
    finally:
        workbook.close()
    return []


# ---------------------------------------------------------------- ODT / ODP / ODS

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_BLOCKS = {f"{{{_TEXT_NS}}}p", f"{{{_TEXT_NS}}}h"}
_DC_NS = "http://purl.org/dc/elements/1.1/"
_SKIP = {f"{{{_TEXT_NS}}}tracked-changes", f"{{{_TEXT_NS}}}note-citation", f"{{{_TEXT_NS}}}sequence-decls",
         f"{{{_TEXT_NS}}}variable-decls", f"{{{_DC_NS}}}creator", f"{{{_DC_NS}}}date"}


def extract_odf(path: Path, budget: Budget) -> None:
    """Text nodes of content.xml, streamed with defusedxml (no DTDs, no entity expansion).

    Each element's text is composed bottom-up at its end tag (own text, children, their tails);
    outermost paragraphs and headings are handed to the budget and dropped from the tree, so
    memory stays small however long the document is.
    """
    from defusedxml.ElementTree import iterparse

    space, tab, line_break = (f"{{{_TEXT_NS}}}{n}" for n in ("s", "tab", "line-break"))
    stack: list = []
    blocks = 0
    skipping = 0
    with zipfile.ZipFile(path) as zf, zf.open("content.xml") as stream:
        for event, elem in iterparse(stream, events=("start", "end"),
                                     forbid_dtd=True, forbid_entities=True, forbid_external=True):
            tag = elem.tag
            if event == "start":
                stack.append(elem)
                if tag in _SKIP:
                    skipping += 1
                elif tag in _BLOCKS:
                    blocks += 1
                continue
            stack.pop()
            if tag in _SKIP:
                skipping -= 1
                own = ""
            elif tag == space:
                count = elem.get(f"{{{_TEXT_NS}}}c", "1")
                own = " " * min(int(count) if count.isdigit() else 1, 100)
            elif tag == tab:
                own = "\t"
            elif tag == line_break:
                own = "\n"
            else:
                own = (elem.text or "") + "".join((child.text or "") + (child.tail or "") for child in elem)
            tail = elem.tail  # already parsed if the parser read past this end tag
            elem.clear()
            elem.text, elem.tail = own, tail
            if tag in _BLOCKS:
                blocks -= 1
                if blocks == 0:
                    if not skipping:
                        budget.add(own + "\n")
                    if stack:
                        stack[-1].remove(elem)
                    if budget.full:
                        return


# ---------------------------------------------------------------- plain text

def extract_plain(path: Path, budget: Budget, max_chars: int) -> list[str]:
    limit = max_chars * 4 + 4
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    truncated = len(data) > limit
    data = data[:limit]
    flags = [textnorm.FLAG_TRUNCATED] if truncated else []
    text = None
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            text = data[len(bom):].decode(codec, "replace")
            break
    if text is None:
        for trim in range(4 if truncated else 1):  # a cut may split the last UTF-8 character
            try:
                text = data[:len(data) - trim].decode("utf-8")
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        legacy = guess_legacy_encoding(data)
        latin = data.decode("latin-1")
        # VNI bytes also decode to plausible letters through the TCVN3 table; TCVN3's own
        # signature (letters in 0xA1–0xBE) tells them apart.
        vni = textnorm.looks_vni(latin) and not textnorm.looks_tcvn3(latin)
        if legacy == WINDOWS_1258:
            text = data.decode("cp1258", "replace")
            flags.append(textnorm.FLAG_CP1258_CONVERTED)
        elif legacy == TCVN3 and not vni:
            text = textnorm.tcvn3_to_unicode(latin)
            flags.append(textnorm.FLAG_TCVN3_CONVERTED)
        else:
            text = data.decode("cp1252", "replace")
            if not vni and not textnorm.looks_tcvn3(text):
                flags.append(textnorm.FLAG_LEGACY_SUSPECTED)
    budget.add(text)
    return flags


# ---------------------------------------------------------------- dispatch

def run_job(job: dict) -> dict:
    src = Path(job["src"])
    extension = (job.get("extension") or "").lower().lstrip(".")
    kind = (job.get("kind") or "").lower()
    max_chars = int(job["max_chars"])
    budget = Budget(max_chars * 2 + 10_000)  # whitespace collapsing shrinks the text
    flags: list[str] = []
    doc_fonts: set[str] = set()

    if extension in ZIP_EXTENSIONS:
        check_zip(src, int(job["max_zip_bytes"]))
        doc_fonts = legacy_fonts_in_zip(src)
    try:
        if extension in PDF_EXTENSIONS or (not extension and kind == "pdf"):
            flags += extract_pdf(src, budget, int(job["max_pages"]), job.get("engine") or "pdfium")
        elif extension in DOCX_EXTENSIONS:
            extract_docx(src, budget)
        elif extension in PPTX_EXTENSIONS:
            extract_pptx(src, budget)
        elif extension in XLSX_EXTENSIONS:
            flags += extract_xlsx(src, budget, int(job["max_cells"]))
        elif extension in ODF_EXTENSIONS:
            extract_odf(src, budget)
        elif extension in TEXT_EXTENSIONS or kind == "text":
            flags += extract_plain(src, budget, max_chars)
        else:
            flags.append(textnorm.FLAG_UNSUPPORTED)
    except (JobFailed, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - any parser error is the file's fault
        raise JobFailed("invalid", f"Không đọc được tệp / cannot parse file ({type(exc).__name__}: "
                        f"{str(exc)[:160]})") from None
    if budget.truncated:
        flags.append(textnorm.FLAG_TRUNCATED)
    text, flags = textnorm.finalize(budget.segments, max_chars=max_chars, doc_fonts=doc_fonts, flags=flags)
    if textnorm.FLAG_UNSUPPORTED in flags and textnorm.FLAG_NO_TEXT in flags:
        flags.remove(textnorm.FLAG_NO_TEXT)
    return {"ok": True, "text": text, "flags": flags}


def main() -> int:
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    try:
        result = run_job(job)
    except JobFailed as exc:
        result = {"ok": False, "code": exc.code, "reason": exc.reason}
    except MemoryError:
        result = {"ok": False, "code": "memory", "reason": "Vượt giới hạn bộ nhớ / memory limit exceeded"}
    sys.stdout.buffer.write(json.dumps(result, ensure_ascii=False).encode("utf-8", "replace"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
