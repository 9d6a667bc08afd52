"""Shared fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL is set, on
PostgreSQL too. With REQUIRE_POSTGRES=1 a missing or unreachable PostgreSQL fails the run."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from moto.server import ThreadedMotoServer

os.environ.setdefault("INSTANCE_PATH", str(Path(__file__).resolve().parent.parent / "instance" / "test"))

from repository.extensions import db, limiter  # noqa: E402
from repository.models import Role  # noqa: E402
from tests.helpers import PASSWORD, make_app  # noqa: E402

REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL or REQUIRE_POSTGRES else [])

_migrated: set[str] = set()
_private_pg: dict[str, str] = {}


def _private_database(server_url: str) -> str:
    """A database of this run's own on the server of TEST_DATABASE_URL, so that concurrent runs
    never truncate each other's tables; falls back to the given database without CREATE rights."""
    if "url" in _private_pg:
        return _private_pg["url"]
    base = sa.engine.make_url(server_url)
    name = f"kho_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.ProgrammingError:
        _private_pg["url"] = server_url
        return server_url
    finally:
        engine.dispose()
    _private_pg.update(url=base.set(database=name).render_as_string(hide_password=False), name=name,
                       server=server_url)
    return _private_pg["url"]


def _drop_private_database() -> None:
    if "name" not in _private_pg:
        return
    engine = sa.create_engine(_private_pg["server"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{_private_pg["name"]}" WITH (FORCE)'))
    engine.dispose()


def _database_url(kind: str, tmp_root: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_root / 'test.sqlite3'}"
    if not PG_URL:
        pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
    try:
        sa.create_engine(PG_URL).connect().close()
    except sa.exc.OperationalError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    return _private_database(PG_URL)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _drop_private_database()


def _reset_schema(url: str) -> None:
    """Migrate a fresh database once per run, then empty every table before each test."""
    from flask_migrate import downgrade, upgrade

    app = make_app(url)
    with app.app_context():
        if url not in _migrated:
            downgrade(revision="base")
            upgrade()
            _migrated.add(url)
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                db.session.execute(table.delete())
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the SQLite test database lives: memory-backed /dev/shm when there is one, because
    every commit's fsync on a busy disk made the suite crawl."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        root = Path(tempfile.mkdtemp(prefix="kho-test-", dir=shm))
        yield root
        shutil.rmtree(root, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("db")


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_root: Path) -> str:
    url = _database_url(request.param, tmp_root)
    _reset_schema(url)
    return url


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Configuration for the `app` fixture; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
def app(database_url: str, app_overrides: dict[str, Any]) -> Iterator[Any]:
    application = make_app(database_url, **app_overrides)
    with application.app_context():
        limiter.reset()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def app_with(app: Any, database_url: str) -> Any:
    """Build another app on the same database with configuration overrides."""
    made = []

    def build(**overrides: Any) -> Any:
        application = make_app(database_url, **overrides)
        made.append(application)
        return application

    yield build
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def world(app: Any) -> dict[str, Any]:
    """A small province: the department, two communes, three schools and one account per role."""
    from repository.models import AdminUnit
    from repository.permissions import SystemActor
    from repository.services import schools, users

    system = SystemActor()
    schools.department_unit()
    db.session.add_all([AdminUnit(code="14329", name="Phường Hoa Lư", kind="ward", province_code=37),
                        AdminUnit(code="14464", name="Xã Gia Viễn", kind="commune", province_code=37)])
    db.session.commit()
    made = {
        "thcs1": schools.save_school(system, None, schools.SchoolInput("THCS01", "Trường THCS Hoa Lư", "THCS", "14329")),
        "thcs2": schools.save_school(system, None, schools.SchoolInput("THCS02", "Trường THCS Gia Viễn", "THCS", "14464")),
        "thpt": schools.save_school(system, None, schools.SchoolInput("THPT01", "Trường THPT Hoa Lư A", "THPT", "14329")),
    }
    specs = {
        "dept_admin": ("admin@so.ninhbinh.edu.vn", [Role.DEPT_ADMIN.value], "", ""),
        "dept_reviewer": ("duyet@so.ninhbinh.edu.vn", [Role.DEPT_REVIEWER.value], "", ""),
        "unit_officer": ("canbo@hoalu.ninhbinh.edu.vn", [Role.UNIT_OFFICER.value], "", "14329"),
        "school_admin": ("hieutruong@thcs1.ninhbinh.edu.vn", [Role.SCHOOL_ADMIN.value], "THCS01", ""),
        "school_reviewer": ("totruong@thcs1.ninhbinh.edu.vn", [Role.SCHOOL_REVIEWER.value, Role.TEACHER.value], "THCS01", ""),
        "teacher": ("giaovien@thcs1.ninhbinh.edu.vn", [Role.TEACHER.value], "THCS01", ""),
        "teacher2": ("giaovien@thcs2.ninhbinh.edu.vn", [Role.TEACHER.value], "THCS02", ""),
        "school_admin2": ("hieutruong@thcs2.ninhbinh.edu.vn", [Role.SCHOOL_ADMIN.value], "THCS02", ""),
    }
    for key, (email, roles, school, unit) in specs.items():
        made[key], _ = users.create_user(system, users.UserInput(email, f"Người {key}", school, unit, roles),
                                         password=PASSWORD)
    return made


# An S3-compatible server (moto's server mode) for the storage contract and the S3 runs of the app.
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Keep the machine's own AWS set-up and proxies out of the tests.
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server running in this process for the whole session."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_ENV.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            patch.delenv(name, raising=False)
        werkzeug_log = logging.getLogger("werkzeug")
        level = werkzeug_log.level
        werkzeug_log.setLevel(logging.WARNING)  # one access-log line per request otherwise
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()
            werkzeug_log.setLevel(level)


@pytest.fixture
def smtp() -> Iterator[tuple[Any, int]]:
    """A real SMTP server on 127.0.0.1 for the e-mail tests: (mailbox, port); see tests/smtp.py."""
    from tests.smtp import smtp_server

    with smtp_server() as pair:
        yield pair
