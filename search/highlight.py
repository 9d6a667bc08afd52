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


def _spans(text: str, keys: set[str], until: int | None = None) -> list[tuple[int, int]]:
    """Where the words with the given keys are; with `until`, only those starting before it."""
    found = []
    for m in WORD.finditer(text):
        if until is not None and m.start() >= until:
            break
        if folded_key(m.group(0)) in keys:
            found.append((m.start(), m.end()))
    return found


def _first_span(text: str, keys: set[str]) -> int | None:
    return next((m.start() for m in WORD.finditer(text) if folded_key(m.group(0)) in keys), None)


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
    the first match. None when no word matches (callers then show no highlight for the field).
    A snippet reads the text only up to its own end: an extracted text runs to 20,000 characters."""
    text = nfc(text or "")
    keys = {w.folded for w in words}
    if whole:
        spans = _spans(text, keys)
        return _render(text, spans, 0, len(text)) if spans else None
    first = _first_span(text, keys)
    if first is None:
        return None
    start = max(0, first - SNIPPET_CHARS // 3)
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = min(len(text), start + SNIPPET_CHARS)
    while end < len(text) and not text[end].isspace():
        end += 1
    return _render(text, _spans(text, keys, until=end), start, end)
