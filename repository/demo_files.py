"""Small real files for the demo repository, made by code (no committed binaries): lesson plans
as DOCX, slide decks as PPTX, worksheets as XLSX, pictures as PNG and handouts as PDF."""
from __future__ import annotations

import io
import zlib
from pathlib import Path

from docx import Document
from openpyxl import Workbook
from PIL import Image, ImageDraw
from pptx import Presentation
from pptx.util import Inches, Pt

from search.vietnamese import fold


def docx_file(path: Path, title: str, paragraphs: list[str]) -> Path:
    document = Document()
    document.add_heading(title, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Hoạt động", "Thời gian"
    table.cell(1, 0).text, table.cell(1, 1).text = "Khởi động", "5 phút"
    document.save(path)
    return path


def pptx_file(path: Path, title: str, bullets: list[str]) -> Path:
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = title
    slide.placeholders[1].text = "Kho học liệu số dùng chung"
    for text in bullets:
        page = deck.slides.add_slide(deck.slide_layouts[5])
        page.shapes.title.text = title
        box = page.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(2))
        box.text_frame.text = text
        box.text_frame.paragraphs[0].runs[0].font.size = Pt(28)
    deck.save(path)
    return path


def xlsx_file(path: Path, title: str, rows: list[tuple[str, int]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Phieu hoc tap"
    sheet.append([title])
    sheet.append(["Câu hỏi", "Điểm"])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def png_file(path: Path, title: str, colour: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", (800, 500), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 760, 460), outline=(255, 255, 255), width=6)
    draw.text((70, 220), fold(title)[:60], fill=(255, 255, 255))
    image.save(path, format="PNG")
    return path


def pdf_file(path: Path, title: str, lines: list[str]) -> Path:
    """A one-page PDF with Helvetica text (ASCII: the base-14 fonts have no Vietnamese glyphs)."""
    text = [fold(title)] + [fold(line) for line in lines]
    ops = ["BT", "/F1 20 Tf", "60 780 Td"]
    for i, line in enumerate(text):
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops += [f"({safe[:80]}) Tj", "0 -28 Td" if i == 0 else "0 -20 Td", "/F1 12 Tf"]
    ops.append("ET")
    stream = zlib.compress("\n".join(ops).encode("latin-1"))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    path.write_bytes(out.getvalue())
    return path
