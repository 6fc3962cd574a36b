"""A process killed (SIGKILL) in the middle of a 100,000-row import leaves the ledger exactly as it was.

The import is one transaction (ledger/io/importer.py); a killed writer never commits, so SQLite's WAL recovery
and PostgreSQL's abort of the dead session's transaction both leave the previous state. The same file then
imports in full. The kill is aimed, not timed: we wait until the process is inserting drawdowns.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.facade import Ledger
from tests.conftest import fixture_actor
from tests.factories import BANK, setup_bank, uscc
from tests.test_import_helpers import counts, table_indexes

ROWS = int(os.environ.get("LEDGER_CRASH_ROWS", "100000"))  # the 100k; lower it for a quick local run
BORROWERS = 5_000  # 20 rows of 100,000 yuan each: 2 million per borrower, inside 京民融's 10 million cap


def _write_file(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "tool",
                "institution_code",
                "institution_name",
                "enterprise_uscc",
                "enterprise_name",
                "industry_code",
                "enterprise_size",
                "drawn_on",
                "maturity_on",
                "amount",
                "lend_rate",
                "ref",
            ]
        )
        for i in range(ROWS):
            n = i % BORROWERS + 1
            out.writerow(
                [
                    "京民融",
                    BANK,
                    "北京银行",
                    uscc(n),
                    f"北京测试企业{n}有限公司",
                    "I6510",
                    "小型",
                    "2023-03-01",
                    "2024-03-01",
                    "100000.00",
                    "3.50",
                    f"C{i:06d}",
                ]
            )
    return path


def _import(url: str, path: Path) -> subprocess.Popen[bytes]:
    # SQLite's default-sized page cache, so the import's pages spill to the WAL as it inserts (with the ledger's
    # 256 MiB cache nothing reaches the disk before the commit, and the kill could not be aimed at the inserts).
    env = {**os.environ, "LEDGER_SQLITE_CACHE_MIB": "2"}
    if fixture_actor(url) is not None:  # a trainee's name on SQLite; PostgreSQL acts as the login
        env["LEDGER_USER"] = "importer"
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.cli.main", "--db", url, "import", "drawdowns", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _inserting(ledger: Ledger, db_file: Path | None) -> bool:
    """True once the importer is writing drawdown rows (WAL growing / an INSERT INTO drawdown running)."""
    if db_file is not None:
        wal = Path(str(db_file) + "-wal")
        return wal.exists() and wal.stat().st_size > 80 * ROWS  # ~8 MiB at 100k rows: well into the inserts
    with ledger.engine.connect() as conn:
        return bool(
            conn.execute(
                text(  # the importer's session holds a write lock on drawdown
                    "SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'drawdown' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
                )
            ).scalar_one()
        )


@pytest.mark.slow
def test_sigkill_mid_import_leaves_the_ledger_as_before_and_the_import_then_succeeds(
    ledger: Ledger, tmp_path: Path
) -> None:
    setup_bank(ledger)
    path = _write_file(tmp_path / "big.csv")
    before, indexes = counts(ledger), table_indexes(ledger)
    db_file = Path(ledger.engine.url.database or "") if ledger.engine.dialect.name == "sqlite" else None

    process = _import(ledger.url, path)
    started = time.perf_counter()
    while not _inserting(ledger, db_file):
        assert process.poll() is None, f"the import ended before it could be killed: {process.communicate()}"
        assert time.perf_counter() - started < 300
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the insert phase
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    killed_after = time.perf_counter() - started
    assert process.returncode == -signal.SIGKILL

    ledger.engine.dispose()  # fresh connections, as the next user would have
    assert counts(ledger) == before
    # On SQLite a file this large into a ledger this small is loaded with four indexes dropped in the
    # transaction (ledger.services.bulk_indexes): the kill must leave them as they were.
    assert table_indexes(ledger) == indexes
    orphan = time.perf_counter()
    while _inserting(
        ledger, None if db_file is None else Path("/nonexistent")
    ):  # PostgreSQL: the dead session
        assert time.perf_counter() - orphan < 600
        time.sleep(0.1)
    orphan_seconds = time.perf_counter() - orphan
    verdict = ledger.verify_audit()
    assert verdict.ok, verdict.problem

    reimport = time.perf_counter()
    again = _import(ledger.url, path)
    _out, err = again.communicate(timeout=600)
    reimport_seconds = time.perf_counter() - reimport
    assert again.returncode == 0, err.decode()
    after = counts(ledger)
    assert after["drawdown"] == before["drawdown"] + ROWS
    assert after["enterprise"] == before["enterprise"] + BORROWERS
    assert ledger.verify_audit().ok
    total = ledger.sql("SELECT SUM(amount_fen), COUNT(DISTINCT ext_ref) FROM drawdown").rows[0]
    assert (int(total[0]), int(total[1])) == (ROWS * 10_000_000, ROWS)
    print(
        f"\n{ledger.engine.dialect.name}: killed after {killed_after:.1f}s; the dead session's locks gone "
        f"after {orphan_seconds:.1f}s; re-import of {ROWS} rows {reimport_seconds:.1f}s"
    )
