"""One consistent read of the whole database while the application may be writing.

PostgreSQL: one SERIALIZABLE READ ONLY DEFERRABLE transaction. DEFERRABLE waits (if ever) for a
snapshot that no concurrent serializable transaction can invalidate, and then never fails or
blocks writers; the application's own transactions are READ COMMITTED, so it does not wait.
SQLite: the sqlite3 backup API copies the database in one step into a private file (a writer
committing meanwhile makes SQLite restart the copy, so the copy is always one committed state),
and everything is read from that copy.
"""
from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "alembic_version"


@contextlib.contextmanager
def consistent_connection(engine: Engine, scratch: Path) -> Iterator[Connection]:
    """A connection whose every read sees the same committed state of the database."""
    if engine.dialect.name == "sqlite":
        with _sqlite_copy(engine, scratch) as copy:
            yield copy
        return
    with engine.connect() as conn:
        snapshot = conn.execution_options(isolation_level="SERIALIZABLE", postgresql_readonly=True,
                                          postgresql_deferrable=True)
        with snapshot.begin():
            yield snapshot


@contextlib.contextmanager
def _sqlite_copy(engine: Engine, scratch: Path) -> Iterator[Connection]:
    with tempfile.TemporaryDirectory(prefix="snapshot-", dir=scratch) as folder:
        path = Path(folder) / "snapshot.sqlite3"
        with engine.connect() as source:
            target = sqlite3.connect(path)
            try:
                source.connection.driver_connection.backup(target)  # pages=-1: a single step
            finally:
                target.close()
        copy = sa.create_engine(f"sqlite:///{path}")
        try:
            with copy.connect() as conn:
                yield conn
        finally:
            copy.dispose()


def revision(conn: Connection) -> str | None:
    """The alembic revision the database is at, or None when it has no version table."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    revisions = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(revisions) > 1:  # branches are not used here; a merge would leave one row
        raise RuntimeError(f"several alembic heads in the database: {revisions}")
    return revisions[0] if revisions else None


def data_tables(conn: Connection) -> list[sa.Table]:
    """Every table of the database except alembic's, parents before children (foreign keys).

    Read from the database itself rather than the models, so a table a migration created is
    included whether or not a model maps it."""
    metadata = sa.MetaData()
    metadata.reflect(bind=conn)
    return [t for t in ordered(metadata.tables.values()) if t.name != VERSION_TABLE]


def ordered(tables: object) -> list[sa.Table]:
    """Tables in foreign-key order (a cycle, if any, is broken by deferring its columns)."""
    return [table for table, _ in sa.schema.sort_tables_and_constraints(tables) if table is not None]


def deferred_columns(table: sa.Table, tables: list[sa.Table]) -> list[str]:
    """Nullable foreign-key columns that cannot be filled while inserting in order: those that
    point into their own table (a merged school names a newer successor) or into a foreign-key
    cycle. They are inserted as NULL and set once every row exists."""
    cyclic = {id(fk) for table_, fks in sa.schema.sort_tables_and_constraints(tables) if table_ is None
              for fk in fks}
    names: list[str] = []
    for constraint in table.foreign_key_constraints:
        if constraint.referred_table is table or id(constraint) in cyclic:
            names.extend(c.name for c in constraint.columns if c.nullable and c.name not in names)
    return names
