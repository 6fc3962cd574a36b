"""The key-area share rule, hand-computed, on both backends.

Every expected figure below is worked out by hand in the comment beside it from the amounts booked in the test;
headroom figures are then proven by booking exactly that amount (and one fen more or less).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from ledger.config import Config
from ledger.db.engine import pg_local_settings
from ledger.domain.errors import LedgerError, ValidationError
from ledger.facade import Ledger
from ledger.rules.share import compute_share, headroom, passes
from ledger.services.booking import Booked
from tests.conftest import test_config as make_config
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank, uscc

KEY_FIRM = 1  # 电子及通信设备制造 (C3911): a key area by industry
OTHER_FIRM = 2  # 软件 (I6510), no status: not a key area


@pytest.fixture
def world(ledger: Ledger) -> Ledger:
    setup_bank(ledger)
    add_borrower(ledger, KEY_FIRM, industry="C3911")
    add_borrower(ledger, OTHER_FIRM, industry="I6510")
    return ledger


_refs = iter(range(1, 1_000_000))


def book(ledger: Ledger, firm: int, amount: str, drawn_on: str = "2023-03-01", **extra: str) -> int:
    """Books a 京民融 relending drawdown and returns its id."""
    booked = ledger.book(
        relending(uscc(firm), amount=amount, drawn_on=drawn_on, ext_ref=f"r{next(_refs)}", **extra)
    )
    assert isinstance(booked, Booked)
    return booked.id


def test_exactly_half_passes_and_one_fen_either_way_decides(world: Ledger) -> None:
    book(world, KEY_FIRM, "1000.00")
    book(world, OTHER_FIRM, "1000.00")
    at_half = world.share(2023)
    assert (at_half.key_area_fen, at_half.total_fen) == (100_000, 200_000)
    assert at_half.share == Decimal("0.5") and at_half.status == "pass"
    # 100000 / (200000 + x) ≥ 1/2 ⇔ x ≤ 0: not one more fen of other money.
    assert (at_half.headroom_kind, at_half.headroom_fen) == ("more_non_key_allowed", 0)

    book(world, OTHER_FIRM, "0.01")
    below = world.share(2023)  # 100000 / 200001 = 0.499997…
    assert below.status == "fail"
    assert (
        below.as_json()["share"] == "0.5000"
    )  # rounds to 50.00% for display, yet fails: decided in integers
    # (100000 + y) / (200001 + y) ≥ 1/2 ⇔ y ≥ 1 fen
    assert (below.headroom_kind, below.headroom_fen) == ("key_area_needed", 1)

    book(world, KEY_FIRM, "0.01")
    assert world.share(2023).status == "pass"  # 100001 / 200002 = exactly 1/2


def test_headroom_when_passing_is_exactly_the_other_money_that_still_passes(world: Ledger) -> None:
    book(world, KEY_FIRM, "300.00")
    book(world, OTHER_FIRM, "100.00")
    result = world.share(2023)
    # K = 30000, T = 40000: 30000 / (40000 + x) ≥ 1/2 ⇔ x ≤ 20000 fen = 200.00 yuan
    assert (result.headroom_kind, result.headroom_fen) == ("more_non_key_allowed", 20_000)
    assert result.as_json()["headroom"] == {
        "kind": "more_non_key_allowed",
        "amount": "200.00",
        "text": result.headroom_text(),
    }
    book(world, OTHER_FIRM, "200.00")
    after = world.share(2023)
    assert after.status == "pass" and after.share == Decimal("0.5")
    assert after.headroom_fen == 0
    book(world, OTHER_FIRM, "0.01")
    assert world.share(2023).status == "fail"


def test_headroom_when_failing_is_exactly_the_key_area_money_needed(world: Ledger) -> None:
    book(world, KEY_FIRM, "100.00")
    book(world, OTHER_FIRM, "400.00")
    result = world.share(2023)
    # K = 10000, T = 50000 (20%): (10000 + y) / (50000 + y) ≥ 1/2 ⇔ y ≥ 30000 fen = 300.00 yuan
    assert result.status == "fail" and result.as_json()["share"] == "0.2000"
    assert (result.headroom_kind, result.headroom_fen) == ("key_area_needed", 30_000)
    book(world, KEY_FIRM, "299.99")
    assert world.share(2023).status == "fail"  # one fen short
    book(world, KEY_FIRM, "0.01")
    done = world.share(2023)
    assert done.status == "pass" and done.share == Decimal("0.5")


def test_headroom_rounds_the_right_way_for_a_non_round_threshold(world: Ledger) -> None:
    book(world, KEY_FIRM, "100.00")
    book(world, OTHER_FIRM, "200.01")
    config = replace(make_config(), threshold=Decimal("0.55"))
    with world.connect() as conn:
        result = compute_share(conn, config, 2023)
    # K = 10000, T = 30001, t = 11/20: y ≥ (11·30001 − 20·10000) / 9 = 130011 / 9 = 14445.67 → 14446 fen
    assert (result.headroom_kind, result.headroom_fen) == ("key_area_needed", 14_446)
    book(world, KEY_FIRM, "144.45")
    with world.connect() as conn:
        assert compute_share(conn, config, 2023).status == "fail"  # 24445 / 44446 = 0.54999…
    book(world, KEY_FIRM, "0.01")
    with world.connect() as conn:
        assert compute_share(conn, config, 2023).status == "pass"  # 24446 / 44447 = 0.55001…


def test_a_reversal_moves_the_year_from_pass_to_fail_and_counts_nowhere(world: Ledger) -> None:
    book(world, KEY_FIRM, "100.00")
    wrong = book(world, KEY_FIRM, "20.00", drawn_on="2023-04-10")
    book(world, OTHER_FIRM, "110.00")
    before = world.share(2023)
    assert (before.key_area_fen, before.total_fen, before.status) == (12_000, 23_000, "pass")  # 52.17%
    world.reverse(wrong, "金额录入错误", on=date(2023, 4, 11))
    after = world.share(2023)
    assert (after.key_area_fen, after.total_fen, after.drawdowns) == (10_000, 21_000, 2)  # 47.62%
    assert after.status == "fail" and after.as_json()["share"] == "0.4762"
    assert (after.reversed_drawdowns, after.reversed_fen) == (1, 2_000)
    # (10000 + y) / (21000 + y) ≥ 1/2 ⇔ y ≥ 1000 fen
    assert (after.headroom_kind, after.headroom_fen) == ("key_area_needed", 1_000)
    april = next(m for m in after.by_month if m.key == "2023-04")
    assert (april.total_fen, april.drawdowns) == (0, 0)
    counted = world.share_drilldown(2023)
    assert [r["id"] for r in counted] == sorted(r["id"] for r in counted) and wrong not in {
        r["id"] for r in counted
    }
    everything = world.share_drilldown(2023, include_reversed=True)
    reversed_row = next(r for r in everything if r["id"] == wrong)
    assert reversed_row["counted"] is False and "冲正" in reversed_row["explanation"]


def test_a_status_expiring_mid_year_counts_per_drawn_on(world: Ledger) -> None:
    firm = add_borrower(
        world, 3, industry="I6510", statuses=(("高新技术企业", date(2020, 7, 1), date(2023, 6, 30)),)
    )
    march = book(world, 3, "100.00", drawn_on="2023-03-01")
    september = book(world, 3, "100.00", drawn_on="2023-09-01")
    result = world.share(2023)
    assert (result.key_area_fen, result.total_fen, result.status) == (10_000, 20_000, "pass")  # exactly 50%
    months = {m.key: m for m in result.by_month}
    assert months["2023-03"].share == Decimal(1) and months["2023-09"].share == Decimal(0)
    rows = {r["id"]: r for r in world.share_drilldown(2023)}
    assert rows[march]["key_area"] is True and "高新技术企业" in rows[march]["key_area_reason"]
    assert rows[september]["key_area"] is False and rows[september]["key_area_reason"].startswith(
        "非重点领域"
    )
    assert rows[march]["enterprise_uscc"] == firm
    # As of the last day the certificate was valid, only March has been drawn: 100%.
    mid = world.share(2023, date(2023, 6, 30))
    assert (mid.key_area_fen, mid.total_fen, mid.as_of) == (10_000, 10_000, date(2023, 6, 30))
    assert [m.key for m in mid.by_month] == [f"2023-{m:02d}" for m in range(1, 7)]
    # Only the key-area figure's drawdowns, and only September's.
    assert [r["id"] for r in world.share_drilldown(2023, key_area=True)] == [march]
    assert [r["id"] for r in world.share_drilldown(2023, month="2023-09")] == [september]


def test_an_empty_period_passes_with_no_share_and_no_division(world: Ledger) -> None:
    book(world, OTHER_FIRM, "100.00", drawn_on="2023-03-01")
    result = world.share(2022)
    assert result.share is None and result.status == "pass" and result.empty
    assert result.by_tool == [] and result.by_institution == []
    assert all(m.share is None for m in result.by_month) and len(result.by_month) == 12
    data = result.as_json()
    assert data["share"] is None and data["total_amount"] == "0.00" and data["nothing_drawn"] is True
    # Any other money at all would make an empty year fail.
    assert (result.headroom_kind, result.headroom_fen) == ("more_non_key_allowed", 0)


def test_year_boundaries_and_as_of(world: Ledger) -> None:
    book(world, KEY_FIRM, "1.00", drawn_on="2022-12-31", maturity_on="2023-12-31")
    book(world, OTHER_FIRM, "2.00", drawn_on="2023-01-01", maturity_on="2023-12-31")
    book(world, KEY_FIRM, "4.00", drawn_on="2023-12-31", maturity_on="2024-12-31")
    book(world, OTHER_FIRM, "8.00", drawn_on="2024-01-01", maturity_on="2024-12-31")
    assert (world.share(2022).total_fen, world.share(2022).key_area_fen) == (100, 100)
    y2023 = world.share(2023)
    assert (y2023.total_fen, y2023.key_area_fen) == (600, 400)
    assert world.share(2023, date(2023, 12, 30)).total_fen == 200
    assert world.share(2024).total_fen == 800
    with pytest.raises(ValidationError):
        world.share(2023, date(2024, 1, 1))


def test_scope_by_kind_tool_and_institution(world: Ledger) -> None:
    setup_bank(world, "ICBC01", "工商银行")
    book(world, KEY_FIRM, "100.00")
    book(world, OTHER_FIRM, "300.00", institution_code="ICBC01")
    world.book(rediscount(uscc(OTHER_FIRM), bill(1), amount="50.00"))
    whole = world.share(2023)
    assert (whole.key_area_fen, whole.total_fen) == (10_000, 45_000)
    assert [(r.key, r.label, r.total_fen) for r in whole.by_tool] == [
        ("JMR", "京民融", 40_000),
        ("ZTX", "再贴现", 5_000),
    ]
    assert [(r.key, r.total_fen) for r in whole.by_institution] == [("BOB001", 15_000), ("ICBC01", 30_000)]
    relending = world.share(2023, kind="relending")
    assert (relending.total_fen, relending.scope) == (40_000, {"kind": "relending"})
    assert world.share(2023, kind="rediscount").total_fen == 5_000
    by_name = world.share(2023, tool="京民融")
    assert by_name.as_json() == world.share(2023, tool="JMR").as_json() and by_name.scope == {"tool": "JMR"}
    bank = world.share(2023, institution="BOB001")
    assert (bank.key_area_fen, bank.total_fen, bank.scope_label) == (10_000, 15_000, "北京银行")
    both = world.share(2023, tool="JMR", institution="ICBC01")
    assert (both.total_fen, both.status) == (30_000, "fail")
    assert (
        world.share(2023, kind="rediscount", tool="JMR").total_fen == 0
    )  # a relending tool in a rediscount scope
    with pytest.raises(LedgerError):
        world.share(2023, tool="不存在的工具")
    with pytest.raises(LedgerError):
        world.share(2023, institution="NOPE")
    with pytest.raises(ValidationError):
        world.share(2023, kind="loan")


def test_preview_shows_the_share_a_booking_would_give_without_writing(world: Ledger) -> None:
    book(world, KEY_FIRM, "100.00")
    book(world, OTHER_FIRM, "100.00")
    request = relending(uscc(OTHER_FIRM), amount="0.01", drawn_on="2023-05-05", ext_ref="preview")
    before, after = world.share_preview(request)
    assert (before.status, after.status) == ("pass", "fail")
    assert (after.total_fen, after.drawdowns) == (20_001, 3)
    assert world.share(2023).as_json() == before.as_json()  # nothing was written
    world.book(request)
    assert world.share(2023).as_json() == after.as_json()
    other_year, same = world.share_preview(
        relending(uscc(KEY_FIRM), amount="5.00", drawn_on="2024-02-01", ext_ref="x")
    )
    assert other_year.year == 2024 and (other_year.total_fen, same.total_fen, same.key_area_fen) == (
        0,
        500,
        500,
    )
    with pytest.raises(ValidationError):
        world.share_preview(relending(uscc(KEY_FIRM), amount="-1"))


def test_drilldown_pages_and_explains(world: Ledger) -> None:
    ids = [
        book(world, KEY_FIRM if n % 2 else OTHER_FIRM, "1.00", drawn_on=f"2023-03-{n:02d}")
        for n in range(1, 8)
    ]
    first = world.share_drilldown(2023, limit=3)
    second = world.share_drilldown(2023, limit=3, offset=3)
    assert [r["id"] for r in first + second] == ids[:6]
    other = world.share_drilldown(2023, key_area=False)
    assert [r["id"] for r in other] == ids[1::2]
    assert all(
        r["explanation"].startswith("仅计入全部发放") and r["amount"] == Decimal("1.00") for r in other
    )
    assert (
        world.share_drilldown(2023, tool="京民融", institution="BOB001", kind="relending", limit=100)[0]["id"]
        == ids[0]
    )
    assert world.share_drilldown(2023, kind="rediscount") == []


def test_threshold_arithmetic_is_exact_at_the_edges() -> None:
    half = Decimal("0.50")
    assert passes(1, 2, half) and not passes(1, 3, half) and passes(0, 0, half)
    assert headroom(1, 2, half) == ("more_non_key_allowed", 0)
    assert headroom(0, 1, Decimal("1")) == ("none", 0)  # 100%: no key money can fix a year with other money
    assert headroom(5, 10, Decimal("0")) == ("none", 0)  # 0%: nothing to protect
    assert headroom(2, 3, Decimal("0.5")) == ("more_non_key_allowed", 1)  # 2/4 still passes, 2/5 does not


def test_config_threshold_is_what_decides(ledger: Ledger) -> None:
    config: Config = make_config(share={"threshold": "0.60"})
    assert config.threshold == Decimal("0.60")
    setup_bank(ledger)
    add_borrower(ledger, KEY_FIRM, industry="C3911")
    add_borrower(ledger, OTHER_FIRM, industry="I6510")
    book(ledger, KEY_FIRM, "55.00")
    book(ledger, OTHER_FIRM, "45.00")
    assert ledger.share(2023).status == "pass"
    with ledger.connect() as conn:
        strict = compute_share(conn, config, 2023)
    # (5500 + y) / (10000 + y) ≥ 3/5 ⇔ 2y ≥ 30000 − 27500 ⇔ y ≥ 1250
    assert (strict.status, strict.headroom_kind, strict.headroom_fen) == ("fail", "key_area_needed", 1_250)


def test_reversals_are_subtracted_only_within_the_scope(world: Ledger) -> None:
    setup_bank(world, "ICBC01", "工商银行")
    book(world, KEY_FIRM, "100.00")
    other_bank = book(world, OTHER_FIRM, "40.00", institution_code="ICBC01")
    world.reverse(other_bank, "重复登记", on=date(2023, 3, 2))
    bank = world.share(2023, institution="BOB001")
    assert (bank.total_fen, bank.reversed_drawdowns) == (10_000, 0)
    icbc = world.share(2023, institution="ICBC01")
    assert (icbc.total_fen, icbc.drawdowns, icbc.share, icbc.reversed_fen) == (0, 0, None, 4_000)
    assert (
        icbc.by_institution == [] and icbc.by_tool == []
    )  # a bank whose only drawdown was reversed shows no row
    with world.connect() as conn:
        headline = compute_share(conn, world.config, 2023, by_institution=False)
    assert headline.by_institution == [] and headline.as_json()["total_amount"] == "100.00"


def test_pg_rule_runs_with_ssd_page_costs_and_gives_the_settings_back(world: Ledger) -> None:
    """The rule's queries run with random_page_cost 1.1 (index plans on a one-year table); the caller's
    transaction, with whatever it had set itself, carries on exactly as before. SQLite has no such settings."""
    book(world, KEY_FIRM, "100.00")
    with world.connect() as conn:
        if conn.dialect.name != "postgresql":
            with pg_local_settings(conn, random_page_cost="1.1"):
                assert compute_share(conn, world.config, 2023).total_fen == 10_000
            return
        seen: list[str] = []

        @event.listens_for(conn, "before_cursor_execute")
        def _note(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().startswith(("SELECT drawdown.", "SELECT share_month.")):
                seen.append(
                    connection.exec_driver_sql("SELECT current_setting('random_page_cost')").scalar_one()
                )

        conn.exec_driver_sql("SET LOCAL random_page_cost = 2.5")
        assert compute_share(conn, world.config, 2023).total_fen == 10_000  # whole months: share_month
        assert (
            compute_share(conn, world.config, 2023, date(2023, 12, 30)).total_fen == 10_000
        )  # and drawdowns
        event.remove(conn, "before_cursor_execute", _note)
        assert seen and set(seen) == {"1.1"}
        assert conn.exec_driver_sql("SELECT current_setting('random_page_cost')").scalar_one() == "2.5"
