"""The one exception the processing steps raise."""
from __future__ import annotations

__all__ = ["ProcessingFailed"]


class ProcessingFailed(Exception):
    """A processing step could not finish: the file timed out, crashed its worker, was too large
    or could not be parsed.

    ``reason`` is a short bilingual (Vietnamese / English) sentence fit for ``failure_reason``;
    ``code`` is a stable machine-readable word: ``timeout``, ``crashed``, ``memory``,
    ``too_large``, ``encrypted``, ``invalid`` or ``failed``.
    """

    def __init__(self, reason: str, *, code: str = "failed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code

    def __repr__(self) -> str:
        return f"ProcessingFailed({self.reason!r}, code={self.code!r})"
