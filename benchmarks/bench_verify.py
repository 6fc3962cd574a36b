"""Benchmark of `ledger audit verify` (full, and `--since-anchor`) beside a raw read of what it must read.

Goals (issue 26): full verify ≤ 5 s and a daily verify from the last anchor ≤ 0.5 s on a 1M-drawdown ledger.

The raw baseline, in the same child process: stream every audit record and every drawdown row through sha256 (the
least any verify that reads the rows could do), with no chain logic and no other table. The full verify adds the
chain, every ledger table's digests, every reference table's recorded state and the share_month recomputation.
`--since-anchor` starts at the latest anchor: the bench copies the suite's demo ledger, closes its first month
(the close records the chain head: an anchor) and books nothing after it, so the walk covers one record plus the
mutable tables.

    .venv/bin/python benchmarks/bench_verify.py DB      # one ledger (a copy is made; DB is left as it was)
    benchmarks/run.py --only verify                     # the suite's data sets
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ledger.facade import Ledger


def _raw(ledger: Ledger) -> tuple[float, int]:
    started = time.perf_counter()
    n = 0
    digest = hashlib.sha256()
    with ledger.read() as conn:
        for sql in ("SELECT * FROM audit_log ORDER BY id", "SELECT * FROM drawdown ORDER BY audit_id, id"):
            for row in conn.execution_options(yield_per=20_000).execute(text(sql)):
                digest.update(repr(tuple(row)).encode())
                n += 1
    return time.perf_counter() - started, n


def child(db: str) -> dict[str, Any]:
    ledger = Ledger(db)
    with ledger.read() as conn:
        first = conn.execute(text("SELECT MIN(drawn_on) FROM drawdown")).scalar_one()
        drawdowns = int(conn.execute(text("SELECT COUNT(*) FROM drawdown")).scalar_one())
    month = str(first)[:7]
    if month not in ledger.closed_months():
        ledger.close_month(month)
    raw_s, raw_rows = min(_raw(ledger) for _ in range(2))
    started = time.perf_counter()
    full = ledger.verify_audit()
    full_s = time.perf_counter() - started
    since_times = []
    for _ in range(3):
        started = time.perf_counter()
        since = ledger.verify_audit(since_anchor=True)
        since_times.append(time.perf_counter() - started)
    ledger.dispose()
    return {
        "backend": "sqlite" if "://" not in db or db.startswith("sqlite") else "postgresql",
        "drawdowns": drawdowns,
        "records": full.records,
        "raw_s": raw_s,
        "raw_rows": raw_rows,
        "full_s": full_s,
        "full_ok": full.ok,
        "since_s": min(since_times),
        "since_ok": since.ok,
        "since_from": since.since,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _measure(source: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "verify.db"
        shutil.copy(source, copy)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(copy)], check=True, capture_output=True, text=True
        ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(scale: int) -> list[dict[str, Any]]:
    """benchmarks/run.py entry: SQLite demo ledger of `scale` drawdowns (a copy, since a month is closed in it)."""
    from benchmarks import datasets

    r = _measure(datasets.demo_db(scale))
    common = {"backend": r["backend"], "rows": r["drawdowns"], "peak_mb": round(r["peak_mb"])}
    baseline = "sha256 over every audit record and drawdown row, streamed (no chain, no other table)"
    return [
        {
            "benchmark": "audit verify (full)",
            **common,
            "seconds": round(r["full_s"], 3),
            "baseline": baseline,
            "baseline_seconds": round(r["raw_s"], 3),
            "ratio": round(r["full_s"] / r["raw_s"], 2),
            "intact": r["full_ok"],
        },
        {
            "benchmark": "audit verify --since-anchor",
            **common,
            "seconds": round(r["since_s"], 3),
            "baseline": baseline,
            "baseline_seconds": round(r["raw_s"], 3),
            "ratio": round(r["since_s"] / r["raw_s"], 3),
            "intact": r["since_ok"],
            "from record": r["since_from"],
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("db", nargs="?")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    print(json.dumps(_measure(Path(args.db)), indent=1))


if __name__ == "__main__":
    main()
