"""Vietnamese text normalisation: the one place these rules live.

Used to match user-typed subject names to codes (``match_key``) and, later, by the
search analyzer, so index time and query time apply identical rules.

Rules:
- Everything works on NFC text (TECH-NOTES §1.4: NFD breaks ``\\w+`` tokenising, and NFD
  does not decompose đ/Đ). Every function accepts NFD input and gives the NFC result.
- Tone placement: the *new style* (kiểu mới, as in the textbooks and the official subject
  name "Hoá học") is canonical: in a syllable whose vowel cluster is exactly ``oa``, ``oe``
  or ``uy``, the tone mark sits on the second vowel: hóa→hoá, thủy→thuỷ, khỏe→khoẻ,
  òa→oà, úy→uý. With a final consonant both styles already agree (hoàng, huỳnh, toán).
- Folding removes every diacritic (tone and vowel marks) and maps đ/Đ→d/D.
- i/y: a lone final ``y`` after h, k, l, m, s or t (lý/lí, mỹ/mĩ, kỹ/kĩ, sỹ/sĩ, tỷ/tỉ, hy/hi)
  is written ``i``; ``y`` after a vowel (quy, tuy, uy, hay, tây…) is never touched.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["nfc", "normalize_tone_placement", "fold", "canonical_i_y", "match_key"]

# Combining tone marks: huyền, sắc, ngã, hỏi, nặng. (Vowel-quality marks ˆ ˘ ̛ are not tones.)
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VOWELS = frozenset("aăâeêioôơuưy")
_MOVE_TONE_CLUSTERS = frozenset({"oa", "oe", "uy"})
_WORD = re.compile(r"\w+")
_LETTER = r"[^\W\d_]"
_LONE_Y = re.compile(rf"(?<!{_LETTER})([hklmst])(y)(?!{_LETTER})", re.IGNORECASE)
_NON_WORD = re.compile(r"[\W_]+")


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC (precomposed) form."""
    return unicodedata.normalize("NFC", text)


def _split_tone(ch: str) -> tuple[str, str]:
    """Split one NFC character into (character without tone mark, tone mark or "")."""
    decomposed = unicodedata.normalize("NFD", ch)
    tone = "".join(c for c in decomposed if c in _TONES)
    if not tone:
        return ch, ""
    return nfc("".join(c for c in decomposed if c not in _TONES)), tone


def _fix_word(match: re.Match[str]) -> str:
    chars = list(match.group(0))
    parts = [_split_tone(c) for c in chars]
    i, n = 0, len(chars)
    while i < n:
        if parts[i][0].lower() not in _VOWELS:
            i += 1
            continue
        j = i
        while j < n and parts[j][0].lower() in _VOWELS:
            j += 1
        # Vowel cluster is chars[i:j]; only exact two-vowel oa/oe/uy clusters differ by style.
        if j - i == 2 and (parts[i][0] + parts[i + 1][0]).lower() in _MOVE_TONE_CLUSTERS:
            (first, tone), (second, second_tone) = parts[i], parts[i + 1]
            if tone and not second_tone:
                chars[i], chars[i + 1] = first, nfc(second + tone)
        i = j
    return "".join(chars)


def normalize_tone_placement(text: str) -> str:
    """Return NFC ``text`` with old-style tone placement rewritten to the new style.

    "hóa"→"hoá", "thủy"→"thuỷ", "khỏe"→"khoẻ", "òa"→"oà", "úy"→"uý"; case is preserved
    ("HÓA"→"HOÁ"). Text already in the new style, and all other syllables, are unchanged.
    """
    return _WORD.sub(_fix_word, nfc(text))


def fold(text: str) -> str:
    """Return ``text`` (NFC) without any diacritics: "Đường Hoá học" → "Duong Hoa hoc".

    đ/Đ are mapped explicitly because NFD does not decompose them. Case is preserved.
    """
    text = nfc(text).replace("đ", "d").replace("Đ", "D")
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return nfc(stripped)


def canonical_i_y(folded: str) -> str:
    """In folded text, write a syllable-final lone ``y`` after h/k/l/m/s/t as ``i``.

    "ly"→"li", "My"→"Mi", "ky"→"ki", "sy"→"si", "ty"→"ti"; case is preserved. Only whole
    words consisting of that one consonant + y change, so "quy", "tuy", "uy", "hay", "key",
    "thy" and "y" are left alone. Expects folded input (``fold``); "lý" is not changed.
    """
    return _LONE_Y.sub(lambda m: m.group(1) + ("i" if m.group(2) == "y" else "I"), folded)


def match_key(text: str) -> str:
    """Return the lookup key for a user-typed name: lower-case, folded, i/y-canonical.

    Every run of non-alphanumeric characters (spaces, "-", "&", ",", "_", …) becomes one
    space and the ends are stripped: "Hoá học", "Hóa  học", "HOA_HOC" → "hoa hoc";
    "Mỹ thuật" → "mi thuat"; "GDKT&PL" → "gdkt pl".
    """
    key = _NON_WORD.sub(" ", fold(text).lower()).strip()
    return canonical_i_y(key)
