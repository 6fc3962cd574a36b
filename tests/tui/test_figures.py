"""No figure is ever cut on screen: on a ledger whose totals run to ten digits (亿-scale), every amount on the
dashboard, the list (with its 合计), the rules tables and the pending queue is read back from the rendered screen
at 80×24, 120×40 and 200×60, parsed, and compared with the ledger's own value for it."""

from __future__ import annotations

import os
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.facade import Ledger
from ledger.services import queries
from ledger.services.queries import DrawdownFilter
from ledger.tui import i18n
from ledger.tui.app import LedgerApp
from ledger.tui.format import wan, yuan
from tests.conftest import set_policy
from tests.factories import add_borrower, relending, setup_bank
from tests.tui.conftest import TODAY, drive, settle

SIZES = ((80, 24), (120, 40), (200, 60))
# A figure as printed: thousands separators and two decimals ("1,234,567,890.12"), possibly cut ("1,234,5").
NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d*)?")
FIGURE = re.compile(r"^\d{1,3}(?:,\d{3})*\.\d{2}$")
AMOUNTS = ("1,987,654,321.99", "1,234,567,890.12", "987,654,321.00", "2,468,013,579.35")


def _book_big(ledger: Ledger) -> None:
    """Four drawdowns of up to ¥2.5 billion (totals ≥ ¥6.6 billion: ten digits) and one waiting for approval."""
    setup_bank(ledger)
    set_policy(ledger, maker_checker={"default_limit_yuan": "2000000000"})
    firms = [
        add_borrower(ledger, n, industry="C3911", size="large", name=f"北京重型装备制造集团第{n}分公司")
        for n in (1, 2, 3, 4)
    ]
    for n, (firm, amount) in enumerate(zip(firms, AMOUNTS, strict=True)):
        outcome = ledger.book(
            relending(
                firm,
                drawn_on=date(2023, 1 + n, 10).isoformat(),
                maturity_on=date(2023, 6 + n, 20).isoformat(),
                amount=amount.replace(",", ""),
                override_reason="重点项目专项支持",
            )
        )
        assert outcome is not None


def _known_values(ledger: Ledger, total_fen: int) -> set[Decimal]:
    """Every amount the four screens may show, in 元 and in 万元, from the ledger's own queries."""
    fen: set[int] = {total_fen}
    with ledger.read() as conn:
        rows = queries.drawdown_page(conn, DrawdownFilter(), TODAY, 0, 100)
        fen |= {row.amount_fen for row in rows}
        for f in queries.tool_figures(conn, TODAY).values():
            fen |= {f.month_fen, f.ytd_fen}
        for row in rows:
            detail = queries.drawdown_detail(conn, row.id, TODAY) or {}
            fen |= {detail.get("principal_fen") or 0, detail.get("interest_fen") or 0}
    fen |= {o.amount_fen for o in ledger.outstanding(TODAY)}
    fen |= {sum(o.amount_fen for o in ledger.outstanding(TODAY))}
    share = ledger.share(TODAY.year, as_of=TODAY)
    fen |= {share.key_area_fen, share.total_fen, share.headroom_fen}
    for part in (*share.by_tool, *share.by_institution, *share.by_month):
        fen |= {part.key_area_fen, part.total_fen}
    fen |= {item.amount_fen or 0 for item in ledger.pending("pending")}
    values: set[Decimal] = set()
    for amount in fen:
        values.add(Decimal(yuan(amount).replace(",", "")))
        values.add(Decimal(wan(amount).replace(",", "")))
    return values


def _screen_text(app: LedgerApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def _figures(text: str) -> list[str]:
    return [m.group(0) for m in NUMBER.finditer(text) if "," in m.group(0)]


def _assert_whole(text: str, expected: set[str], where: str) -> None:
    """Every money figure on screen is whole (two decimals, nothing cut) and each expected one is shown."""
    for figure in _figures(text):
        if "." in figure or "," in figure:
            assert FIGURE.match(figure), f"{where}: a cut figure {figure!r} on screen:\n{text}"
    for figure in expected:
        assert figure in text, f"{where}: {figure} not shown whole:\n{text}"


@pytest.mark.parametrize(
    ("size", "lang"),
    [*((size, "zh") for size in SIZES), ((80, 24), "en")],
    ids=lambda v: f"{v[0]}x{v[1]}" if isinstance(v, tuple) else v,
)
@drive
async def test_no_figure_is_cut(ledger: Ledger, size: tuple[int, int], lang: str) -> None:
    """English titles are longer than Chinese ones: the narrowest terminal is checked in both."""
    _book_big(ledger)
    i18n.set_language(lang)
    try:
        await _check_screens(ledger, size)
    finally:
        i18n.set_language("zh")


async def _check_screens(ledger: Ledger, size: tuple[int, int]) -> None:
    with ledger.read() as conn:
        figures = queries.tool_figures(conn, TODAY)
        count, total_fen = queries.sum_drawdowns(conn, DrawdownFilter(), TODAY)
    assert count == 3 and total_fen >= 4_000_000_000_00
    tool = next(iter(figures.values()))
    share = ledger.share(TODAY.year, as_of=TODAY)
    pending = [item for item in ledger.pending("pending")]
    assert len(pending) == 1

    known = _known_values(ledger, total_fen)
    expected: dict[str, set[str]] = {
        # The dashboard: the tool's year-to-date and the total in 万元; the maturing drawdown in 元.
        "dashboard": {wan(tool.ytd_fen)},
        # The list: every booked amount and the whole filter's 合计.
        "drawdowns": {*AMOUNTS[:3], yuan(total_fen)},
        "rules": {wan(share.total_fen)},
        "pending": {AMOUNTS[3]},
    }
    for start, wanted in expected.items():
        app = LedgerApp(ledger, today=TODAY, start=start)
        async with app.run_test(size=size) as pilot:
            await settle(pilot, rounds=5)
            text = _screen_text(app)
            where = f"{start} at {size[0]}×{size[1]}"
            _assert_whole(text, wanted if size[1] >= 40 or start != "drawdowns" else {yuan(total_fen)}, where)
            # Each large figure shown is one the ledger holds (a figure cut on the left would still look whole).
            for figure in _figures(text):
                if figure.count(",") >= 2 and not figure.endswith("%"):
                    assert Decimal(figure.replace(",", "")) in known, (
                        f"{where}: {figure} is not a ledger value"
                    )
            if os.environ.get("SHOW_SCREENS"):
                print(f"--- {where}\n{text}")


def test_figure_regex_catches_cut_figures() -> None:
    """The check above would see the cut forms the issue reported."""
    for cut in ("105,676,753.2", "18,", "1,234,5"):
        found: list[Any] = _figures(f"x {cut} y")
        assert not all(FIGURE.match(f) for f in found) or not found


@drive
async def test_share_panel_does_not_pass_a_year_with_nothing_drawn(ledger: Ledger) -> None:
    app = LedgerApp(ledger, today=TODAY, start="dashboard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = _screen_text(app)
        assert "本年尚无发放" in text and "达标" not in text
