"""One code path, two backends: URL resolution, SQLite pragmas, and Alembic upgrades."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from ledger.domain.errors import LedgerError

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "migrations"
DEFAULT_DB = "ledger.db"


def resolve_url(db: str | None = None) -> str:
    """--db, then $LEDGER_DB, then ./ledger.db; a plain path means an SQLite file."""
    value = db or os.environ.get("LEDGER_DB") or DEFAULT_DB
    if "://" in value:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite:", "postgresql+psycopg://")):
            raise LedgerError(
                f"不支持的数据库 (unsupported database URL {value.split('://', 1)[0]}://…): the ledger runs on "
                "SQLite (a file path or sqlite:///PATH) or PostgreSQL (postgresql://USER@HOST/DB)"
            )
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Up to 256 MiB of page cache (LEDGER_SQLITE_CACHE_MIB), allocated only as used: a bulk load of a million
    # rows into seven indexes thrashes SQLite's 2 MiB default (a 10-year demo load stalled; with 256 MiB: 79 s).
    cursor.execute(f"PRAGMA cache_size=-{_cache_kib()}")
    cursor.close()


def _cache_kib() -> int:
    try:
        return max(1, int(os.environ.get("LEDGER_SQLITE_CACHE_MIB", "256"))) * 1024
    except ValueError:
        return 256 * 1024


def make_engine(db: str | None = None, *, read_only: bool = False, echo: bool = False) -> Engine:
    url = resolve_url(db)
    if url.startswith("sqlite"):
        if read_only:
            path = make_url(url).database
            # A real pool: the default for a creator-made SQLite engine keeps one connection per thread and closes
            # others' beyond five, which breaks a UI running each query in a fresh worker thread.
            engine = create_engine(
                "sqlite://",
                creator=lambda: _connect_sqlite_ro(str(path)),
                echo=echo,
                poolclass=QueuePool,
                pool_size=4,
                max_overflow=8,
            )
        else:
            engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; let SQLAlchemy emit it so writes are atomic.
        event.listen(engine, "connect", _disable_pysqlite_autobegin)
        # Writers take the lock up front and queue on busy_timeout instead of failing on a lock upgrade; readers
        # begin deferred, so in WAL mode they read a snapshot and never hold up a booking.
        begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _connect_sqlite_ro(path: str) -> Any:
    import sqlite3

    if not Path(path).exists():
        raise FileNotFoundError(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _disable_pysqlite_autobegin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def alembic_config(url: str) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Brings the schema to `revision` through Alembic: the only way the schema changes."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration's revision, read from the migration files' own `revision` / `down_revision` lines
    (no Alembic import: every command checks the schema is current before it runs)."""
    pattern = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*["\']?([^"\'\s]+)["\']?', re.M)
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(pattern.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            if found.get("down_revision") not in (None, "None"):
                parents.add(found["down_revision"])
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads: {heads}")
    return heads[0]


def schema_ready(engine: Engine) -> bool:
    return "drawdown" in inspect(engine).get_table_names()


def streamed(
    conn: Connection, batch: int, statement: Executable, params: dict[str, Any] | None = None
) -> CursorResult:  # type: ignore[type-arg]
    """Runs one statement with a server-side cursor, `batch` rows at a time.

    The options go on the statement, not the connection: `Connection.execution_options` changes the connection
    itself, and psycopg refuses the next executemany on a server-side cursor.
    """
    return conn.execute(statement.execution_options(stream_results=True, yield_per=batch), params)


# PostgreSQL's default random_page_cost (4) prices an index page read as a seek on a spinning disk; 1.1 is the
# usual figure for SSDs or a cached working set. The import's transaction and the share rule's queries run with it
# through pg_local_settings (ledger.io.importer and ledger.rules.share say what the default cost each of them).
CACHED_PAGE_COSTS = {"random_page_cost": "1.1"}


@contextmanager
def pg_local_settings(conn: Connection, **settings: str) -> Iterator[None]:
    """PostgreSQL: run the statements inside with these settings (`set_config(…, is_local)`), then put the previous
    values back, so the caller's transaction carries on as it was; on SQLite, nothing. When a statement inside
    fails, the values stay until the rollback that must follow, which discards them anyway."""
    if conn.dialect.name != "postgresql":
        yield
        return
    previous = {
        name: conn.exec_driver_sql("SELECT current_setting(%s)", (name,)).scalar_one() for name in settings
    }
    for name, value in settings.items():
        conn.exec_driver_sql("SELECT set_config(%s, %s, true)", (name, value))
    yield
    for name, value in previous.items():
        conn.exec_driver_sql("SELECT set_config(%s, %s, true)", (name, value))
