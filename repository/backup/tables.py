"""Rows out of one snapshot into per-table files, and back into an empty database."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from repository.backup import files, values
from repository.backup.snapshot import deferred_columns

BATCH = 1000  # rows per INSERT round trip; enough to amortise it, small enough for memory


def _rows(conn: Connection, table: sa.Table) -> Iterator[dict[str, Any]]:
    """Every row of the table in primary-key order (stable files, parents of self-references
    usually first), streamed through a server-side cursor on PostgreSQL."""
    query = sa.select(*[values.select_expression(c) for c in table.columns])
    # without a primary key, every column but JSON ones (PostgreSQL cannot compare json values)
    query = query.order_by(*(table.primary_key.columns or [c for c in table.columns if not values.is_json(c)]))
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    for row in result.mappings():
        yield {name: values.encode(value) for name, value in row.items()}


def dump(conn: Connection, tables: list[sa.Table], directory: Path) -> list[dict[str, Any]]:
    """Write every table to directory/tables; return the manifest entries, in restore order."""
    folder = directory / files.TABLES
    folder.mkdir()
    entries = []
    for number, table in enumerate(tables, start=1):
        name = f"{files.TABLES}/{number:03d}_{table.name}.jsonl.gz"
        count, digest = files.write_lines(directory / name, _rows(conn, table))
        entries.append({"name": table.name, "file": name, "rows": count, "sha256": digest,
                        "columns": [c.name for c in table.columns]})
    return entries


def _batches(records: Iterable[Any]) -> Iterator[list[Any]]:
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _decoders(table: sa.Table, columns: list[str]) -> dict[str, Any]:
    return {name: values.decoder(table.columns[name]) for name in columns}


def _decoded(row: dict[str, Any], decoders: dict[str, Any]) -> dict[str, Any]:
    return {name: None if value is None else decoders[name](value) for name, value in row.items()}


def load(conn: Connection, table: sa.Table, entry: dict[str, Any], directory: Path, all_tables: list[sa.Table]) -> int:
    """Insert a table's rows (deferred self-references set in a second pass); return the count."""
    target = values.insertable(table)
    decoders = _decoders(target, entry["columns"])
    deferred = deferred_columns(table, all_tables)
    count = 0
    for batch in _batches(files.read_lines(directory / entry["file"])):
        rows = [_decoded(row, decoders) for row in batch]
        conn.execute(target.insert(), [{**row, **{name: None for name in deferred}} for row in rows])
        count += len(rows)
    if deferred:
        _set_deferred(conn, target, entry, directory, deferred, decoders)
    return count


def _set_deferred(conn: Connection, table: sa.Table, entry: dict[str, Any], directory: Path,
                  deferred: list[str], decoders: dict[str, Any]) -> None:
    keys = [c.name for c in table.primary_key.columns]
    where = sa.and_(*[table.c[k] == sa.bindparam(f"key_{k}") for k in keys])
    statement = table.update().where(where).values({name: sa.bindparam(f"new_{name}") for name in deferred})
    rows = (row for row in files.read_lines(directory / entry["file"]) if any(row[n] is not None for n in deferred))
    for batch in _batches(rows):
        decoded = [_decoded(row, decoders) for row in batch]
        conn.execute(statement, [{**{f"key_{k}": row[k] for k in keys}, **{f"new_{n}": row[n] for n in deferred}}
                                 for row in decoded])


def reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL: move each serial/identity sequence past the restored ids, so the next insert
    does not collide with a restored row. SQLite derives the next rowid from the table itself."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            # the table argument is parsed as an identifier (so quoted), the column one is not
            sequence = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": f'"{table.name}"', "c": column.name}).scalar()
            if sequence:
                conn.execute(sa.text(
                    f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'),
                    {"s": sequence})


def count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
