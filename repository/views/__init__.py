"""HTML blueprints: parse the request, call one service function, render the result."""
from __future__ import annotations

from typing import Any

from flask import flash

from repository.errors import DomainError


def flash_errors(error: DomainError, form: Any = None) -> None:
    """Show a domain error on the page, attaching field errors to the form where it has the field."""
    attached = False
    for name, messages in error.field_errors.items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [str(m) for m in messages]
            attached = True
    if not attached:
        flash(str(error.message), "danger")
