"""The reports' part of `flask --app app check`: contribution facts that drifted from the
materials' history (a write that bypassed the session hook, a restore of an old dump, an
upgrade) are listed, and rewritten from the history with --repair."""
from __future__ import annotations

from repository.extensions import db
from repository.reports import facts


def check_facts(repair: bool) -> tuple[list[int], int]:
    """(ids of the materials whose facts are stale, how many of them were repaired)."""
    problems = facts.stale(db.session)
    if not repair or not problems:
        return problems, 0
    facts.refresh(db.session, problems)
    db.session.commit()
    return problems, len(problems)
