"""The schema side of a restore: which migration revisions this code knows, and upgrading to one.

Alembic's own API is used (not flask_migrate's wrappers, which exit the process on an error), with
the application's migration configuration, so env.py runs exactly as for `flask db upgrade`.
"""
from __future__ import annotations

from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from flask import current_app


def _config() -> Any:
    return current_app.extensions["migrate"].migrate.get_config()


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str | None:
    """The newest revision of this code's migrations."""
    return _scripts().get_current_head()


def known(revision: str) -> bool:
    """Whether this code has the migration `revision` (a newer version's backup would not)."""
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # alembic raises several error types for unknown or malformed ids
        return False


def is_ancestor(older: str | None, newer: str) -> bool:
    """Whether upgrading from `older` (None: an empty database) reaches `newer`."""
    if older is None:
        return True
    return any(script.revision == older for script in _scripts().iterate_revisions(newer, "base"))


def upgrade(revision: str) -> None:
    command.upgrade(_config(), revision)
