"""Mark the words of a query in a piece of text: HTML in which only <mark> is markup.

Whoosh's highlighter matches terms per field name and re-analyses stored text; our documents
store no text (it comes from the database) and our terms are folded keys, so matching a word's
folded key against the query's is both simpler and exactly the analyzer's rule.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from search.analysis import WORD, QueryWord, folded_key
from search.vietnamese import nfc

SNIPPET_CHARS = 240


def _spans(text: str, keys: set[str]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in WORD.finditer(text) if folded_key(m.group(0)) in keys]


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> Markup:
    parts: list[str] = []
    position = start
    for s, e in spans:
        if s < start or e > end:
            continue
        parts.append(str(escape(text[position:s])))
        parts.append(f"<mark>{escape(text[s:e])}</mark>")
        position = e
    parts.append(str(escape(text[position:end])))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return Markup(prefix + "".join(parts) + suffix)


def highlight(text: str, words: list[QueryWord] | tuple[QueryWord, ...], whole: bool = False) -> Markup | None:
    """The query's words marked in `text`: the whole text when `whole`, else a snippet around
    the first match. None when no word matches (callers then show no highlight for the field)."""
    text = nfc(text or "")
    spans = _spans(text, {w.folded for w in words})
    if not spans:
        return None
    if whole:
        return _render(text, spans, 0, len(text))
    first = spans[0][0]
    start = max(0, first - SNIPPET_CHARS // 3)
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = min(len(text), start + SNIPPET_CHARS)
    while end < len(text) and not text[end].isspace():
        end += 1
    return _render(text, spans, start, end)
