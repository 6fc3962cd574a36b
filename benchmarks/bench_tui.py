"""TUI benchmark: first paint and page-down latency of the drawdown list on 100k and 1M demo ledgers (SQLite).

Each scale runs in a fresh child process, so the figures include importing Textual, SQLAlchemy and the screens
(what an operator waits for after typing `ledger`). The app runs headless (`run_test`, 120x40). Measured:

- import: `import ledger.tui.app` (Textual + facade + app module; screens are imported lazily);
- frame: from process start to the drawdown screen composed (widgets on screen, "加载中…" shown);
- first rows: from process start to the count known and the first page of rows in the list;
- page-down: each press until every visible row is loaded (the next page is prefetched, so most are instant);
- end: the End key (last row: a deep OFFSET) until its rows are loaded;
- filters: count + first page for a tool filter, a month filter, a free-text name filter, a status filter;
- raw: the same first-page SELECT and COUNT(*) run directly on sqlite3 in the same process (the floor), and
  the test harness's own cost of one key press that does nothing (the floor for page-down);
- peak RSS of the child.

Run: .venv/bin/python benchmarks/bench_tui.py [--scales 100000,1000000] [--db EXISTING.db] [--postgres]
`benchmarks/run.py` calls run(scale): the suite's demo ledger (a private copy) and its PostgreSQL twin.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2025, 12, 31)


def _child(db: str) -> dict[str, Any]:
    started = time.perf_counter()
    cpu_started = time.process_time()
    import ledger.tui.app as app_module  # imported here: timing the import is the point

    imported = time.perf_counter() - started
    imported_cpu = time.process_time() - cpu_started
    from ledger.facade import Ledger
    from ledger.services.queries import DrawdownFilter
    from ledger.tui.widgets.drawdown_list import DrawdownList

    out: dict[str, Any] = {"import_s": imported, "import_cpu_s": imported_cpu}
    ledger = Ledger(db)
    app = app_module.LedgerApp(ledger, today=TODAY, start="drawdowns")

    async def wait_until(pilot: Any, condition: Any, limit: float = 120.0) -> float:
        began = time.perf_counter()
        while not condition():
            await pilot.pause(0.002)
            if time.perf_counter() - began > limit:
                raise TimeoutError
        return time.perf_counter() - began

    def visible_loaded(listing: DrawdownList) -> bool:
        top = int(listing.scroll_offset.y)
        height = listing.scrollable_content_region.height
        last = min(top + height, listing.total)
        return all(listing.row_at(i) is not None for i in range(top, last))

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            screen_ready = lambda: type(app.screen).__name__ == "DrawdownsScreen"  # noqa: E731
            await wait_until(pilot, screen_ready)
            out["frame_s"] = time.perf_counter() - started
            out["frame_cpu_s"] = time.process_time() - cpu_started
            listing = app.screen.query_one(DrawdownList)
            await wait_until(pilot, lambda: listing.total > 0 and visible_loaded(listing))
            out["first_rows_s"] = time.perf_counter() - started
            out["first_rows_cpu_s"] = time.process_time() - cpu_started
            out["total"] = listing.total
            listing.focus()
            noop = []
            for _ in range(
                10
            ):  # the harness's own cost per key press (an unbound key): the floor for page-down
                began = time.perf_counter()
                await pilot.press("z")
                noop.append((time.perf_counter() - began) * 1000)
            out["noop_press_ms"] = sorted(noop)[len(noop) // 2]
            latencies = []
            for _ in range(30):
                began = time.perf_counter()
                await pilot.press("pagedown")
                await wait_until(pilot, lambda: visible_loaded(listing))
                latencies.append(time.perf_counter() - began)
            out["pagedown_ms"] = sorted(x * 1000 for x in latencies)
            began = time.perf_counter()
            await pilot.press("end")
            await wait_until(pilot, lambda: listing.cursor == listing.total - 1 and visible_loaded(listing))
            out["end_ms"] = (time.perf_counter() - began) * 1000
            began = time.perf_counter()
            await pilot.press("home")
            await wait_until(pilot, lambda: listing.cursor == 0 and visible_loaded(listing))
            out["home_ms"] = (time.perf_counter() - began) * 1000
            screen: Any = app.screen
            filters = {
                "tool": DrawdownFilter(tool_code="JMR"),
                "month": DrawdownFilter(month="2025-06"),
                "text": DrawdownFilter(text="博睿"),
                "status_outstanding": DrawdownFilter(status="outstanding"),
                "tool_month_key": DrawdownFilter(tool_code="ZTX", month="2025-03", key_area=True),
            }
            out["filters"] = {}
            for name, flt in filters.items():
                before = listing.generation
                began = time.perf_counter()
                screen.filter = flt
                screen.reload()
                await wait_until(pilot, lambda b=before: listing.generation > b and visible_loaded(listing))
                out["filters"][name] = {
                    "ms": (time.perf_counter() - began) * 1000,
                    "count": listing.total,
                    "exact": listing.exact,
                }
            await pilot.press("ctrl+q")

    asyncio.run(run())

    async def dashboard() -> None:
        """Second run, imports warm: when each dashboard panel has its data (they load in parallel workers)."""
        dash = app_module.LedgerApp(ledger, today=TODAY)
        began = time.perf_counter()
        seen: dict[str, float] = {}
        async with dash.run_test(size=(120, 40)) as pilot:
            while len(seen) < 6 and time.perf_counter() - began < 180:
                await pilot.pause(0.01)
                screen: Any = dash.screen
                if type(screen).__name__ != "DashboardScreen":
                    continue
                now = time.perf_counter() - began
                seen.setdefault("frame", now)
                tools = screen.query_one("#dash-tools")
                if tools.row_count:
                    seen.setdefault("year_figures", now)
                    if "…" not in str(tools.get_row("__total__")[3]):
                        seen.setdefault("balances", now)
                if "笔" in str(screen.query_one("#dash-maturing-title").render()):
                    seen.setdefault("maturing", now)
                if "%" in str(screen.query_one("#dash-share").render()):
                    seen.setdefault("share", now)
                if "加载" not in str(screen.query_one("#dash-findings").render()):
                    seen.setdefault("findings", now)
            await pilot.press("ctrl+q")
        out["dashboard_s"] = seen

    asyncio.run(dashboard())
    ledger.dispose()
    out.update(_raw(db))
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _raw(db: str) -> dict[str, float]:
    """The floor: the same first page, count and last page straight through the driver, no ORM, no UI."""
    out: dict[str, float] = {}
    if db.startswith("postgresql"):
        import psycopg

        raw: Any = psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://"))
        mark = "%s"
    else:
        raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        mark = "?"
    began = time.perf_counter()
    raw.execute("SELECT * FROM drawdown ORDER BY id DESC LIMIT 100").fetchall()
    out["raw_first_page_ms"] = (time.perf_counter() - began) * 1000
    began = time.perf_counter()
    n = raw.execute("SELECT COUNT(*) FROM drawdown").fetchone()[0]
    out["raw_count_ms"] = (time.perf_counter() - began) * 1000
    began = time.perf_counter()
    raw.execute(f"SELECT * FROM drawdown ORDER BY id DESC LIMIT 100 OFFSET {mark}", (n - 100,)).fetchall()
    out["raw_end_page_ms"] = (time.perf_counter() - began) * 1000
    raw.close()
    return out


def _report(scale: int, db: str, backend: str) -> None:
    result = subprocess.run(
        [sys.executable, __file__, "--child", db], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        return
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    pd = figures.pop("pagedown_ms")
    figures["pagedown_ms"] = {"median": pd[len(pd) // 2], "p90": pd[int(len(pd) * 0.9)], "max": pd[-1]}
    print(
        json.dumps({"scale": scale, "backend": backend, **figures}, ensure_ascii=False, indent=1), flush=True
    )


def _postgres(scale: int) -> None:
    """The same measurements on a PostgreSQL ledger loaded with the same demo (built, measured, dropped)."""
    from benchmarks.datasets import drop_postgres, fresh_postgres, load_demo

    url = fresh_postgres()
    try:
        began = time.perf_counter()
        load_demo(url, scale)
        print(f"  loaded {scale:,} into PostgreSQL in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        _report(scale, url, "postgresql")
    finally:
        drop_postgres(url)


def run(scale: int) -> list[dict[str, Any]]:
    """benchmarks/run.py entry: the drawdown list on a private copy of the suite's demo ledger of `scale` drawdowns,
    and on its PostgreSQL twin when a server is reachable; each beside the same query through the raw driver."""
    import tempfile

    from benchmarks import datasets  # run.py imports this module as benchmarks.bench_tui: ROOT is on the path

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench_tui_") as tmp:
        copy = Path(tmp) / "ledger.db"
        shutil.copy(datasets.demo_db(scale), copy)
        targets = [("sqlite", str(copy))]
        if datasets.postgres_reachable():
            targets.append(("postgresql", datasets.demo_postgres(scale)))
        for backend, db in targets:
            result = subprocess.run(
                [sys.executable, __file__, "--child", db],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            f = json.loads(result.stdout.strip().splitlines()[-1])
            pd = f["pagedown_ms"]
            common = {"backend": backend, "rows": f["total"], "peak_mb": round(f["peak_rss_mib"])}
            raw_first = (f["raw_first_page_ms"] + f["raw_count_ms"]) / 1000
            rows += [
                {
                    "benchmark": "TUI: `ledger` start → drawdown list counted, first page shown",
                    **common,
                    "seconds": round(f["first_rows_s"], 3),
                    "baseline": "raw driver: first page + COUNT(*)",
                    "baseline_seconds": round(raw_first, 4),
                    "ratio": round(f["first_rows_s"] / raw_first, 1),
                    "of which importing the app s": round(f["import_s"], 3),
                    "frame s": round(f["frame_s"], 3),
                },
                {
                    "benchmark": "TUI: page-down, median key press until the visible rows are loaded",
                    **common,
                    "seconds": round(pd[len(pd) // 2] / 1000, 4),
                    "baseline": "the test harness's key press that does nothing",
                    "baseline_seconds": round(f["noop_press_ms"] / 1000, 4),
                    "ratio": round(pd[len(pd) // 2] / f["noop_press_ms"], 1),
                    "p90 ms": round(pd[int(len(pd) * 0.9)], 1),
                    "max ms": round(pd[-1], 1),
                },
                {
                    "benchmark": "TUI: End (last page, deep OFFSET)",
                    **common,
                    "seconds": round(f["end_ms"] / 1000, 4),
                    "baseline": "raw driver: the same last page",
                    "baseline_seconds": round(f["raw_end_page_ms"] / 1000, 4),
                    "ratio": round(f["end_ms"] / f["raw_end_page_ms"], 1),
                },
            ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="100000,1000000")
    parser.add_argument("--db", help="use a copy of this existing demo ledger instead of benchmarks/data's")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL (a throwaway database)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    sys.path.insert(0, str(ROOT))
    from benchmarks.datasets import demo_db

    for scale in (int(s) for s in args.scales.split(",")):
        source = Path(args.db) if args.db else demo_db(scale)
        copy = Path("/tmp") / f"bench_tui_{scale}.db"  # private: nothing else touches it while measuring
        if not copy.exists():
            shutil.copy(source, copy)
        _report(scale, str(copy), "sqlite")
        if args.postgres:
            _postgres(scale)


if __name__ == "__main__":
    main()
