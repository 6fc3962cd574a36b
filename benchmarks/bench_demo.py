"""Demo load (issue 2): `ledger demo` into SQLite vs a raw sqlite3 executemany of the very same rows.

The demo path generates each row, runs the booking rules on it, hashes it into the audit digest and inserts it
through SQLAlchemy; the baseline inserts the finished rows (read back from the demo's database) with nothing
else, into the same schema and indexes. Each side runs in its own process so peak memory is its own.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LEDGER = [sys.executable, "-m", "ledger.cli.main"]


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed")
    return elapsed, usage.ru_maxrss / 1024


RAW_BASELINE = r"""
import shutil, sqlite3, sys, time
src, template, dst = sys.argv[1:4]
shutil.copy(template, dst)
rows = sqlite3.connect(src).execute("SELECT * FROM drawdown ORDER BY id").fetchall()
con = sqlite3.connect(dst, isolation_level=None)
con.execute("PRAGMA journal_mode=WAL"); con.execute("PRAGMA synchronous=NORMAL")
start = time.perf_counter()
con.execute("BEGIN")
con.executemany("INSERT INTO drawdown VALUES (" + ",".join("?" * len(rows[0])) + ")", rows)
con.execute("COMMIT")
print(time.perf_counter() - start)
"""


def run(scale: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        demo_db, template, raw_db = (str(Path(tmp) / n) for n in ("demo.db", "template.db", "raw.db"))
        subprocess.run([*LEDGER, "--db", template, "init"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*LEDGER, "--db", demo_db, "init"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        demo_s, demo_mb = _timed(
            [
                *LEDGER,
                "--db",
                demo_db,
                "demo",
                "--drawdowns",
                str(scale),
                "--year",
                "2025",
                "--years",
                "3",
                "--seed",
                "1",
            ]
        )
        # Raw sqlite3 leaves foreign keys off (its default), so the baseline pays for nothing but the inserts
        # and the same indexes.
        out = subprocess.run(
            [sys.executable, "-c", RAW_BASELINE, demo_db, template, raw_db],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        raw_s = float(out.strip())
        rows = sqlite3.connect(demo_db).execute("SELECT COUNT(*) FROM drawdown").fetchone()[0]
    return [
        {
            "benchmark": "demo load (generate + rules + audit digest + insert)",
            "backend": "sqlite",
            "rows": rows,
            "seconds": round(demo_s, 2),
            "baseline": "raw sqlite3 executemany of the same rows",
            "baseline_seconds": round(raw_s, 2),
            "ratio": round(demo_s / raw_s, 1),
            "peak_mb": round(demo_mb),
        }
    ]


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [100_000]:
        for row in run(n):
            print(row)
