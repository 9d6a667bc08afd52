"""The schema comes from the migrations: an upgraded database matches the models exactly, the chain
downgrades and upgrades again, and every constraint carries a conventional name (SQLite's batch
mode can only drop named constraints)."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from repository.extensions import NAMING_CONVENTION, db


@pytest.fixture
def migrated_app(database_url: str) -> Iterator[Any]:
    """The app on a database the conftest has upgraded; left fully upgraded whatever happens."""
    from tests.conftest import make_app

    app = make_app(database_url)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            upgrade()
            db.engine.dispose()


def _head(app: Any) -> str:
    config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    return ScriptDirectory.from_config(config).get_current_head()


def _current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _model_tables() -> set[str]:
    return set(db.metadata.tables)


def test_the_upgraded_schema_matches_the_models(migrated_app: Any) -> None:
    with db.engine.connect() as connection:
        assert _current(connection) == _head(migrated_app)
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": False})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models differ from the migrated schema: {differences}"


def test_every_model_table_column_and_index_exists_after_upgrade(migrated_app: Any) -> None:
    """Spelled out, so a failure names what is missing even where compare_metadata is lenient."""
    inspector = sa.inspect(db.engine)
    tables = set(inspector.get_table_names())
    assert _model_tables() <= tables
    assert tables - _model_tables() == {"alembic_version"}
    for name, table in db.metadata.tables.items():
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        assert set(columns) == {c.name for c in table.columns}, name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, f"{name}.{column.name} nullability"
        indexes = {i["name"] for i in inspector.get_indexes(name)}
        assert {i.name for i in table.indexes} <= indexes, name


def test_downgrade_to_base_and_upgrade_again(migrated_app: Any) -> None:
    head = _head(migrated_app)
    db.session.remove()
    downgrade(revision="base")
    inspector = sa.inspect(db.engine)
    assert set(inspector.get_table_names()) & _model_tables() == set()
    with db.engine.connect() as connection:
        assert _current(connection) is None

    upgrade()
    inspector = sa.inspect(db.engine)
    assert _model_tables() <= set(inspector.get_table_names())
    with db.engine.connect() as connection:
        assert _current(connection) == head
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []

    # the re-created schema works: a school and an account can be stored again
    from repository.models import AdminUnit
    from repository.permissions import SystemActor
    from repository.services import schools, users

    db.session.add(AdminUnit(code="14329", name="Phường Hoa Lư", kind="ward", province_code=37))
    db.session.commit()
    schools.save_school(SystemActor(), None, schools.SchoolInput("THCS01", "Trường THCS Hoa Lư", "THCS", "14329"))
    user, _link = users.create_user(SystemActor(), users.UserInput("gv@thcs1.ninhbinh.edu.vn", "Giáo viên", "THCS01"))
    assert user.id is not None


def test_each_revision_downgrades_one_step_and_back(migrated_app: Any) -> None:
    """Walk the chain down one revision at a time, then back up: every downgrade() is usable."""
    config = migrated_app.extensions["migrate"].migrate.get_config(migrated_app.extensions["migrate"].directory)
    revisions = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()]  # head first
    db.session.remove()
    for revision in revisions:
        downgrade(revision="-1")
        with db.engine.connect() as connection:
            below = _current(connection)
        assert below != revision
    assert below is None
    upgrade()
    with db.engine.connect() as connection:
        assert _current(connection) == revisions[0]


def test_constraints_are_named_by_the_convention(migrated_app: Any) -> None:
    assert NAMING_CONVENTION["pk"].startswith("pk_") and NAMING_CONVENTION["uq"].startswith("uq_")
    assert db.metadata.naming_convention == NAMING_CONVENTION
    inspector = sa.inspect(db.engine)
    problems = []
    seen = {"pk": 0, "uq": 0, "fk": 0}
    for table in sorted(_model_tables()):
        pk = inspector.get_pk_constraint(table)
        seen["pk"] += 1
        if pk.get("name") != f"pk_{table}":
            problems.append(f"{table}: primary key named {pk.get('name')!r}")
        for unique in inspector.get_unique_constraints(table):
            seen["uq"] += 1
            if not (unique.get("name") or "").startswith("uq_"):
                problems.append(f"{table}: unique constraint {unique.get('column_names')} named {unique.get('name')!r}")
        for foreign in inspector.get_foreign_keys(table):
            seen["fk"] += 1
            if not (foreign.get("name") or "").startswith("fk_"):
                problems.append(f"{table}: foreign key {foreign.get('constrained_columns')} named {foreign.get('name')!r}")
        for check in inspector.get_check_constraints(table):
            if not (check.get("name") or "").startswith("ck_"):
                problems.append(f"{table}: check constraint named {check.get('name')!r}")
    assert not problems, "\n".join(problems)
    assert seen["uq"] >= 4 and seen["fk"] >= 10  # the inspector did see the constraints


def test_the_expected_unique_rules_are_in_the_database(migrated_app: Any) -> None:
    """The rules people rely on (one account per e-mail and staff id, one school per code) are
    enforced by the database, not only by the services."""
    inspector = sa.inspect(db.engine)

    def uniques(table: str) -> set[tuple[str, ...]]:
        found = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        found |= {tuple(i["column_names"]) for i in inspector.get_indexes(table) if i.get("unique")}
        return found

    assert {("email",), ("staff_id",)} <= uniques("users")
    assert ("code",) in uniques("schools")
    assert ("code",) in uniques("admin_units")
    assert ("token_hash",) in uniques("account_tokens")
    assert ("user_id", "role", "school_id", "unit_id") in uniques("role_assignments")


def test_the_comparison_would_notice_a_model_without_a_migration(migrated_app: Any) -> None:
    """Guard against a comparison that cannot fail: a column and a table no migration made are reported."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in db.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["users"].append_column(sa.Column("nickname", sa.String(50), nullable=True))
    sa.Table("unmigrated", metadata, sa.Column("id", sa.Integer, primary_key=True))
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    kinds = {(d[0], getattr(d[-1], "name", None) if d[0] == "add_column" else d[1].name) for d in differences
             if d[0] in ("add_column", "add_table")}
    assert ("add_column", "nickname") in kinds and ("add_table", "unmigrated") in kinds
