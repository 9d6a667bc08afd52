"""The one Vietnamese analyzer, used when indexing and when reading a query.

Each word of NFC text gives:
- its *folded key* (no diacritics, lower case, i/y canonical): "Địa lý" → ``dia``, ``li``;
  every match goes through these, so typing without diacritics finds everything;
- its *accented key* when it differs (tone placement normalised, lower case, lone y→i):
  "Hóa" and "Hoá" → ``hoá``, "lý" → ``lí``; for a query typed with diacritics these are ranking
  signals, so exact-diacritic matches rank first (search/engine.py `signals`);
- the *bigram* of its folded key with the previous word's (``phuong_trinh``), so a query's
  adjacent words rank contiguous matches first without positional phrase queries (TECH-NOTES
  §1.4 and §1.6: no positions keeps the index small and queries fast).
All three kinds live in one field because one field is about twice as fast to query as three.
Accented keys and bigrams are made for the title and topic only (see BODY_MARK).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, Optional

from whoosh.analysis import Filter, RegexTokenizer

from search.vietnamese import canonical_i_y, fold, nfc, normalize_tone_placement

WORD = re.compile(r"\w+")
# Separates the title part of the combined text from the body (description and extracted text):
# after it, words give their folded key only (no accented key, no bigram). That cut the postings
# per document by two thirds and tripled the build rate, with nDCG@10 unchanged on the judged set
# (0.982 -> 0.985), because the title carries the ranking signals (bench/search_bench.py).
BODY_MARK = "\x1f"
_TOKENS = re.compile(r"\w+|\x1f")
MAX_WORD = 40
BIGRAM_JOINER = "_"
# A lone y after h/k/l/m/s/t with a tone mark is the same syllable as i with that mark.
_Y_TO_I = str.maketrans({"y": "i", "ý": "í", "ỳ": "ì", "ỷ": "ỉ", "ỹ": "ĩ", "ỵ": "ị"})
_LONE_Y_ACCENTED = re.compile(r"^[hklmst][yýỳỷỹỵ]$")


# Keys are cached per distinct word: a corpus repeats a small vocabulary millions of times, and
# the normalisation is pure Python per character.
@lru_cache(maxsize=262_144)
def folded_key(word: str) -> str:
    """The diacritic-free key of one word: "Đường" → "duong", "Lý" → "li"."""
    return canonical_i_y(fold(word).lower())


@lru_cache(maxsize=262_144)
def accented_key(word: str) -> str:
    """The diacritic-keeping key of one word: new-style tone placement, lower case, lone y→i."""
    key = normalize_tone_placement(nfc(word)).lower()
    return key.translate(_Y_TO_I) if _LONE_Y_ACCENTED.match(key) else key


@dataclass(frozen=True)
class QueryWord:
    """One word of a query: its folded key, and its accented key if typed with diacritics."""

    folded: str
    accented: Optional[str]


def query_words(text: str, limit: int = 10) -> list[QueryWord]:
    """The words of a user's query, at most `limit`, duplicates dropped, junk ignored.

    Anything that is not a word character (quotes, operators, emoji, control characters) only
    separates words: there is no query syntax to get wrong.
    """
    words: list[QueryWord] = []
    for match in WORD.finditer(nfc(text)):
        raw = match.group(0)
        if len(raw) > MAX_WORD:
            continue
        folded = folded_key(raw)
        accented = accented_key(raw)
        word = QueryWord(folded, accented if accented != folded else None)
        if word not in words:
            words.append(word)
        if len(words) >= limit:
            break
    return words


class VietnameseFilter(Filter):
    """Turns word tokens into folded keys, accented keys and folded bigrams (see module doc)."""

    def __call__(self, tokens: Iterator) -> Iterator:
        previous: Optional[str] = None
        body = False
        for token in tokens:
            raw = token.text
            if raw == BODY_MARK:
                body = True
                continue
            if len(raw) > MAX_WORD:
                previous = None
                continue
            folded = folded_key(raw)
            token.text = folded
            yield token
            if body:
                continue
            accented = accented_key(raw)
            if accented != folded:
                token.text = accented
                yield token
            if previous is not None:
                token.text = previous + BIGRAM_JOINER + folded
                yield token
            previous = folded


def vietnamese_analyzer() -> object:
    """Whoosh analyzer for the combined text field."""
    return RegexTokenizer(_TOKENS.pattern) | VietnameseFilter()


def index_text(*metadata: str, body: str = "") -> str:
    """Metadata parts, then BODY_MARK and the extracted body, joined for the combined field
    (NFC). A BODY_MARK inside the given text is removed so that only ours switches modes."""
    def clean(part: str) -> str:
        return nfc(part).replace(BODY_MARK, " ")

    text = "\n".join(clean(p) for p in metadata if p)
    return text + "\n" + BODY_MARK + "\n" + clean(body) if body else text
