"""The TUI's own read-only connection pool for its screens' queries.

Why not `Ledger.connect()`: on SQLite its transactions start with BEGIN IMMEDIATE (the write lock), so every read
worker would queue behind the others and a slow dashboard query would make another operator's booking wait. Why
not `Ledger.read_only_engine`: on SQLite it uses SingletonThreadPool (one connection per thread, at most five),
which closes other threads' connections once more threads than that have used it — and the UI runs each query in a
fresh worker thread. So SQLite gets a small QueuePool of `mode=ro` connections with plain deferred BEGINs (a WAL
snapshot per `with` block, no lock held); PostgreSQL uses the ledger's ordinary engine.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from ledger.facade import Ledger


def read_engine(ledger: Ledger) -> Engine:
    if not ledger.url.startswith("sqlite"):
        return ledger.engine
    path = make_url(ledger.url).database or ""

    def connect() -> Any:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    engine = create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=4, max_overflow=8)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    return engine
