"""The database lost in the middle of a request, inside its transaction: on PostgreSQL the
request's server process is terminated (pg_terminate_backend, as a restart or a failover does);
on SQLite another process holds the write lock (as a long import does) past the busy timeout.

The fault strikes from an engine hook at the exact statement named, in the request's own thread,
so it lands after the uploaded file is already in the store. The request must answer a clear
503, leave no row and no object, and the next request must work."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from repository.extensions import db
from repository.models import Material
from tests.faults.support import (
    assert_clean,
    assert_nothing_lost,
    counts,
    later,
    pdf_form,
    signed_in,
    snapshot,
    upload,
)

DATABASE_DOWN = "Cơ sở dữ liệu tạm thời không phản hồi"


@pytest.fixture
def app_overrides(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # Wait half a second for a lock instead of SQLite's default five.
        return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"timeout": 0.5}}}
    return {}


@contextmanager
def fault_before(prefix: str, fault: Callable[[Any], None]) -> Iterator[list[bool]]:
    """Run `fault(connection)` once, just before the first statement starting with `prefix`."""
    fired: list[bool] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not fired and statement.lstrip().upper().startswith(prefix):
            fired.append(True)
            fault(conn)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield fired
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


class DatabaseFaults:
    """The real faults of each database, injected from outside the application's connection."""

    def __init__(self, url: str) -> None:
        self.url = sa.engine.make_url(url)
        self._locks: list[sqlite3.Connection] = []

    def lose(self, conn: Any) -> None:
        """The request's connection dies: its PostgreSQL backend is terminated, or the SQLite
        file is write-locked by another process."""
        if self.url.get_backend_name() == "postgresql":
            pid = conn.connection.dbapi_connection.info.backend_pid
            self._admin(f"SELECT pg_terminate_backend({int(pid)}, 5000)")
        else:
            lock = sqlite3.connect(self.url.database, isolation_level=None, check_same_thread=False)
            lock.execute("BEGIN IMMEDIATE")
            self._locks.append(lock)

    def lose_idle_connections(self) -> None:
        """Every pooled connection dies between requests (a database restart)."""
        if self.url.get_backend_name() == "postgresql":
            self._admin("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")

    def recover(self) -> None:
        """The other process lets go of the SQLite file."""
        for lock in self._locks:
            lock.rollback()
            lock.close()
        self._locks.clear()

    def _admin(self, sql: str) -> None:
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
        engine.dispose()


def _local_objects(app: Any) -> set[str]:
    return {info.key for info in app.extensions["storage"].list("materials/")}


def test_database_lost_mid_request_answers_503_leaves_nothing_and_the_next_request_works(
        app: Any, app_with: Any, world: dict[str, Any], database_url: str, tmp_path: Any) -> None:
    client = signed_in(app)
    assert upload(client, pdf_form(tmp_path, "Phương trình bậc nhất")).status_code == 201
    before, stored, rows = snapshot(), _local_objects(app), counts()
    faults = DatabaseFaults(database_url)

    # 1. An upload: the file is in the store when the material's INSERT meets the dead database.
    with fault_before("INSERT INTO MATERIALS", faults.lose) as fired:
        response = upload(client, pdf_form(tmp_path, "Hệ phương trình"))
    faults.recover()
    assert fired and response.status_code == 503
    assert DATABASE_DOWN in response.get_json()["error"]["message"]
    assert counts()[:2] == rows[:2] and _local_objects(app) == stored  # no row, and its file removed
    # Its in-flight mark is gone too, unless the database was still locked when the request tried
    # to drop it (SQLite): then it expires after UPLOAD_MAX_HOURS (below).

    # 2. A download: the counter's UPDATE fails; the count stays, the HTML page says why.
    material_id, file_id = next(iter(before.values()))[0], next(iter(before))
    with fault_before("UPDATE MATERIALS", faults.lose) as fired:
        page = client.get(f"/materials/{material_id}/files/{file_id}/download")
    faults.recover()
    assert fired and page.status_code == 503 and DATABASE_DOWN in page.get_data(as_text=True)
    assert db.session.get(Material, material_id).download_count == 0

    # 3. Every pooled connection dies between requests: the next requests reconnect.
    db.session.close()  # the test's own session holds none of them
    faults.lose_idle_connections()
    assert client.get(f"/materials/{material_id}/files/{file_id}/download").status_code == 200
    assert upload(client, pdf_form(tmp_path, "Hệ phương trình")).status_code == 201
    db.session.expire_all()
    assert db.session.get(Material, material_id).download_count == 1
    assert_clean(later(app, app_with), "--repair")
    assert counts() == (rows[0] + 1, rows[1] + 1, 0)
    assert_nothing_lost(before)
    assert_clean(app)
