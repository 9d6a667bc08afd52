"""Column values to portable JSON and back, decided by the column's type on each side.

Encoding goes by the Python value read from the source; decoding by the target column's type, so
a value written from SQLite reads back into PostgreSQL and the other way round. JSON columns are
read as their JSON text (cast to text in the SELECT): the text tells SQL NULL (null) from a JSON
null ("null"), which both read back as None through the JSON type.
"""
from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable

import sqlalchemy as sa


def is_json(column: sa.Column) -> bool:
    return isinstance(column.type, sa.JSON)


def select_expression(column: sa.Column) -> Any:
    """What the dump selects for a column: JSON columns as their text, others as they are."""
    if is_json(column):
        return sa.cast(column, sa.Text).label(column.name)
    return column


def encode(value: Any) -> Any:
    """A JSON-serialisable form of a value read from the database."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _json(value: str) -> Any:
    loaded = json.loads(value)
    return sa.JSON.NULL if loaded is None else loaded


def _numeric(column_type: sa.Numeric) -> Callable[[Any], Any]:
    if getattr(column_type, "asdecimal", False):
        return lambda value: Decimal(str(value))
    return float


def decoder(column: sa.Column) -> Callable[[Any], Any]:
    """A function turning an encoded value back into what the target column accepts (None stays
    None: SQL NULL)."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return _json
    if isinstance(kind, sa.DateTime):
        return datetime.fromisoformat
    if isinstance(kind, sa.Date):
        return date.fromisoformat
    if isinstance(kind, sa.Time):
        return time.fromisoformat
    if isinstance(kind, sa.Interval):
        return lambda value: timedelta(seconds=value)
    if isinstance(kind, sa.Boolean):
        return bool
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode
    if isinstance(kind, sa.Uuid):
        return uuid.UUID
    if isinstance(kind, sa.Numeric):
        return _numeric(kind)
    return lambda value: value


def insertable(table: sa.Table) -> sa.Table:
    """A copy of `table` whose JSON columns store None as SQL NULL (JSON null is sa.JSON.NULL),
    so that a restored row has exactly the NULLs the source had."""
    copy = table.to_metadata(sa.MetaData())
    for column in copy.columns:
        if is_json(column):
            column.type = type(column.type)(none_as_null=True)
    return copy
