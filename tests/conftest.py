"""Every database test runs on both backends: SQLite (a migrated template copied per test) and PostgreSQL (a
private database per pytest process, truncated per test). With CI=true an unreachable PostgreSQL fails the run
instead of skipping it.

Identity: the SQLite template is a training-mode ledger (`ledger init --training`), so a test may act as any name;
on PostgreSQL the `ledger` fixture acts as the server's admin login (the bootstrap owner), and `staff()` makes real
login roles, named uniquely for this process (PG_SUFFIX) and dropped at the end, for tests that need several
people."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from ledger.config import Config, config_from_dict, default_data, flatten
from ledger.db.engine import make_engine, upgrade
from ledger.facade import Ledger
from ledger.services.policy import POLICY_EPOCH, record_values

PG_ADMIN_URL = os.environ.get("LEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ON_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ("sqlite", "postgresql")
PG_SUFFIX = f"p{os.getpid()}"  # login roles are server-wide: names unique to this test process


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    problem = _pg_reachable()
    if problem is not None:
        if ON_CI:
            pytest.fail(f"PostgreSQL must run on CI but is unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"ledger_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        for (role,) in conn.execute(
            text("SELECT rolname FROM pg_roles WHERE rolname LIKE :pattern"), {"pattern": f"%\\_{PG_SUFFIX}"}
        ).all():
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    template = Ledger(str(path))
    template.init(training=True)
    template.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated(pg_url: str) -> str:
    engine = make_engine(pg_url)
    upgrade(engine)
    engine.dispose()
    return pg_url


def _truncate_pg(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT IN ('alembic_version', 'ledger_lock')"
                )
            )
        ]
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        for table in tables:  # a tampering test may have disabled the append-only triggers: never leak that
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def test_config(**overrides: object) -> Config:
    data = default_data()
    for key, value in overrides.items():
        data[key] = value
    return config_from_dict(data, "tests")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database URL on the parametrised backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "ledger.db"
        shutil.copy(template, path)
        yield str(path)
    else:
        url: str = request.getfixturevalue("pg_migrated")
        engine = make_engine(url)
        _truncate_pg(engine)
        engine.dispose()
        yield url


def is_pg(url: str) -> bool:
    return "://" in url and not url.startswith("sqlite")


def fixture_actor(url: str) -> str | None:
    """'tester' on the training-mode SQLite template; on PostgreSQL the login itself (no label)."""
    return None if is_pg(url) else "tester"


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    """A Ledger on an empty migrated database with the catalogue and default policy loaded, acting as 'tester'
    (SQLite, training mode) or as the PostgreSQL login (the bootstrap owner)."""
    instance = Ledger(db_url, actor=fixture_actor(db_url))
    instance.init()
    yield instance
    instance.dispose()


def set_policy(ledger: Ledger, **sections: object) -> None:
    """Test set-up: records policy values directly (as `ledger init --policy FILE` would on a new ledger), e.g.
    set_policy(ledger, maker_checker={"default_limit_yuan": "5000000"}). Production changes go through the
    four-eyes `ledger policy set`, tested in test_trust.py."""
    with ledger.transaction() as conn:
        record_values(conn, ledger.actor, flatten(sections), POLICY_EPOCH, "test set-up", "policy_set")
    ledger.refresh()


def login_url(url: str, login: str) -> str:
    base, _, database = url.rpartition("/")
    scheme, _, rest = base.partition("://")
    host = rest.rpartition("@")[2]
    return f"{scheme}://{login}@{host}/{database}"


def staff(admin: Ledger, **people: str) -> dict[str, Ledger]:
    """Users with roles, each a Ledger acting as them: on SQLite (training mode) plain names; on PostgreSQL real
    logins (name + PG_SUFFIX) provisioned by `ledger user add`, connecting through their own URL. `admin` is a
    bootstrap ledger (no users yet) or an admin's; when no admin exists yet an 'admin' user is made first."""
    out: dict[str, Ledger] = {}
    pg = is_pg(admin.url)

    def name(label: str) -> str:
        return f"{label}_{PG_SUFFIX}" if pg else label

    def as_user(label: str) -> Ledger:
        if pg:
            return Ledger(login_url(admin.url, name(label)))
        return Ledger(admin.url, actor=label)

    boss = admin
    if not admin.list_users():
        admin.add_user(name("admin"), "admin")
        boss = out["admin"] = as_user("admin")
    for label, role in people.items():
        boss.add_user(name(label), role)
        out[label] = as_user(label)
    return out
