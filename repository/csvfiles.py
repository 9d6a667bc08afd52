"""Reading the CSV files people export from Excel, and writing CSV they open in Excel.

Rules: UTF-8 with or without BOM; UTF-16 with BOM (Excel's "Unicode text"); commas, semicolons
or tabs between columns (whichever the header line uses most); a legacy Windows-1258/TCVN3 file is
recognised and refused with advice. Line numbers are as Excel shows them (the header is line 1).
Cells written out are neutralised against formula injection.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Iterator

from flask_babel import lazy_gettext as _l

from repository.errors import ImportRejected
from repository.legacy_text import guess_legacy_encoding
from repository.models import User

MAX_ROWS = 50_000


def decode_csv(data: bytes) -> str:
    """The file's text, or ImportRejected saying which encoding it seems to use instead."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:  # a truncated or damaged "Unicode text" file
            guess = None
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            guess = guess_legacy_encoding(data)
    if guess:
        message = _l("Tệp không phải UTF-8: có vẻ được lưu bằng bảng mã %(enc)s. Hãy mở tệp bằng Excel "
                     "và lưu lại với kiểu \"CSV UTF-8 (Comma delimited)\".", enc=guess)
    else:
        message = _l("Tệp không phải văn bản UTF-8. Hãy lưu lại với kiểu \"CSV UTF-8 (Comma delimited)\".")
    raise ImportRejected(message, [(0, str(message))])


def read_rows(data: bytes, required: tuple[str, ...], optional: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) with lower-cased column names; checks the header first."""
    text = decode_csv(data)
    if not text.strip():
        raise ImportRejected(_l("Tệp rỗng."), [(0, str(_l("Tệp rỗng.")))])
    first_line = text.splitlines()[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
        missing = [c for c in required if c not in header]
        unknown = [c for c in header if c and c not in required + optional]
        if missing or unknown:
            message = _l("Dòng tiêu đề sai. Thiếu cột: %(missing)s. Cột không dùng được: %(unknown)s.",
                         missing=", ".join(missing) or "-", unknown=", ".join(unknown) or "-")
            raise ImportRejected(message, [(1, str(message))])
        for number, values in enumerate(reader, start=2):
            if number > MAX_ROWS + 1:
                message = _l("Tệp có quá %(n)d dòng; hãy chia nhỏ.", n=MAX_ROWS)
                raise ImportRejected(message, [(number, str(message))])
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield number, {"__error__": str(_l("Số cột (%(got)d) khác dòng tiêu đề (%(want)d).",
                                                   got=len(values), want=len(header)))}
                continue
            yield number, dict(zip(header, (v.strip() for v in values)))
    except csv.Error as error:
        message = _l("Tệp CSV bị lỗi định dạng: %(reason)s", reason=str(error))
        raise ImportRejected(message, [(0, str(message))]) from None


def split_list(value: str) -> list[str]:
    """A multi-valued cell: items separated by '|', ';' or ','."""
    return [item.strip() for item in re.split(r"[|;,]", value or "") if item.strip()]


def links_csv(links: list[tuple[User, str]]) -> str:
    """The CSV a school admin hands out: one activation link per new account."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "full_name", "activation_link"])
    for user, link in links:
        writer.writerow([spreadsheet_safe(user.email), spreadsheet_safe(user.full_name), link])
    return "\ufeff" + out.getvalue()  # BOM so Excel opens it as UTF-8


def spreadsheet_safe(value: str) -> str:
    """Neutralise a cell Excel would run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
