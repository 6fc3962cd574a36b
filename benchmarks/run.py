"""The one benchmark command: builds the 100k and 1M data sets, runs every benchmarks/bench_*.py, writes the table.

    .venv/bin/python benchmarks/run.py                      # 100k and 1M, every script (13 min on 2 cores, plus ~8 min building the data sets once)
    .venv/bin/python benchmarks/run.py --scales 100000      # quicker
    .venv/bin/python benchmarks/run.py --only import share  # bench_import.py and bench_share.py only

Convention (no registry to edit): a module benchmarks/bench_<name>.py exposes `run(scale: int) -> list[dict]`, one
dict per measurement with at least `benchmark`, `backend`, `rows`, `seconds`, and where it has one `baseline`,
`baseline_seconds`, `ratio` (seconds ÷ baseline_seconds, same process and run) and `peak_mb`; other keys go to the
notes column. Data sets come from benchmarks/datasets.py (demo ledgers and their exports, cached in
benchmarks/data/, git-ignored). A script without `run` is listed as skipped; one that raises is listed with its
error and the suite goes on. Results go to benchmarks/data/results-<stamp>.json and to the section
"## Benchmark suite" of docs/benchmarks.md (only that section is rewritten).

Benchmarks are not tests: nothing here passes or fails; the table is for people to read beside the goals.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import datasets  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Benchmark suite (benchmarks/run.py)"
SCALES = (100_000, 1_000_000)
KNOWN = ("benchmark", "backend", "rows", "seconds", "baseline", "baseline_seconds", "ratio", "peak_mb")


def discover(only: list[str] | None) -> list[str]:
    names = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))
    if only:
        names = [n for n in names if n.removeprefix("bench_") in only or n in only]
    return names


def machine() -> dict[str, str]:
    """What the figures were measured on; load average matters on a shared box."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": str(os.cpu_count()),
    }
    try:
        cpu = next(
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")
        )
        info["cpu"] = cpu.split(":", 1)[1].strip()
        mem = next(
            line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
        )
        info["memory"] = f"{int(mem.split()[1]) / 1024 / 1024:.0f} GiB"
        info["load average at start"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except (OSError, StopIteration):
        pass
    import sqlite3

    info["sqlite"] = sqlite3.sqlite_version
    if datasets.postgres_reachable():
        try:
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import psycopg;c=psycopg.connect('host=127.0.0.1 user=postgres dbname=postgres');"
                    "print(c.execute('show server_version').fetchone()[0])",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            info["postgresql"] = out.stdout.strip() or "reachable"
        except subprocess.SubprocessError:
            info["postgresql"] = "reachable"
    else:
        info["postgresql"] = "unreachable (PostgreSQL rows skipped)"
    return info


def run_all(scales: tuple[int, ...], only: list[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
    results: list[dict[str, Any]] = []
    notes: list[str] = []
    for scale in scales:
        print(f"data set {datasets.label(scale)} …", file=sys.stderr)
        datasets.drawdowns_csv(scale)  # builds demo_db(scale) too
    for name in discover(only):
        module = importlib.import_module(f"benchmarks.{name}")
        bench = getattr(module, "run", None)
        if not callable(bench):
            notes.append(f"`{name}.py` skipped: it has no `run(scale)` (run it by hand, see its docstring)")
            continue
        for scale in scales:
            print(f"{name} at {datasets.label(scale)} …", file=sys.stderr)
            started = time.perf_counter()
            try:
                rows = bench(scale)
            except Exception as exc:  # one broken script must not lose the others' figures
                traceback.print_exc()
                notes.append(f"`{name}.py` at {datasets.label(scale)} failed: {type(exc).__name__}: {exc}")
                continue
            for row in rows:
                results.append({"script": name, "scale": scale, **row})
            print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return results, notes


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| script | data set | benchmark | backend | rows | seconds | baseline | baseline s | ratio | peak MB | notes |",
        "|---|---|---|---|--:|--:|---|--:|--:|--:|---|",
    ]
    for r in results:
        extra = "; ".join(f"{k}={_cell(v)}" for k, v in r.items() if k not in (*KNOWN, "script", "scale"))
        lines.append(
            "| "
            + " | ".join(
                [
                    r["script"],
                    datasets.label(r["scale"]),
                    *(_cell(r.get(k)) for k in KNOWN),
                    extra,
                ]
            )
            + " |"
        )
    return lines


def section(results: list[dict[str, Any]], notes: list[str], info: dict[str, str], seconds: float) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        SECTION,
        "",
        f"Written by `benchmarks/run.py` on {stamp} ({seconds / 60:.0f} min in all). Ratio = seconds ÷ baseline "
        "seconds, both measured in the same process of the same run; peak MB is the measuring process's max RSS. "
        "The box is shared (other engineers' tests and benchmarks run at the same time), so absolute times "
        "vary by run; ratios are the figure to compare with the goals.",
        "",
        "Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()) + ".",
        "",
        *table(results),
        "",
    ]
    if notes:
        body += [*(f"- {n}" for n in notes), ""]
    return "\n".join(body)


def write_section(text: str) -> None:
    """Replaces this script's section of docs/benchmarks.md, leaving every other section as it is."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n\n"
    start = current.find(SECTION)
    if start < 0:
        DOC.write_text(current.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    end = current.find("\n## ", start + len(SECTION))
    rest = current[end + 1 :] if end >= 0 else ""
    DOC.write_text(current[:start] + text + ("\n" + rest if rest else ""), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--scales", type=int, nargs="+", default=list(SCALES))
    parser.add_argument("--only", nargs="+", help="script names without bench_ (e.g. import share)")
    parser.add_argument(
        "--no-doc", action="store_true", help="print the table, leave docs/benchmarks.md alone"
    )
    parser.add_argument(
        "--from-json", metavar="RESULTS", help="rewrite the doc section from a saved results file"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        text = section(saved["results"], saved["notes"], saved["machine"], float(saved.get("seconds", 0)))
        print(text)
        if not args.no_doc:
            write_section(text)
        return 0
    started = time.perf_counter()
    info = machine()
    results, notes = run_all(tuple(args.scales), args.only)
    seconds = time.perf_counter() - started
    text = section(results, notes, info, seconds)
    datasets.DATA.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M")
    (datasets.DATA / f"results-{stamp}.json").write_text(
        json.dumps(
            {"machine": info, "results": results, "notes": notes, "seconds": seconds},
            ensure_ascii=False,
            indent=1,
        )
    )
    print(text)
    if not args.no_doc:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
