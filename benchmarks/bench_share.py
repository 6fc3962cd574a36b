"""Benchmark of `ledger check share` (issue 3) beside hand-written SQL over the same table, in the same process.

Build the ledgers first with the demo generator (data stays under /tmp):

    ledger --db /tmp/bench_share.db demo --drawdowns 1000000 --year 2025 --years 5
    ledger --db /tmp/bench_share_200k.db demo --drawdowns 200000 --year 2025 --years 1
    (and the same against postgresql://postgres@127.0.0.1:5432/bench_share_1m and …/bench_share_200k)

Then: .venv/bin/python benchmarks/bench_share.py --year 2025 DB [DB …]

`benchmarks/run.py` calls run(scale) instead: the suite's demo ledger and its PostgreSQL twin (datasets.py), year 2025.

For each database it times, best and median of --repeat interleaved rounds after one warm-up:
- raw-floor: SUM over the year from the covering index, reversals NOT excluded (no rule can be faster);
- raw-share: the hand-written share query an analyst would write, reversals excluded with NOT EXISTS;
- raw breakdown: the same figures as the rule written by hand (per day and tool, per bank, NOT EXISTS);
- compute_share: the rule as `check share` runs it (totals, by tool, by month, by bank, headroom): whole months
  from share_month;
- the same as of Dec 30 beside the raw share to that day: the worst case, December's 30 days from the drawdowns;
- the CLI end to end (`ledger check share --json`) against `ledger --help` as process start-up;
and checks that compute_share's totals equal raw-share's to the fen. Peak memory is tracemalloc's peak of Python
allocations during compute_share, and the process's max RSS.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ledger.facade import Ledger
from ledger.rules.checks import run_checks
from ledger.rules.share import compute_share

RAW_FLOOR = """
SELECT SUM(CASE WHEN key_area THEN amount_fen ELSE 0 END), SUM(amount_fen), COUNT(*)
FROM drawdown WHERE drawn_on BETWEEN :start AND :end
"""
RAW_SHARE = """
SELECT SUM(CASE WHEN d.key_area THEN d.amount_fen ELSE 0 END), SUM(d.amount_fen), COUNT(*)
FROM drawdown d
WHERE d.drawn_on BETWEEN :start AND :end
  AND NOT EXISTS (SELECT 1 FROM drawdown_event e WHERE e.drawdown_id = d.id AND e.kind = 'reversal')
"""
RAW_BREAKDOWN = (  # the same figures as compute_share, written by hand: per day/tool and per bank, NOT EXISTS
    """
SELECT d.drawn_on, d.tool_code, d.key_area, COUNT(*), SUM(d.amount_fen) FROM drawdown d
WHERE d.drawn_on BETWEEN :start AND :end
  AND NOT EXISTS (SELECT 1 FROM drawdown_event e WHERE e.drawdown_id = d.id AND e.kind = 'reversal')
GROUP BY d.drawn_on, d.tool_code, d.key_area
""",
    """
SELECT d.institution_id, d.key_area, COUNT(*), SUM(d.amount_fen) FROM drawdown d
WHERE d.drawn_on BETWEEN :start AND :end
  AND NOT EXISTS (SELECT 1 FROM drawdown_event e WHERE e.drawdown_id = d.id AND e.kind = 'reversal')
GROUP BY d.institution_id, d.key_area
""",
)
LEDGER = str(Path(sys.executable).with_name("ledger"))


def timed(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, float, Any, float]]:
    """name -> (best wall, median wall, result, best CPU of this process), the functions run interleaved round by
    round so a burst of load on the shared machine hits them alike. With SQLite the query runs in-process, so the
    CPU time is the work itself, undisturbed by other processes competing for the two cores."""
    results = {name: fn() for name, fn in fns.items()}  # warm-up (page cache, statement cache)
    times: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: (min(times[name]), statistics.median(times[name]), results[name], min(cpu[name]))
        for name in fns
    }


def walls(commands: list[list[str]], repeat: int) -> list[tuple[float, float]]:
    """(best wall, best CPU user+sys) of each command, run interleaved so a burst of load hits them alike. The
    child's CPU time is what a quiet machine's wall time would be, near enough, for a single-threaded process."""
    best = [(float("inf"), float("inf"))] * len(commands)
    for _ in range(repeat):
        for i, args in enumerate(commands):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(args, capture_output=True, check=False)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            best[i] = (min(best[i][0], elapsed), min(best[i][1], cpu))
    return best


def bench(db: str, year: int, repeat: int, with_checks: bool) -> dict[str, Any]:
    ledger = Ledger(db)
    params = {"start": date(year, 1, 1), "end": date(year, 12, 31)}
    dec30 = {"start": date(year, 1, 1), "end": date(year, 12, 30)}
    out: dict[str, Any] = {"db": db, "backend": ledger.engine.dialect.name}
    with ledger.connect() as conn:
        out["rows_total"] = conn.execute(text("SELECT COUNT(*) FROM drawdown")).scalar_one()
        out.update(
            timed(
                {
                    "floor": lambda: conn.execute(text(RAW_FLOOR), params).one(),
                    "raw": lambda: conn.execute(text(RAW_SHARE), params).one(),
                    "breakdown": lambda: [conn.execute(text(sql), params).all() for sql in RAW_BREAKDOWN],
                    "rule": lambda: compute_share(conn, ledger.config, year),
                    "headline": lambda: compute_share(conn, ledger.config, year, by_institution=False),
                    # as_of Dec 30: Jan-Nov from share_month, December's 30 days from the drawdowns (the
                    # most a period can ask of the drawdown table), beside the raw share to the same day
                    "raw_dec30": lambda: conn.execute(text(RAW_SHARE), dec30).one(),
                    "rule_dec30": lambda: compute_share(conn, ledger.config, year, dec30["end"]),
                },
                repeat,
            )
        )
        tracemalloc.start()
        compute_share(conn, ledger.config, year)
        out["py_peak_kib"] = tracemalloc.get_traced_memory()[1] / 1024
        tracemalloc.stop()
        if with_checks:
            start = time.perf_counter()
            out["findings"] = len(run_checks(conn, ledger.config, year))
            out["checks_s"] = time.perf_counter() - start
    ledger.dispose()
    out["rows_year"] = out["floor"][2][2]
    out["exact"] = all(
        (int(raw[0]), int(raw[1]), int(raw[2])) == (rule.key_area_fen, rule.total_fen, rule.drawdowns)
        for raw, rule in ((out["raw"][2], out["rule"][2]), (out["raw_dec30"][2], out["rule_dec30"][2]))
    )
    out["startup_s"], out["cli_s"] = walls(
        [[LEDGER, "--help"], [LEDGER, "--db", db, "check", "share", "--year", str(year), "--json"]], 7
    )
    return out


def summary(r: dict[str, Any]) -> dict[str, Any]:
    """bench()'s figures as plain numbers (its results hold the rule's objects)."""
    return {
        "backend": r["backend"],
        "rows_total": r["rows_total"],
        "rows_year": r["rows_year"],
        "exact": r["exact"],
        **{
            f"{name}_s": r[name][0]
            for name in ("floor", "raw", "breakdown", "rule", "raw_dec30", "rule_dec30")
        },
        "cli_minus_startup_s": r["cli_s"][0] - r["startup_s"][0],
        "py_peak_kib": r["py_peak_kib"],
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(scale: int) -> list[dict[str, Any]]:
    """benchmarks/run.py entry: the share rule for the demo's last year on the suite's demo ledger of `scale`
    drawdowns (SQLite, and its PostgreSQL twin when a server is reachable), each in a child process of its own so
    the peak RSS is the rule's."""
    import json

    from benchmarks import datasets

    dbs = [str(datasets.demo_db(scale))]
    if datasets.postgres_reachable():
        dbs.append(datasets.demo_postgres(scale))
    rows: list[dict[str, Any]] = []
    for db in dbs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", db, "--year", str(datasets.DEMO_YEAR)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        common = {"backend": r["backend"], "rows": r["rows_year"], "peak_mb": round(r["peak_mb"])}
        baseline = "hand-written SQL: the year's key-area and total sums, reversals excluded (NOT EXISTS)"
        rows.append(
            {
                "benchmark": f"check share {datasets.DEMO_YEAR} (compute_share: totals, by tool, month, bank)",
                **common,
                "seconds": round(r["rule_s"], 4),
                "baseline": baseline,
                "baseline_seconds": round(r["raw_s"], 4),
                "ratio": round(r["rule_s"] / r["raw_s"], 2),
                "same figures by hand (per day/tool and bank) s": round(r["breakdown_s"], 4),
                "equal to the fen": r["exact"],
                "ledger rows": r["rows_total"],
                "CLI minus start-up s": round(r["cli_minus_startup_s"], 3),
            }
        )
        rows.append(
            {
                "benchmark": f"check share to {datasets.DEMO_YEAR}-12-30 (December from the drawdowns)",
                **common,
                "seconds": round(r["rule_dec30_s"], 4),
                "baseline": baseline,
                "baseline_seconds": round(r["raw_dec30_s"], 4),
                "ratio": round(r["rule_dec30_s"] / r["raw_dec30_s"], 2),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dbs", nargs="+")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--checks", action="store_true", help="also time `check all` once")
    parser.add_argument("--child", action="store_true", help="one database, figures as a JSON line (run.py)")
    args = parser.parse_args()
    if args.child:
        import json

        print(json.dumps(summary(bench(args.dbs[0], args.year, args.repeat, args.checks))))
        return
    print(f"machine: {platform.machine()}, python {platform.python_version()}, {platform.system()}")
    print(
        "| ledger | backend | rows (table / year) | raw floor | raw share (NOT EXISTS) | raw breakdown "
        "| compute_share | rule ÷ raw share | rule ÷ raw breakdown | CPU: raw share / rule / rule without banks "
        "| as of Dec 30: raw share / rule (ratio) | CLI − start-up: wall; CPU | py peak | exact |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for db in args.dbs:
        r = bench(db, args.year, args.repeat, args.checks)
        floor, raw, rule, hand = r["floor"][0], r["raw"][0], r["rule"][0], r["breakdown"][0]
        name = db.rsplit("/", 1)[-1]
        raw_cpu, rule_cpu, head_cpu = r["raw"][3], r["rule"][3], r["headline"][3]
        if r["backend"] == "sqlite":  # the query runs in this process: its CPU time is the whole work
            cpu = (
                f"{raw_cpu * 1000:.0f} / {rule_cpu * 1000:.0f} / {head_cpu * 1000:.0f} ms "
                f"({rule_cpu / raw_cpu:.2f}×, {head_cpu / raw_cpu:.2f}×)"
            )
        else:  # the server's CPU is not ours to measure: show the client side only
            cpu = f"client only: {rule_cpu * 1000:.0f} / {head_cpu * 1000:.0f} ms"
        print(
            f"| {name} | {r['backend']} | {r['rows_total']:,} / {r['rows_year']:,} | {floor * 1000:.0f} ms "
            f"| {raw * 1000:.0f} ms | {hand * 1000:.0f} ms | {rule * 1000:.0f} ms (median {r['rule'][1] * 1000:.0f}) "
            f"| {rule / raw:.2f}× | {rule / hand:.2f}× "
            f"| {cpu} "
            f"| {r['raw_dec30'][0] * 1000:.0f} / {r['rule_dec30'][0] * 1000:.0f} ms "
            f"({r['rule_dec30'][0] / r['raw_dec30'][0]:.2f}×) "
            f"| {(r['cli_s'][0] - r['startup_s'][0]) * 1000:.0f} ms; {(r['cli_s'][1] - r['startup_s'][1]) * 1000:.0f} ms "
            f"(CPU {r['cli_s'][1]:.2f} s − {r['startup_s'][1]:.2f} s) | {r['py_peak_kib']:.0f} KiB | {r['exact']} |"
        )
        if args.checks:
            print(f"|   `check all` {name}: {r['checks_s']:.2f} s, {r['findings']} findings |" + " |" * 13)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nbenchmark process max RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
