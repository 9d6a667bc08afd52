"""Cleaning extracted text: legacy Vietnamese encodings (TCVN3/VNI), NFC, whitespace, length cap.

Pure functions with no third-party imports, used by the extraction worker and testable directly.

Legacy encodings (TECH-NOTES §1.4). Text typed in a TCVN3 (ABC) font such as ``.VnTime`` is stored
in DOCX/PPTX/PDF as the Windows-1252/Latin-1 reading of the TCVN3 bytes ("Hµ Néi" for "Hà Nội").
- Text known to be in a ``.Vn*`` font (a DOCX/PPTX run's font) is converted when it holds no
  letters beyond Latin-1, i.e. when the byte mapping is unambiguous; ``.Vn*H`` fonts hold capitals.
- Other text is converted when it *looks* like TCVN3 mojibake (many characters from the TCVN3
  letter range read as Latin-1, confirmed by ``guess_legacy_encoding``) and holds no genuine
  Unicode Vietnamese letters; with such letters mixed in it is only flagged.
- VNI (``VNI-Times``: "Vieät Nam") is only flagged: its two-character letters are not converted.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Optional

from repository.legacy_text import (
    TCVN3,
    TCVN3_LOWER,
    decode_tcvn3,
    guess_legacy_encoding,
)
from search.vietnamese import nfc

__all__ = [
    "FLAG_TCVN3_CONVERTED", "FLAG_CP1258_CONVERTED", "FLAG_LEGACY_SUSPECTED", "FLAG_VNI_SUSPECTED",
    "FLAG_TRUNCATED", "FLAG_NO_TEXT", "FLAG_UNSUPPORTED",
    "font_hint", "tcvn3_to_unicode", "looks_tcvn3", "looks_vni", "clean_whitespace", "cap", "finalize",
]

FLAG_TCVN3_CONVERTED = "legacy_tcvn3_converted"
FLAG_CP1258_CONVERTED = "legacy_cp1258_converted"
FLAG_LEGACY_SUSPECTED = "legacy_encoding_suspected"
FLAG_VNI_SUSPECTED = "legacy_vni_suspected"
FLAG_TRUNCATED = "truncated"
FLAG_NO_TEXT = "no_text"
FLAG_UNSUPPORTED = "unsupported_format"

# Hints attached to a piece of text by the font it is set in.
HINT_TCVN3 = "tcvn3"
HINT_TCVN3_UPPER = "tcvn3_upper"
HINT_VNI = "vni"

# TCVN3 capitals with their own code points (the rest of the capitals need a .Vn*H font).
_TCVN3_UPPER = {0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ"}
# TCVN3 letters in 0xA1–0xBE read as Latin-1 are symbols (§ ¨ © ª « ¬ soft-hyphen ® µ ¶ · ¸ ¹ » ¼ ½ ¾)
# that Unicode Vietnamese text almost never contains: the strongest mojibake signal.
_TCVN3_STRONG = frozenset(chr(b) for b in range(0xA1, 0xBF) if b in TCVN3_LOWER or b in _TCVN3_UPPER)
# VNI writes a letter as base + mark byte ("Vieät" = Việt, "tröôøng" = trường, "ñaát" = đất).
# Only pairs that French, German or Nordic words do not produce count ("naïve", "Noël", "für").
_VNI_PAIR = re.compile(
    r"öô|ÖÔ|[aeiouyâêôöAEIOUYÂÊÔÖ][øûäåØÛÄÅ]|[ôöuyÔÖUY][ùïõÙÏÕ]|(?<![^\W\d_])[ñÑ][aeiouyöôAEIOUYÖÔ]")
_WORD = re.compile(r"[^\W\d_]+")
_SAMPLE = 200_000


def font_hint(font_name: Optional[str]) -> Optional[str]:
    """The legacy encoding a font name implies: ".VnTime" → tcvn3, ".VnTimeH" → tcvn3_upper,
    "VNI-Times" → vni, anything else → None."""
    if not font_name:
        return None
    name = font_name.strip()
    if name.lower().startswith(".vn"):
        return HINT_TCVN3_UPPER if name.endswith("H") else HINT_TCVN3
    if re.match(r"(?i)vni[- ]", name):
        return HINT_VNI
    return None


def _is_unicode_letter(ch: str) -> bool:
    """A letter or combining mark beyond Latin-1: the text is real Unicode, not TCVN3 bytes."""
    return ord(ch) > 0xFF and unicodedata.category(ch)[0] in "LM"


def convertible(text: str) -> bool:
    """True when every letter is within Latin-1, so the TCVN3 byte mapping is unambiguous."""
    return not any(_is_unicode_letter(ch) for ch in text)


def tcvn3_to_unicode(text: str, *, upper: bool = False) -> str:
    """Text that holds TCVN3 bytes read as Latin-1 → Unicode (NFC), via ``decode_tcvn3``.

    Characters beyond Latin-1 (typographic quotes, dashes…) are kept as they are.
    """
    out = []
    for run in re.split(r"([^\x00-\xff]+)", text):
        if not run or ord(run[0]) > 0xFF:
            out.append(run)
            continue
        decoded = decode_tcvn3(run.encode("latin-1"))
        out.append("".join(_TCVN3_UPPER.get(ord(c), c) if ord(c) <= 0xFF else c for c in decoded))
    result = nfc("".join(out))
    return result.upper() if upper else result


def looks_tcvn3(text: str, *, font_hinted: bool = False) -> bool:
    """Whether ``text`` looks like TCVN3 bytes read as Latin-1/Windows-1252."""
    sample = text[:_SAMPLE]
    latin = "".join(c for c in sample if 0x7F < ord(c) <= 0xFF)
    non_ascii = sum(1 for c in sample if ord(c) > 0x7F)
    strong = sum(1 for c in latin if c in _TCVN3_STRONG)
    if strong < 2 or not non_ascii:
        return False
    if strong / non_ascii < (0.05 if font_hinted else 0.15):
        return False
    return guess_legacy_encoding(latin.encode("latin-1")) == TCVN3


def looks_vni(text: str) -> bool:
    """Whether ``text`` looks like VNI ("Vieät Nam", "ñöôïc"): many words with VNI mark pairs."""
    sample = text[:_SAMPLE]
    words = _WORD.findall(sample)
    if not words:
        return False
    marked = sum(1 for w in words if _VNI_PAIR.search(w))
    return marked >= 2 and marked / len(words) >= 0.15


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def clean_whitespace(text: str) -> str:
    """Drop control characters (NUL breaks PostgreSQL text), collapse runs of spaces/tabs to one
    space and blank lines to one line break; strip the ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()


def cap(text: str, max_chars: int) -> tuple[str, bool]:
    """``text`` cut to at most ``max_chars``, preferably at a space; (text, was_cut)."""
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    space = max(cut.rfind(" ", max_chars - 200), cut.rfind("\n", max_chars - 200))
    if space > 0:
        cut = cut[:space]
    return cut.rstrip(), True


def finalize(segments: Iterable[tuple[str, Optional[str]]], *, max_chars: int,
             doc_fonts: Iterable[str] = (), flags: Iterable[str] = ()) -> tuple[str, list[str]]:
    """Join extracted ``(text, font_hint)`` pieces into the stored text and its flags.

    ``doc_fonts`` are font hints found anywhere in the document (styles, theme, font table): they
    make the mojibake test more willing. ``flags`` are flags the extractor already raised.
    """
    out_flags = list(flags)
    pieces: list[list] = []  # [text, hint]
    for text, hint in segments:
        text = nfc(text)
        if hint in (HINT_TCVN3, HINT_TCVN3_UPPER) and re.search(r"[\x80-\xff]", text) and convertible(text):
            text = tcvn3_to_unicode(text, upper=hint == HINT_TCVN3_UPPER)
            out_flags.append(FLAG_TCVN3_CONVERTED)
            hint = "done"
        elif hint == HINT_VNI and re.search(r"[\x80-\xff]", text):
            out_flags.append(FLAG_VNI_SUSPECTED)
        pieces.append([text, hint])

    plain = "".join(t for t, h in pieces if h != "done")
    doc_hints = set(doc_fonts)
    if looks_tcvn3(plain, font_hinted=bool(doc_hints & {HINT_TCVN3, HINT_TCVN3_UPPER})):
        if convertible(plain):
            for piece in pieces:
                if piece[1] != "done":
                    piece[0] = tcvn3_to_unicode(piece[0])
            out_flags.append(FLAG_TCVN3_CONVERTED)
        else:
            out_flags.append(FLAG_LEGACY_SUSPECTED)
    elif looks_vni(plain):
        out_flags.append(FLAG_VNI_SUSPECTED)

    text = clean_whitespace(nfc("".join(t for t, _ in pieces)))
    text, was_cut = cap(text, max_chars)
    if was_cut:
        out_flags.append(FLAG_TRUNCATED)
    if not text:
        out_flags.append(FLAG_NO_TEXT)
    return text, list(dict.fromkeys(out_flags))
