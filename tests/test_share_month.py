"""share_month, the share rule's monthly figures: in step with every way drawdowns and reversals are written, the
same figures as the drawdowns give for any period and scope, rebuilt by the migration, and checked by verify."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from ledger.db.engine import downgrade, upgrade
from ledger.facade import Ledger
from ledger.rules import share
from ledger.services.share_tally import differences
from tests.factories import add_borrower, relending, setup_bank

TODAY = date(2026, 11, 24)


@pytest.fixture
def busy(ledger: Ledger) -> Ledger:
    """Two years of demo data (bulk writes, with reversals among its events), then a booking and two reversals
    through the services, one of them in the same month and bank as the booking."""
    ledger.load_demo(2500, year=2024, years=2, seed=5, today=TODAY)
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    booked = ledger.book(
        relending(firm, drawn_on="2024-06-14", maturity_on="2025-06-14", amount="1234.56", ext_ref="x1")
    ).id
    ledger.book(
        relending(firm, drawn_on="2024-06-20", maturity_on="2025-06-20", amount="10.00", ext_ref="x2")
    )
    ledger.reverse(booked, "录入错误", on=date(2024, 12, 30))
    ledger.reverse(7, "录入错误", on=date(2024, 12, 30))
    return ledger


def _figures(f: share._Figures) -> dict[str, object]:
    flat = {k: (a.n, a.total, a.key) for k, a in f.tools.items() if a.n or a.total}
    return {
        "total": (f.total.n, f.total.total, f.total.key),
        "tools": flat,
        "months": {k: (a.n, a.total, a.key) for k, a in f.months.items() if a.n or a.total},
        "banks": {k: (a.n, a.total, a.key) for k, a in f.institutions.items() if a.n or a.total},
        "reversed": (f.reversed_n, f.reversed_fen),
    }


def test_the_monthly_figures_are_in_step_after_bulk_writes_bookings_and_reversals(busy: Ledger) -> None:
    with busy.connect() as conn:
        assert differences(conn) == []
        stored = conn.execute(text("SELECT SUM(drawdowns), SUM(reversed) FROM share_month")).one()
        counted = conn.execute(
            text("SELECT COUNT(*), SUM(CASE WHEN kind = 'reversal' THEN 1 ELSE 0 END) FROM drawdown_event")
        ).one()
        drawdowns = conn.execute(text("SELECT COUNT(*) FROM drawdown")).scalar_one()
    assert int(stored[0]) + int(stored[1]) == drawdowns == 2502
    assert int(stored[1]) == int(counted[1]) >= 3  # the demo's reversals and the two above
    assert busy.verify_audit().ok


@pytest.mark.parametrize(
    "as_of",
    [date(2024, 1, 31), date(2024, 2, 28), date(2024, 2, 29), date(2024, 6, 14), date(2024, 6, 30), None],
)
def test_the_rule_gives_what_the_drawdowns_give_for_any_as_of_and_scope(
    busy: Ledger, as_of: date | None
) -> None:
    """Whole months come from share_month, a month cut short by as_of from the drawdowns: every figure (totals,
    tools, months, banks, reversals) equals the drawdowns' own for the whole period, in every scope. A reversal
    counts from its effective date: as of 2024-06-30 the two reversed on 2024-12-30 still count."""
    with busy.connect() as conn:
        bank = conn.execute(text("SELECT code FROM institution ORDER BY id LIMIT 1 OFFSET 2")).scalar_one()
        for scope_args in ({}, {"kind": "relending"}, {"tool_code": "京创通"}, {"institution_code": bank}):
            scope = share._scope(
                conn,
                busy.config,
                scope_args.get("kind"),
                scope_args.get("tool_code"),
                scope_args.get("institution_code"),
            )
            start, end = share.period(2024, as_of)
            for name in ("key_area", "sci_tech", "private_small", "target"):
                measure = share._measure(busy.config, name)
                mixed = share._gather_rows(conn, start, end, scope, True, measure)
                plain = share._Figures()
                share._fold_drawdowns(conn, plain, start, end, end, scope, True, measure)
                assert _figures(mixed) == _figures(plain), (as_of, scope_args, name)
        whole = share.compute_share(conn, busy.config, 2024, as_of)
        raw = conn.execute(
            text(
                "SELECT SUM(CASE WHEN key_area THEN amount_fen ELSE 0 END), SUM(amount_fen) FROM drawdown d "
                "WHERE drawn_on BETWEEN :s AND :e AND NOT EXISTS (SELECT 1 FROM drawdown_event r "
                "WHERE r.drawdown_id = d.id AND r.kind = 'reversal' AND r.event_on <= :e)"
            ),
            {"s": date(2024, 1, 1), "e": as_of or date(2024, 12, 31)},
        ).one()
    assert (whole.key_area_fen, whole.total_fen) == (int(raw[0]), int(raw[1]))


def test_the_migration_fills_the_table_from_the_ledger_as_it_stands(busy: Ledger) -> None:
    before = busy.share(2024).as_json()
    downgrade(busy.engine, "0003")
    upgrade(busy.engine)
    with busy.connect() as conn:
        assert differences(conn) == []
    assert busy.share(2024).as_json() == before


def test_verify_names_a_monthly_figure_that_differs_from_the_drawdowns(busy: Ledger) -> None:
    with busy.transaction() as conn:
        conn.execute(
            text("UPDATE share_month SET amount_fen = amount_fen + 1 WHERE month = 6 AND year = 2024")
        )
    result = busy.verify_audit()
    assert not result.ok and "share_month 2024-06" in result.problem
    with busy.transaction() as conn:  # a write that skipped the table entirely is found the same way
        conn.execute(
            text("UPDATE share_month SET amount_fen = amount_fen - 1 WHERE month = 6 AND year = 2024")
        )
        conn.execute(text("DELETE FROM share_month WHERE year = 2023 AND month = 3"))
    result = busy.verify_audit()
    assert not result.ok and "share_month 2023-03" in result.problem
