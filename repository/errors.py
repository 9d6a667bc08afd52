"""Domain errors raised by services, and their one mapping to HTTP status codes.

Messages are lazy translations, so the same error reads in the user's language on a page, in the
JSON API and on the command line.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose. `status` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: Any, *, field_errors: dict[str, list[Any]] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field_errors = field_errors or {}

    def __str__(self) -> str:
        return str(self.message)


class ValidationError(DomainError):
    status = 422


class PermissionDenied(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Throttled(DomainError):
    status = 429


class AuthenticationFailed(DomainError):
    status = 401


class ImportRejected(ValidationError):
    """A CSV or JSONL import refused as a whole; `rows` lists (row number, reason) pairs."""

    def __init__(self, message: Any, rows: list[tuple[int, str]]) -> None:
        super().__init__(message)
        self.rows = rows


def status_for(error: Exception) -> int:
    """The HTTP status for an exception: its own for domain errors, 500 for anything else."""
    return error.status if isinstance(error, DomainError) else 500
