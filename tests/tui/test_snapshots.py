"""SVG snapshots of every screen on a fixed demo ledger (SQLite), at 120×40 — the smallest terminal operators use.

Everything time-dependent is frozen: the app's "today" is fixed, the demo is seeded, and the audit clock is pinned
while the database is built, so hashes and timestamps on screen are the same on every run. Update after a
deliberate change with `pytest tests/tui/test_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

import ledger.services.audit as audit_module
from ledger.facade import Ledger
from ledger.tui.app import LedgerApp
from tests.conftest import test_config as make_config
from tests.tui.conftest import TODAY, settle

SIZE = (120, 40)


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return datetime(2023, 6, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "demo.db"
    shutil.copy(sqlite_template, path)
    patch = pytest.MonkeyPatch()
    patch.setattr(audit_module, "datetime", _FrozenClock)
    try:
        ledger = Ledger(str(path), actor="tester", config=make_config())
        ledger.init()
        ledger.load_demo(drawdowns=400, year=2023, seed=11, today=TODAY)
        ledger.dispose()
    finally:
        patch.undo()
    return path


@pytest.fixture
def demo_app(demo_db: Path) -> Iterator[Callable[[str], LedgerApp]]:
    made: list[Ledger] = []

    def make(start: str) -> LedgerApp:
        ledger = Ledger(str(demo_db), actor="tester", config=make_config())
        made.append(ledger)
        return LedgerApp(ledger, today=TODAY, start=start)

    yield make
    for ledger in made:
        ledger.dispose()


async def _steady(pilot: Pilot[Any]) -> None:
    await settle(pilot, rounds=5)
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    for area in pilot.app.screen.query(TextArea):
        area.cursor_blink = False
    await pilot.pause(0.1)


@pytest.mark.parametrize(
    "screen", ["dashboard", "drawdowns", "reference", "rules", "reports", "audit", "pending"]
)
def test_screen(screen: str, snap_compare: Any, demo_app: Callable[[str], LedgerApp]) -> None:
    assert snap_compare(demo_app(screen), terminal_size=SIZE, run_before=_steady)


def test_new_drawdown_with_problems(snap_compare: Any, demo_app: Callable[[str], LedgerApp]) -> None:
    async def fill(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#f-tool", Select).value = "JCT"
        screen.query_one("#f-bill_no", Input).value = "1313100000013202301100000000"
        screen.query_one("#f-maturity_on", Input).value = "2024-06-30"
        await pilot.press("ctrl+s")
        await _steady(pilot)

    assert snap_compare(demo_app("new"), terminal_size=SIZE, run_before=fill)


def test_sql_console_result(snap_compare: Any, demo_app: Callable[[str], LedgerApp]) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.screen.query_one(
            "#sql-editor", TextArea
        ).text = "SELECT tool_code, COUNT(*) AS n, SUM(amount_fen) AS fen FROM drawdown GROUP BY tool_code ORDER BY tool_code"
        await pilot.press("ctrl+r")
        await _steady(pilot)

    assert snap_compare(demo_app("sql"), terminal_size=SIZE, run_before=run)


def test_help(snap_compare: Any, demo_app: Callable[[str], LedgerApp]) -> None:
    async def open_help(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("escape", "question_mark")
        await _steady(pilot)

    assert snap_compare(demo_app("drawdowns"), terminal_size=SIZE, run_before=open_help)
