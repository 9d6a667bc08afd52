"""Rendered search results shared by everyone of one audience, each reused for a bounded time.

Rule: an entry is served for at most `max_age` seconds after it was rendered, whatever changed
meanwhile (a publication, a renamed school): people may see a results block up to that old,
never older. Entries are per process, per audience and per language; the least recently used go
first when `size` is reached.
"""
from __future__ import annotations

import threading
from typing import Any, Hashable, Optional

from cachetools import LRUCache


class PageCache:
    """Key -> (rendered at, value), thread-safe; `now` is a monotonic clock reading."""

    def __init__(self, max_age: float, size: int = 1024) -> None:
        self.max_age = max_age
        self.wrapper: Any = None  # the compiled template that places a cached block in the page
        self._entries: LRUCache = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, now: float) -> Optional[Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] <= self.max_age:
                self.hits += 1
                return entry[1]
            self.misses += 1
            return None

    def put(self, key: Hashable, value: Any, now: float) -> None:
        with self._lock:
            self._entries[key] = (now, value)
