"""Index directories: one live generation behind a symlink, swapped atomically on rebuild.

Layout under SEARCH_INDEX_DIR::

    current -> gen-20261130T050000-ab12   (symlink; readers and the applier follow it)
    gen-20261130T050000-ab12/             (a Whoosh index plus cursor.json, see applier.py)

Readers keep one searcher per thread and check `up_to_date()` per search, which is cheap; a
changed index gets a new searcher (search/pool.py reopens only the changed segments). A reader notices a swapped symlink and opens the new
generation; the old directory is removed after the next swap, so open readers never lose it.
"""
from __future__ import annotations

import logging
import os
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from whoosh import index as whoosh_index

from search.schema import build_schema

log = logging.getLogger(__name__)
CURRENT = "current"
GENERATION_PREFIX = "gen-"


class IndexMissing(RuntimeError):
    """No usable live index: it was never built, or its directory is damaged."""


def live_dir(root: Path) -> Optional[Path]:
    """The directory of the live generation, or None when there is none."""
    link = root / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    path = root / target
    return path if path.is_dir() else None


def new_generation(root: Path) -> tuple[Path, Any]:
    """Create an empty index in a fresh generation directory (not yet live)."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = root / f"{GENERATION_PREFIX}{stamp}-{secrets.token_hex(3)}"
    path.mkdir()
    try:
        return path, whoosh_index.create_in(str(path), build_schema())
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)  # a full disk must not keep what it half wrote
        raise


def switch_to(root: Path, path: Path) -> None:
    """Make `path` the live generation atomically, then remove generations older than the
    one it replaces (that one may still be open in readers until they next refresh)."""
    previous = live_dir(root)
    temporary = root / f".{CURRENT}-{secrets.token_hex(4)}"
    os.symlink(path.name, temporary)
    os.replace(temporary, root / CURRENT)
    keep = {path.name} | ({previous.name} if previous else set())
    for other in root.glob(f"{GENERATION_PREFIX}*"):
        if other.name not in keep:
            shutil.rmtree(other, ignore_errors=True)


def open_dir(path: Path) -> Any:
    """Open the Whoosh index in `path`; a damaged directory raises IndexMissing."""
    try:
        return whoosh_index.open_dir(str(path))
    except Exception as error:  # whoosh raises several unrelated types for damaged files
        raise IndexMissing(f"search index in {path} cannot be opened: {error}") from error


