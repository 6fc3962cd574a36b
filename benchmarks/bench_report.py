"""Benchmark of the month-end PDF reports (issue 5). Not a test: prints figures for docs/benchmarks.md.

Two measurements, each in a fresh child process so its peak RSS is its own:
  tool   one tool-month with 20,000 drawdowns (goal ≤ 5 s), against two raw baselines in the same process:
         fetching the same 20,000 rows with a bare cursor, and laying them out as one naive platypus Table.
  batch  the whole month-end batch (every tool with activity or balance, plus the summary) for June on a
         100k-drawdown ledger and a 1M-drawdown ledger, both one year (goal at 1M: ≤ 10 s, ≤ 200 MB), against a raw
         fetch of the month's rows and a raw full scan of the drawdown table.

Usage: .venv/bin/python benchmarks/bench_report.py [--work /tmp/bench-report] [--skip-big]
The ledgers are built once under --work and reused (delete the directory to rebuild): the 100k one with the demo
generator, the 1M one with demo reference data plus bulk-inserted synthetic drawdowns (build_bulk_ledger).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAMP = "2023-07-01T09:00:00+08:00"


def _ledger(db: Path | str) -> Any:
    from ledger.facade import Ledger

    return Ledger(str(db))


def build_tool_ledger(db: Path | str, rows: int = 20_000) -> None:
    """Demo reference data, then `rows` 京创通 drawdowns in March 2023 written in bulk under one audit record."""
    from sqlalchemy import text

    from ledger.services.audit import begin_audit
    from ledger.services.bulk import insert_drawdowns

    ledger = _ledger(db)
    ledger.init()
    ledger.load_demo(drawdowns=2000, year=2023, seed=11)
    rng = random.Random(5)
    with ledger.transaction() as conn:
        banks = [int(r[0]) for r in conn.execute(text("SELECT id FROM institution"))]
        firms = [int(r[0]) for r in conn.execute(text("SELECT id FROM enterprise"))]
        audit = begin_audit(conn, ledger.actor, "bench", "drawdown", "", {"rows": rows})

        def gen():  # type: ignore[no-untyped-def]
            for n in range(rows):
                drawn = date(2023, 3, 1) + timedelta(days=n % 31)
                amount = rng.randrange(10_000_00, 9_000_000_00, 100)
                yield {
                    "tool_code": "JCT",
                    "institution_id": rng.choice(banks),
                    "enterprise_id": rng.choice(firms),
                    "drawn_on": drawn,
                    "maturity_on": drawn + timedelta(days=rng.randrange(30, 180)),
                    "amount_fen": amount,
                    "principal_fen": amount,
                    "interest_fen": 0,
                    "cb_rate_ppm": rng.choice((17_500, 20_000)),
                    "table_rate_ppm": 20_000,
                    "lend_rate_ppm": rng.randrange(22_000, 30_000, 50),
                    "bill_no": None,
                    "bill_range": None,
                    "batch_ref": "",
                    "ext_ref": f"BENCH{n:06d}",
                    "key_area": rng.random() < 0.6,
                    "key_area_reason": "bench",
                    "override_reason": "",
                }

        insert_drawdowns(conn, audit, gen())
        audit.commit(conn)
    ledger.dispose()


def build_demo_ledger(db: Path, drawdowns: int, year: int, years: int) -> float:
    started = time.perf_counter()
    ledger = _ledger(db)
    ledger.init()
    ledger.load_demo(drawdowns=drawdowns, year=year, years=years, seed=5)
    ledger.dispose()
    return time.perf_counter() - started


def build_bulk_ledger(db: Path, total: int, first_year: int, years: int) -> float:
    """Demo reference data and 20,000 demo drawdowns, then synthetic drawdowns up to `total`, spread evenly over
    the years across the tools available on each day, written in bulk under one audit record (the demo generator
    itself is far slower than this at 1M rows on a shared machine)."""
    from sqlalchemy import text

    from ledger.services.audit import begin_audit
    from ledger.services.bulk import insert_drawdowns

    started = time.perf_counter()
    ledger = _ledger(db)
    ledger.init()
    ledger.load_demo(drawdowns=20_000, year=first_year + years - 1, years=years, seed=5)
    rng = random.Random(9)
    tools = list(ledger.catalogue)
    with ledger.transaction() as conn:
        if conn.dialect.name == "sqlite":
            # A million rows into seven indexes in one transaction: with SQLite's default 2 MB page cache every
            # insert misses on the index pages and the load crawls; give this one connection 1 GB.
            conn.exec_driver_sql("PRAGMA cache_size = -1000000")
        have = conn.execute(text("SELECT COUNT(*) FROM drawdown")).scalar_one()
        banks = [int(r[0]) for r in conn.execute(text("SELECT id FROM institution"))]
        firms = [int(r[0]) for r in conn.execute(text("SELECT id FROM enterprise"))]
        extra = total - int(have)
        audit = begin_audit(conn, ledger.actor, "bench", "drawdown", "", {"rows": extra})
        start = date(first_year, 1, 1)
        span = (date(first_year + years - 1, 12, 31) - start).days + 1

        def gen():  # type: ignore[no-untyped-def]
            for n in range(extra):
                drawn = start + timedelta(days=n * span // extra)
                open_tools = [t for t in tools if t.available_on(drawn)] or tools
                tool = open_tools[n % len(open_tools)]
                amount = rng.randrange(10_000_00, 9_000_000_00, 100)
                yield {
                    "tool_code": tool.code,
                    "institution_id": rng.choice(banks),
                    "enterprise_id": rng.choice(firms),
                    "drawn_on": drawn,
                    "maturity_on": drawn + timedelta(days=rng.randrange(60, 365)),
                    "amount_fen": amount,
                    "principal_fen": amount,
                    "interest_fen": 0,
                    "cb_rate_ppm": rng.choice((17_500, 20_000, 12_500)),
                    "table_rate_ppm": None,
                    "lend_rate_ppm": rng.randrange(22_000, 40_000, 50),
                    "bill_no": None,
                    "bill_range": None,
                    "batch_ref": "",
                    "ext_ref": f"BULK{n:07d}",
                    "key_area": rng.random() < 0.5,
                    "key_area_reason": "bench",
                    "override_reason": "",
                }

        insert_drawdowns(conn, audit, gen())
        audit.commit(conn)
    ledger.dispose()
    return time.perf_counter() - started


def child_tool(db: Path | str, out: Path, naive: bool = True) -> dict[str, Any]:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate, Table
    from sqlalchemy import text

    from ledger.reports import batch
    from ledger.reports.fonts import register_font

    ledger = _ledger(db)
    register_font()
    sql = (
        "SELECT d.id, d.drawn_on, d.maturity_on, i.code, e.name, d.amount_fen, d.cb_rate_ppm, d.lend_rate_ppm, "
        "d.key_area FROM drawdown d JOIN institution i ON i.id = d.institution_id JOIN enterprise e "
        "ON e.id = d.enterprise_id WHERE d.tool_code = 'JCT' AND d.drawn_on BETWEEN '2023-03-01' AND '2023-03-31' "
        "ORDER BY d.drawn_on, d.id"
    )
    started = time.perf_counter()
    with ledger.connect() as conn:
        raw_rows = conn.execute(text(sql)).all()
    raw_fetch = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    results = batch.monthly_reports(ledger, "2023-03", ["JCT"], out, STAMP)
    report_seconds, report_cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_report = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    naive_table = None
    if naive:  # over half a minute: only in the stand-alone run
        cells = [[str(c) for c in r] for r in raw_rows]
        started = time.perf_counter()
        SimpleDocTemplate(io.BytesIO(), pagesize=A4, initialFontName="LedgerCJK").build(
            [Table(cells, repeatRows=1, style=[("FONT", (0, 0), (-1, -1), "LedgerCJK", 6.8)])]
        )
        naive_table = round(time.perf_counter() - started, 2)
    tool = results[0]
    return {
        "rows": len(raw_rows),
        "tool_report_s": round(tool.seconds, 2),
        "with_summary_s": round(report_seconds, 2),
        "with_summary_cpu_s": round(report_cpu, 2),
        "pages": tool.pages,
        "pdf_bytes": tool.path.stat().st_size,
        "raw_fetch_s": round(raw_fetch, 3),
        "naive_one_table_s": naive_table,
        "peak_rss_mib_after_report": round(rss_report / 1024, 1),
    }


def child_batch(db: Path | str, out: Path, month: str) -> dict[str, Any]:
    from sqlalchemy import text

    from ledger.reports import batch

    ledger = _ledger(db)
    with ledger.connect() as conn:
        started = time.perf_counter()
        total, _fen = conn.execute(text("SELECT COUNT(*), SUM(amount_fen) FROM drawdown")).one()
        raw_scan = time.perf_counter() - started
        in_month = conn.execute(
            text("SELECT COUNT(*) FROM drawdown WHERE drawn_on BETWEEN :a AND :b"),
            {"a": f"{month}-01", "b": f"{month}-31"},
        ).scalar_one()
        # The baseline: a raw fetch of the month's rows with what the appendix shows (names joined).
        started = time.perf_counter()
        fetched = conn.execute(
            text(
                "SELECT d.id, d.tool_code, d.drawn_on, d.maturity_on, i.name, e.name, d.amount_fen, d.principal_fen, "
                "d.cb_rate_ppm, d.lend_rate_ppm, d.key_area, d.bill_no FROM drawdown d "
                "JOIN institution i ON i.id = d.institution_id JOIN enterprise e ON e.id = d.enterprise_id "
                "WHERE d.drawn_on BETWEEN :a AND :b"
            ),
            {"a": f"{month}-01", "b": f"{month}-31"},
        ).all()
        raw_month = time.perf_counter() - started
        del fetched
    started, cpu = time.perf_counter(), time.process_time()
    results = batch.monthly_reports(ledger, month, None, out, STAMP)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "ledger_drawdowns": int(total),
        "month_drawdowns": int(in_month),
        "reports": len(results),
        "pages": sum(r.pages for r in results),
        "batch_s": round(seconds, 2),
        "batch_cpu_s": round(cpu, 2),
        "slowest_report_s": round(max(r.seconds for r in results), 2),
        "raw_full_scan_s": round(raw_scan, 3),
        "raw_month_fetch_s": round(raw_month, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def ensure_pg_database(server_url: str, name: str) -> str:
    """Creates (once) and fills the benchmark database on the PostgreSQL server; returns its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = server_url.rsplit("/", 1)[0] + "/" + name
    if not exists:
        build_tool_ledger(url)
    return url


def run_child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "_child", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_avg_1m"] = round(os.getloadavg()[0], 1)  # the machine is shared: say how busy it was
    return result


def run(scale: int) -> list[dict[str, Any]]:
    """benchmarks/run.py entry: the month-end batch on the suite's demo ledger of `scale` drawdowns (a copy, since
    the batch registers its reports), and at the smallest scale also the 20,000-row tool-month."""
    import shutil
    import tempfile

    from benchmarks import datasets

    rows: list[dict[str, Any]] = []
    work = datasets.DATA / "report"
    work.mkdir(parents=True, exist_ok=True)
    if scale <= 100_000:
        tool_db = work / "tool20k.db"
        with datasets._building(tool_db.name):
            if not tool_db.exists():
                build_tool_ledger(tool_db)
        with tempfile.TemporaryDirectory() as out:
            t = run_child("tool", str(tool_db), out, "quick")
        rows.append(
            {
                "benchmark": "report: one tool-month (20k drawdowns)",
                "backend": "sqlite",
                "rows": t["rows"],
                "seconds": t["tool_report_s"],
                "baseline": "fetch the appendix rows",
                "baseline_seconds": t["raw_fetch_s"],
                "ratio": round(t["tool_report_s"] / t["raw_fetch_s"], 1),
                "peak_mb": t["peak_rss_mib_after_report"],
                "pages": t["pages"],
                "cpu_s": t["with_summary_cpu_s"],
                "goal": "≤ 5 s",
            }
        )
    month = f"{datasets.DEMO_YEAR}-06"
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "ledger.db"
        source = datasets.demo_db(scale)
        shutil.copy(source, copy)
        wal = source.with_name(source.name + "-wal")
        if wal.exists():  # not yet checkpointed pages live in the WAL: the copy needs them
            shutil.copy(wal, copy.with_name(copy.name + "-wal"))
        b = run_child("batch", str(copy), str(Path(tmp) / "out"), month)
    rows.append(
        {
            "benchmark": f"report: month-end batch {month}",
            "backend": "sqlite",
            "rows": b["ledger_drawdowns"],
            "seconds": b["batch_s"],
            "baseline": "full scan COUNT/SUM",
            "baseline_seconds": b["raw_full_scan_s"],
            "ratio": round(b["batch_s"] / max(b["raw_full_scan_s"], 1e-9), 1),
            "peak_mb": b["peak_rss_mib"],
            "month_rows": b["month_drawdowns"],
            "reports": b["reports"],
            "pages": b["pages"],
            "cpu_s": b["batch_cpu_s"],
            "goal": "≤ 60 s",
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/bench-report")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--month", default="2023-06")
    parser.add_argument(
        "--pg",
        help="also measure the tool-month on this PostgreSQL server URL (a database "
        "bench_report_tool is created there once), e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    )
    args, rest = parser.parse_known_args()
    if rest and rest[0] == "_child":
        kind, out = rest[1], Path(rest[3])
        db: Path | str = rest[2] if "://" in rest[2] else Path(rest[2])
        if kind == "tool":
            data = child_tool(db, out, naive=rest[4:5] != ["quick"])
        else:
            data = child_batch(db, out, rest[4])
        print(json.dumps(data, ensure_ascii=False))
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    tool_db = work / "tool20k.db"
    if not tool_db.exists():
        build_tool_ledger(tool_db)
    print("tool-month:", run_child("tool", str(tool_db), str(work / "out-tool")))
    if args.pg:
        url = ensure_pg_database(args.pg, "bench_report_tool")
        print("tool-month (PostgreSQL):", run_child("tool", url, str(work / "out-tool-pg")))
    # The scale: 1M drawdowns in one year (about 81k a month); built with bulk inserts (the demo generator
    # is far slower at that size).
    ledgers = [("small", 100_000, 2023, 1)] + ([] if args.skip_big else [("big1y", 1_000_000, 2023, 1)])
    for name, drawdowns, year, years in ledgers:
        db = work / f"{name}.db"
        if not db.exists():
            build = build_demo_ledger if drawdowns <= 100_000 else build_bulk_ledger
            print(f"building {name}: {drawdowns} drawdowns … {build(db, drawdowns, year, years):.0f} s")
        print(f"batch {name}:", run_child("batch", str(db), str(work / f"out-{name}"), args.month))


if __name__ == "__main__":
    main()
