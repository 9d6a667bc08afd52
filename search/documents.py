"""Read materials from the database as index documents (the database is the truth)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterator

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from repository import curriculum
from repository.models import Material, MaterialFile, ReviewState
from repository.permissions import open_licence_codes
from search.schema import TEXT_CHARS, document


@lru_cache(maxsize=1)
def _level_of_grade() -> dict[str, str]:
    return {g.code: g.level for g in curriculum.grades()}


def levels_of(grades: list[str]) -> list[str]:
    level_of = _level_of_grade()
    return sorted({level_of[g] for g in grades if g in level_of})


def _pending_revisions(session: Session, ids: list[int]) -> dict[int, list[int]]:
    """material id -> the approved file ids everyone else still sees, for materials whose new
    file version is under review (its text must not be searchable before it is approved)."""
    rows = session.execute(select(ReviewState.material_id, ReviewState.approved_file_ids)
                           .where(ReviewState.material_id.in_(ids), ReviewState.revision.is_not(None))).all()
    return {material_id: list(files or []) for material_id, files in rows if files}


def extracted_texts(session: Session, ids: list[int]) -> dict[int, str]:
    """material id -> the extracted text of the files the public sees (first TEXT_CHARS each)."""
    pending = _pending_revisions(session, ids)
    approved = [f for files in pending.values() for f in files]
    shown = and_(MaterialFile.is_current.is_(True), MaterialFile.material_id.not_in(list(pending))) \
        if pending else MaterialFile.is_current.is_(True)
    rows = session.execute(
        select(MaterialFile.material_id, func.substr(MaterialFile.extracted_text, 1, TEXT_CHARS))
        .where(MaterialFile.material_id.in_(ids), MaterialFile.extracted_text.is_not(None),
               or_(shown, MaterialFile.id.in_(approved)) if approved else shown)
        .order_by(MaterialFile.material_id, MaterialFile.id)
    ).all()
    texts: dict[int, list[str]] = {}
    for material_id, text in rows:
        texts.setdefault(material_id, []).append(text or "")
    return {k: "\n".join(v) for k, v in texts.items()}


def documents_for(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Index documents for the materials in `ids` that exist; absent ids are deleted ones."""
    if not ids:
        return {}
    materials = session.scalars(select(Material).where(Material.id.in_(ids))).all()
    texts = extracted_texts(session, [m.id for m in materials])
    open_codes = open_licence_codes()
    return {m.id: document(m, levels_of(m.grades or []), m.licence in open_codes, texts.get(m.id, ""))
            for m in materials}


def all_documents(session: Session, chunk: int = 1000) -> Iterator[dict[str, Any]]:
    """Every material's document, read in id order in chunks of `chunk`."""
    last = 0
    while True:
        ids = list(session.scalars(select(Material.id).where(Material.id > last).order_by(Material.id).limit(chunk)))
        if not ids:
            return
        docs = documents_for(session, ids)
        for material_id in ids:
            if material_id in docs:
                yield docs[material_id]
        last = ids[-1]
        session.expunge_all()


def stamps(session: Session) -> dict[int, str]:
    """material id -> the stamp its index document must carry (for `flask check`)."""
    result: dict[int, str] = {}
    for doc in all_documents(session):
        result[int(doc["id"])] = doc["stamp"]
    return result
