"""SVG snapshots of every screen on a fixed small ledger (SQLite), at 120×40 — the smallest terminal operators use.

The ledger is built here through the facade (not by the demo generator, whose mix may change), and everything
time-dependent is frozen: the app's "today" is fixed and the audit clock is pinned while the database is built, so
hashes and timestamps on screen are the same on every run. Update after a deliberate change with
`pytest tests/tui/test_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

import ledger.services.audit as audit_module
from ledger.facade import Ledger
from ledger.tui.app import LedgerApp
from tests.factories import add_borrower, bill, rediscount, relending
from tests.tui.conftest import TODAY, settle

SIZE = (120, 40)


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return datetime(2023, 6, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from nothing under a frozen clock (not copied from the session's template, whose init records carry
    the real time), so every record, and the chain head on the audit screen, is the same on every run."""
    path = tmp_path_factory.mktemp("snap") / "demo.db"
    patch = pytest.MonkeyPatch()
    patch.setattr(audit_module, "datetime", _FrozenClock)
    try:
        ledger = Ledger(str(path), actor="tester")
        ledger.init(training=True)
        build_ledger(ledger)
        ledger.dispose()
    finally:
        patch.undo()
    return path


FIRMS = (
    # (name, industry, size, statuses)
    ("北京精密仪器制造有限公司", "C4014", "small", ()),
    ("中关村智算科技有限公司", "I6510", "small", (("高新技术企业", date(2022, 3, 1)),)),
    ("北京绿源环保设备有限公司", "C3591", "micro", (("民营企业", date(2020, 1, 1)),)),
    ("顺义田园农业合作社", "A0111", "micro", (("涉农企业", date(2019, 1, 1)),)),
    ("朝阳万家商贸有限公司", "F5212", "small", (("民营企业", date(2020, 1, 1)),)),
    ("海淀文化传媒有限公司", "R8610", "small", (("文化企业", date(2021, 5, 1)),)),
)
BANKS = (
    ("BOB001", "北京银行", "城市商业银行"),
    ("ICBC01", "中国工商银行北京市分行", "国有大型商业银行"),
    ("BRCB01", "北京农村商业银行", "农村商业银行"),
)


def build_ledger(ledger: Ledger) -> None:
    """Three banks, six borrowers, 36 drawdowns over 2023-01 … 2023-06 across five tools, and one of each event."""
    for code, name, kind in BANKS:
        ledger.add_institution(code, name, kind)
    codes = []
    for n, (name, industry, size, statuses) in enumerate(FIRMS, start=1):
        codes.append(
            add_borrower(
                ledger,
                n,
                industry=industry,
                size=size,
                name=name,
                statuses=tuple((s, since, None) for s, since in statuses),
            )
        )
    ids = []
    for i in range(36):
        month = 1 + i // 6  # every month has one drawdown of each borrower
        day = date(2023, month, 3 + (i * 5) % 24)
        bank = BANKS[i % 3][0]
        amount = f"{(i % 7 + 1) * 250_000 + i * 1_000}.00"
        firm = i % 6
        if firm in (0, 2):  # manufacturing: 京制通 bills
            request = rediscount(
                codes[firm],
                bill(100 + i, issued_on=day - timedelta(days=10)),
                tool="京制通",
                institution_code=bank,
                drawn_on=day.isoformat(),
                maturity_on=(day + timedelta(days=150)).isoformat(),
                amount=amount,
            )
        elif firm == 1:  # sci-tech: 60% of the loan principal
            request = relending(
                codes[firm],
                tool="科技创新再贷款",
                institution_code=bank,
                drawn_on=day.isoformat(),
                maturity_on=day.replace(year=2024).isoformat(),
                amount=None,
                principal=amount,
            )
        elif firm == 3:
            request = rediscount(
                codes[firm],
                bill(200 + i, issued_on=day - timedelta(days=5)),
                institution_code=bank,
                drawn_on=day.isoformat(),
                maturity_on=(day + timedelta(days=40)).isoformat(),
                amount=amount,
            )
        else:
            request = relending(
                codes[firm],
                institution_code=bank,
                drawn_on=day.isoformat(),
                maturity_on=day.replace(year=2024).isoformat(),
                amount=amount,
                ext_ref=f"R{i:03d}",
            )
        ids.append(ledger.book(request).id)  # type: ignore[union-attr]
    ledger.reverse(ids[4], "录入错误", on=date(2023, 6, 1))
    ledger.repay(ids[5], "2023-06-10", "100000.00", "提前部分收回")
    ledger.rollover(ids[1], "2024-12-01", "企业申请展期")


@pytest.fixture
def demo_app(demo_db: Path) -> Iterator[Callable[[str], LedgerApp]]:
    made: list[Ledger] = []

    def make(start: str) -> LedgerApp:
        ledger = Ledger(str(demo_db), actor="tester")
        made.append(ledger)
        return LedgerApp(ledger, today=TODAY, start=start)

    yield make
    for ledger in made:
        ledger.dispose()


async def _steady(pilot: Pilot[Any]) -> None:
    """Workers done, cursors still, and then two frames alike in a row: a DataTable sizes its columns on a later
    refresh than the one that adds its rows, and on a loaded box that once came after the pauses above (the SQL
    console's result snapshotted with its columns still at the header's width)."""
    await settle(pilot, rounds=5)
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    for area in pilot.app.screen.query(TextArea):
        area.cursor_blink = False
    previous = ""
    for _ in range(30):
        await pilot.pause(0.1)
        frame = re.sub(r"terminal-\d+", "", pilot.app.export_screenshot())
        if frame == previous:
            return
        previous = frame


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


@pytest.mark.parametrize(("screen", "size"), [("dashboard", (80, 24)), ("drawdowns", (200, 60))])
def test_screen_at_other_sizes(
    screen: str, size: tuple[int, int], snap_compare: Any, demo_app: Callable[[str], LedgerApp]
) -> None:
    """The smallest and a large terminal: names give way, figures stay whole (test_figures.py checks the text)."""
    assert snap_compare(demo_app(screen), terminal_size=size, run_before=_steady)
