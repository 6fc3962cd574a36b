"""The engine the TUI's screens read through: the ledger's read-only engine.

On SQLite that is a pool of `mode=ro` connections with deferred BEGINs (a WAL snapshot per `with` block, no lock
held), so a slow dashboard query never makes another operator's booking wait; PostgreSQL uses the ordinary engine
with its MVCC snapshots.
"""

from __future__ import annotations

from sqlalchemy import Engine

from ledger.facade import Ledger


def read_engine(ledger: Ledger) -> Engine:
    return ledger.read_only_engine
