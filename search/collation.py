"""Vietnamese alphabetical order: a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y.

Code-point order puts "Đ" after "Z" and "ă" after "z"; the dictionary order compares the base
letters first (with ă, â, đ, ê, ô, ơ, ư as letters of their own), then, for otherwise equal
words, the tones in the order: none, huyền, hỏi, ngã, sắc, nặng.
"""
from __future__ import annotations

import unicodedata

from search.vietnamese import nfc

_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_TONE_ORDER = {"": "0", "\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
_TONES = frozenset(_TONE_ORDER) - {""}


def _letter_and_tone(ch: str) -> tuple[str, str]:
    decomposed = unicodedata.normalize("NFD", ch)
    tone = "".join(c for c in decomposed if c in _TONES)
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    return base, _TONE_ORDER.get(tone[:1], "0")


def sort_key(text: str) -> str:
    """A string whose code-point order is the Vietnamese order of `text` (case-insensitive).

    Letters map to code points above every digit, in alphabet order; digits keep their own
    order; punctuation is dropped. Tones break ties at the end.
    """
    letters: list[str] = []
    tones: list[str] = []
    for ch in nfc(text).lower():
        base, tone = _letter_and_tone(ch)
        position = _ALPHABET.find(base) if len(base) == 1 else -1
        if position >= 0:
            letters.append(chr(0x4E00 + position))
            tones.append(tone)
        elif ch.isspace():
            letters.append(" ")
        elif ch.isalnum():
            letters.append(ch)
    return "".join(letters).strip() + "\u0001" + "".join(tones)
