"""Benchmark data sets, built once and reused: demo ledgers and their drawdown exports, under benchmarks/data/.

`run.py` builds them for every scale before calling the bench_*.py modules, which find them here:

    from benchmarks.datasets import demo_db, drawdowns_csv, fresh_sqlite, fresh_postgres
    demo_db(1_000_000)        # SQLite ledger made by `ledger demo` (3 years ending 2025, seed 1)
    drawdowns_csv(1_000_000)  # `ledger export drawdowns` of it: the import benchmark's input file

benchmarks/data/ is git-ignored; delete it to rebuild. Everything runs through the real CLI in child processes.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
LEDGER = [sys.executable, "-m", "ledger.cli.main"]
PG_ADMIN = os.environ.get("LEDGER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DEMO_YEAR, DEMO_YEARS, DEMO_SEED = 2025, 3, 1


def _ledger(*args: str) -> None:
    subprocess.run([*LEDGER, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def label(scale: int) -> str:
    return f"{scale // 1_000_000}m" if scale % 1_000_000 == 0 else f"{scale // 1000}k"


@contextmanager
def _building(name: str) -> Iterator[None]:
    """Several benchmark scripts (and colleagues) may ask for the same data set at once: one builds, the rest wait."""
    DATA.mkdir(parents=True, exist_ok=True)
    with (DATA / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def demo_db(scale: int) -> Path:
    """A SQLite ledger with `scale` demo drawdowns (built on first use, a few minutes at 1M)."""
    path = DATA / f"demo_{label(scale)}.db"
    with _building(path.name):
        if not path.exists():
            _build_demo(path, scale)
    return path


def _build_demo(path: Path, scale: int) -> None:
    """`ledger init` + `ledger demo` into a partial file, renamed when complete (a crash leaves no half set)."""
    partial = path.with_suffix(".building.db")
    for stale in DATA.glob(partial.name + "*"):
        stale.unlink()
    start = time.perf_counter()
    _ledger("--db", str(partial), "init")
    load_demo(str(partial), scale)
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    partial.rename(path)
    print(f"  built {path.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)


def drawdowns_csv(scale: int) -> Path:
    """The export of demo_db(scale): live drawdowns in the import's columns (UTF-8 with BOM)."""
    path = DATA / f"drawdowns_{label(scale)}.csv"
    db = demo_db(scale)
    with _building(path.name):
        if not path.exists():
            partial = path.with_suffix(".partial.csv")
            _ledger("--db", str(db), "export", "drawdowns", "--format", "csv", "--out", str(partial))
            partial.rename(path)
    return path


def fresh_sqlite(directory: Path, name: str = "bench.db") -> Path:
    """An initialised, empty SQLite ledger (schema + catalogue)."""
    path = directory / name
    _ledger("--db", str(path), "init")
    return path


def fresh_postgres() -> str:
    """An initialised, empty PostgreSQL ledger in a new database; drop it with drop_postgres(url)."""
    from sqlalchemy import create_engine, text

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    _ledger("--db", url, "init")
    return url


def demo_postgres(scale: int) -> str:
    """The PostgreSQL twin of demo_db(scale): the same demo data set in database bench_demo_<label>, built on first
    use into a database of another name and renamed when complete (a crash leaves no half set). Kept between runs;
    drop it by hand to rebuild."""
    from sqlalchemy import create_engine, text

    name = f"bench_demo_{label(scale)}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with _building(name), admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if exists is None:
                start = time.perf_counter()
                partial = fresh_postgres()
                try:
                    load_demo(partial, scale)
                except BaseException:
                    drop_postgres(partial)
                    raise
                conn.execute(text(f'ALTER DATABASE "{partial.rsplit("/", 1)[1]}" RENAME TO "{name}"'))
                print(f"  built {name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    finally:
        admin.dispose()
    return f"{base}/{name}"


def load_demo(db: str, scale: int) -> None:
    """The benchmarks' one demo data set (fixed year span and seed) into `db`, through the CLI users run."""
    _ledger(
        "--db",
        db,
        "demo",
        "--drawdowns",
        str(scale),
        "--year",
        str(DEMO_YEAR),
        "--years",
        str(DEMO_YEARS),
        "--seed",
        str(DEMO_SEED),
    )


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def postgres_reachable() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_ADMIN, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # any failure means "not reachable": the PostgreSQL rows are skipped
        return False
