"""What roles and maker-checker cost per booking: `Ledger.book` against the raw service call, same process.

    .venv/bin/python benchmarks/access_overhead.py [--db URL] [--n 1000]

Three runs of N single bookings each (one transaction per booking, as a person at the form books):
raw `booking.book` in `engine.begin()` (baseline), `Ledger.book` with no users (bootstrap), `Ledger.book` as an
operator once users exist (role lookup inside the transaction). Prints per-booking milliseconds, the ratio to the
baseline and peak RSS. Uses a fresh SQLite file unless --db is given (a PostgreSQL URL: the database is reset).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.facade import Ledger
from ledger.services import booking
from tests.factories import add_borrower, relending, setup_bank


def _reset_pg(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    url = args.db or str(Path(tempfile.mkdtemp()) / "bench.db")
    training = url.endswith(".db")  # SQLite: a training ledger, so the benchmark can act as several people
    ledger = Ledger(url, actor="bench" if training else None)
    if not url.endswith(".db"):
        _reset_pg(ledger)
    ledger.init(training=training)
    setup_bank(ledger)
    firms = [
        add_borrower(ledger, n, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
        for n in range(1, 101)
    ]
    n = args.n

    def request(run: str, i: int):  # type: ignore[no-untyped-def]
        return relending(firms[i % 100], tool="JCR", amount="1000.00", ext_ref=f"{run}-{i}")

    for i in range(50):  # warm-up (connection pool, statement caches), not timed
        ledger.book(request("warm", i))
    started = time.perf_counter()
    for i in range(n):
        with ledger.engine.begin() as conn:
            booking.book(conn, ledger.policy, ledger.actor, request("raw", i))
    raw = time.perf_counter() - started

    started = time.perf_counter()
    for i in range(n):
        ledger.book(request("boot", i))
    bootstrap = time.perf_counter() - started

    if training:
        ledger.add_user("root", "admin")
        Ledger(url, actor="root").add_user("olga", "operator")
        olga = Ledger(url, actor="olga")
    else:  # PostgreSQL: a real login, provisioned by `ledger user add`
        ledger.add_user(ledger.actor, "admin")
        ledger.add_user("olga", "operator")
        olga = Ledger(url.rsplit("@", 1)[0].rsplit("//", 1)[0] + "//olga@" + url.rsplit("@", 1)[1])
    started = time.perf_counter()
    for i in range(n):
        olga.book(request("role", i))
    roles = time.perf_counter() - started

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend {ledger.engine.dialect.name}, {n} bookings per run")
    for name, seconds in (
        ("raw booking.book", raw),
        ("Ledger.book, no users", bootstrap),
        ("Ledger.book as operator", roles),
    ):
        print(f"  {name:26s} {seconds * 1000 / n:7.2f} ms/booking  ratio {seconds / raw:5.2f}")
    print(f"  peak RSS {peak_mib:.0f} MiB; audit verify: {ledger.verify_audit().ok}")
    olga.dispose()
    ledger.dispose()


if __name__ == "__main__":
    main()
