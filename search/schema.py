"""The Whoosh schema and the document built from one material.

Only what search needs is indexed: one combined text field, the facet and visibility fields,
sort columns and a change stamp. Titles, descriptions and highlights come from the database
when a page of results is shown, so the index stores no text (TECH-NOTES §1.3).
"""
from __future__ import annotations

import calendar
from typing import Any

from whoosh import columns
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from search.analysis import index_text, vietnamese_analyzer
from search.collation import sort_key

# How much extracted text is indexed per material: enough for lesson content, bounded so one
# 300-page book does not dominate the index.
TEXT_CHARS = 20_000


def build_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        text=TEXT(analyzer=vietnamese_analyzer(), phrase=False),
        status=ID, owner=ID, open=ID,
        subject=ID(sortable=True), type=ID(sortable=True), series=ID(sortable=True),
        school=ID(sortable=True), topic=ID(sortable=True),
        grade=KEYWORD(scorable=False), level=KEYWORD(scorable=False),
        grade_list=COLUMN(columns.VarBytesColumn()), level_list=COLUMN(columns.VarBytesColumn()),
        created=NUMERIC(bits=64, sortable=True), downloads=NUMERIC(bits=64, sortable=True),
        title_key=COLUMN(columns.VarBytesColumn()),
        stamp=STORED,
    )


def stamp_of(material: Any, text_len: int) -> str:
    """What must match between the database and the index for a document to be current (the
    download count is indexed for sorting but refreshed only every tenth download)."""
    return f"{material.status}|{material.updated_at.isoformat()}|{text_len}"


def document(material: Any, levels: list[str], open_licence: bool, extracted: str) -> dict[str, Any]:
    """The index document for `material` (its school, owner and files already loaded)."""
    grades = list(material.grades or [])
    title = material.title or ""
    body = index_text(title, title, material.topic or "", body=(material.description or "") + "\n" + extracted[:TEXT_CHARS])
    return {
        "id": str(material.id),
        "text": body,
        "status": material.status,
        "owner": str(material.owner_id),
        "open": "1" if open_licence else "0",
        "subject": material.subject,
        "type": material.material_type,
        "series": material.series or "",
        "school": str(material.school_id),
        "topic": (material.topic or "").strip()[:200],
        "grade": " ".join(grades),
        "level": " ".join(levels),
        "grade_list": " ".join(grades).encode(),
        "level_list": " ".join(levels).encode(),
        "created": calendar.timegm(material.created_at.timetuple()),  # naive UTC
        "downloads": int(material.download_count or 0),
        "title_key": sort_key(title).encode(),
        "stamp": stamp_of(material, len(extracted[:TEXT_CHARS])),
    }
