"""Recognising Vietnamese text saved in the pre-Unicode encodings schools still produce.

Excel on Vietnamese Windows saves "CSV" as Windows-1258 (base letters plus combining tone marks);
old documents use TCVN3 (ABC, the .Vn* fonts), one byte per accented letter. Both are invalid as
UTF-8, so a file that fails UTF-8 decoding is classified here to tell the user what to do.
"""
from __future__ import annotations

import unicodedata

# TCVN3 (ABC) lower-case letters; upper-case forms used the separate .VnTimeH fonts.
TCVN3_LOWER = dict(zip(
    bytes([0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBB, 0xBC, 0xBD, 0xBE,
           0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCE, 0xCF, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6,
           0xD7, 0xD8, 0xDC, 0xDD, 0xDE, 0xDF, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA,
           0xEB, 0xEC, 0xED, 0xEE, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB,
           0xFC, 0xFD, 0xFE]),
    "ăâêôơưđàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ",
))
_VIETNAMESE_LETTERS = set("àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ")
_VIETNAMESE_LETTERS |= {c.upper() for c in _VIETNAMESE_LETTERS}

WINDOWS_1258 = "Windows-1258"
TCVN3 = "TCVN3"


def decode_tcvn3(data: bytes) -> str:
    """TCVN3 bytes to Unicode (NFC). Bytes outside the letter table are read as Latin-1."""
    return "".join(TCVN3_LOWER.get(b, chr(b)) for b in data)


_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def _toned(char: str) -> bool:
    return any(mark in _TONE_MARKS for mark in unicodedata.normalize("NFD", char))


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that are Vietnamese letters, less words with two tone marks.

    A Vietnamese syllable carries at most one tone mark, so a decoding that yields several in one
    word is the wrong one.
    """
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return 0.0
    letters = sum(c in _VIETNAMESE_LETTERS for c in non_ascii)
    implausible = sum(sum(map(_toned, word)) > 1 for word in text.split())
    return (letters - 2 * implausible) / len(non_ascii)


def guess_legacy_encoding(data: bytes) -> str | None:
    """Windows-1258, TCVN3, or None when the bytes look like neither.

    Both decodings are tried; the one whose text looks more like Vietnamese wins.
    """
    try:
        as_1258 = unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError:
        as_1258 = ""
    score_1258 = _plausibility(as_1258)
    score_tcvn3 = _plausibility(decode_tcvn3(data))
    if max(score_1258, score_tcvn3) < 0.5:
        return None
    return WINDOWS_1258 if score_1258 >= score_tcvn3 else TCVN3
