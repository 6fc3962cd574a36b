"""Each programme check produces its finding, on both backends.

Booking refuses most of these cases, so the findings are provoked the way they arise in practice: an override, or
configuration tightened after the drawdowns were booked (a quota, a cap, a term, a rollover limit, a target).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from ledger.config import Config
from ledger.domain.eligibility import Eligibility
from ledger.facade import Ledger
from ledger.rules.checks import Finding, has_errors, run_checks
from ledger.services.booking import Booked
from ledger.tools import Catalogue, Tool
from tests.conftest import test_config as make_config
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank, uscc

_refs = iter(range(1, 1_000_000))


@pytest.fixture
def world(ledger: Ledger) -> Ledger:
    setup_bank(ledger)
    add_borrower(ledger, 1, industry="C3911")  # key area (high-tech manufacturing)
    add_borrower(ledger, 2, industry="I6510")  # not a key area
    return ledger


def book(ledger: Ledger, firm: int, amount: str | None = "100.00", **extra: Any) -> int:
    fields: dict[str, Any] = {"ext_ref": f"c{next(_refs)}", **extra}
    if amount is not None:
        fields["amount"] = amount
    booked = ledger.book(relending(uscc(firm), **fields))
    assert isinstance(booked, Booked)
    return booked.id


def findings(
    ledger: Ledger, config: Config | None = None, year: int = 2023, as_of: date | None = None
) -> list[Finding]:
    with ledger.connect() as conn:
        return run_checks(conn, config or ledger.config, year, as_of)


def only(found: list[Finding], rule: str) -> list[Finding]:
    return [f for f in found if f.rule == rule]


def with_tool(config: Config, code: str, **changes: Any) -> Config:
    tools: tuple[Tool, ...] = tuple(
        t.configured(**changes) if t.code == code else t for t in config.catalogue
    )
    return replace(config, catalogue=Catalogue(tools))


def test_a_clean_year_has_no_findings(world: Ledger) -> None:
    book(world, 1, "300.00")
    book(world, 2, "100.00")
    assert findings(world) == []
    assert not has_errors(findings(world))


def test_a_failing_share_is_an_error_naming_share_threshold_and_need(world: Ledger) -> None:
    book(world, 1, "100.00")
    book(world, 2, "300.00")
    [finding] = only(findings(world), "share")
    assert finding.severity == "error" and finding.figure == "25.00%" and finding.limit == "≥50.00%"
    assert "200.00元" in finding.message  # (10000 + y) / (40000 + y) ≥ 1/2 ⇔ y ≥ 20000 fen
    assert has_errors([finding])


def test_quota_names_the_drawdowns_from_the_day_it_was_crossed(world: Ledger) -> None:
    book(world, 1, "100.00", drawn_on="2023-03-01")
    second = book(world, 1, "100.00", drawn_on="2023-03-02")
    third = book(world, 1, "10.00", drawn_on="2023-04-01")
    config = make_config(tools={"JMR": {"annual_quota_yuan": "150.00"}})
    [finding] = only(findings(world, config), "quota")
    assert finding.severity == "error" and finding.tool_code == "JMR"
    assert (finding.figure, finding.limit) == ("210.00元", "150.00元")
    assert finding.drawdown_ids == (second, third) and "超出60.00元" in finding.message
    assert only(findings(world, make_config(tools={"JMR": {"annual_quota_yuan": "210.00"}})), "quota") == []


def test_balance_cap_counts_what_is_outstanding_after_repayments(world: Ledger) -> None:
    first = book(world, 1, "100.00", drawn_on="2023-03-01", maturity_on="2024-02-01")
    book(world, 1, "100.00", drawn_on="2023-03-02", maturity_on="2024-02-01")
    book(world, 1, "500.00", drawn_on="2023-01-02", maturity_on="2023-06-30")  # matured before year end
    config = make_config(tools={"JMR": {"balance_cap_yuan": "150.00"}})
    [finding] = only(findings(world, config), "balance_cap")
    assert (finding.figure, finding.limit, finding.count) == ("200.00元", "150.00元", 2)
    world.repay(first, "2023-10-01", "60.00")  # outstanding 140.00
    assert only(findings(world, config), "balance_cap") == []
    # As of mid-year the 500.00 was still out.
    [mid] = only(findings(world, config, as_of=date(2023, 6, 1)), "balance_cap")
    assert mid.figure == "700.00元"


def test_term_beyond_the_tool_limit(world: Ledger) -> None:
    long = book(world, 1, drawn_on="2023-03-01", maturity_on="2024-03-01")
    book(world, 1, drawn_on="2023-03-01", maturity_on="2023-09-01")  # exactly six months: fine
    config = with_tool(make_config(), "JMR", max_term_months=6)
    [finding] = only(findings(world, config), "term")
    assert finding.drawdown_ids == (long,) and finding.limit == "≤6个月" and finding.severity == "error"
    assert only(findings(world), "term") == []


def test_rollovers_beyond_the_limit(world: Ledger) -> None:
    special = {"tool": "设备更新改造专项再贷款", "principal": "100.00", "lend_rate": "3.00"}
    rolled = world.book(
        relending(uscc(1), amount=None, drawn_on="2023-01-10", maturity_on="2023-06-30", **special)
    ).id
    world.rollover(rolled, "2023-12-31")
    world.rollover(rolled, "2024-06-30")
    assert only(findings(world), "rollovers") == []  # the special tools allow two
    [finding] = only(findings(world, with_tool(make_config(), "SBGX", max_rollovers=1)), "rollovers")
    assert finding.drawdown_ids == (rolled,) and (finding.figure, finding.limit) == ("2次", "≤1次")


def test_rate_differing_from_the_table_is_a_warning(world: Ledger) -> None:
    # 京民融 draws on 支农支小: its 1-year rate on 2023-03-01 is 2.00 (a 12-month loan, not the 3-month 1.70).
    odd = book(world, 1, cb_rate="1.75")
    book(world, 1)
    [finding] = only(findings(world), "rate_table")
    assert finding.severity == "warning" and finding.drawdown_ids == (odd,)
    assert (finding.figure, finding.limit) == ("1.75%", "2.00%")
    assert not has_errors(findings(world))


def test_lend_rate_above_cap_with_and_without_override(world: Ledger) -> None:
    overridden = world.book(
        relending(
            uscc(1),
            tool="设备更新改造专项再贷款",
            principal="100.00",
            amount=None,
            lend_rate="3.50",
            override_reason="经营管理部批准",
            ext_ref="cap1",
        )
    )
    assert isinstance(overridden, Booked)
    plain = book(world, 1, lend_rate="3.50")  # 京民融 has no cap at booking time
    config = make_config(tools={"JMR": {"lend_rate_cap": "3.0"}})
    caps = {f.tool_code: f for f in only(findings(world, config), "lend_rate_cap")}
    assert caps["SBGX"].severity == "warning" and caps["SBGX"].drawdown_ids == (overridden.id,)
    assert (caps["SBGX"].figure, caps["SBGX"].limit) == ("3.50%", "≤3.2%")
    assert caps["JMR"].severity == "error" and caps["JMR"].drawdown_ids == (plain,)
    [override] = only(findings(world, config), "override")
    assert (
        override.tool_code == "SBGX"
        and override.drawdown_ids == (overridden.id,)
        and override.severity == "warning"
    )


def test_expired_status_with_override_and_after_a_target_change(world: Ledger) -> None:
    lapsed = add_borrower(
        world, 5, industry="I6510", statuses=(("高新技术企业", date(2019, 1, 1), date(2022, 12, 31)),)
    )
    booked = world.book(rediscount(lapsed, bill(7), tool="京创通", override_reason="名录更新中,已核实"))
    assert isinstance(booked, Booked)
    [warning] = only(findings(world), "status_expired")
    assert (
        warning.severity == "warning" and warning.drawdown_ids == (booked.id,) and warning.tool_code == "JCT"
    )
    # 京民融 retargeted to sci-tech firms only: the same borrower's plain 京民融 drawdown now misses it.
    plain = book(world, 5)
    config = with_tool(
        make_config(), "JMR", eligibility=Eligibility(statuses=("高新技术企业",), description="科创")
    )
    errors = [f for f in only(findings(world, config), "status_expired") if f.severity == "error"]
    assert [(f.tool_code, f.drawdown_ids) for f in errors] == [("JMR", (plain,))]
    # A borrower whose certificate was valid on drawn_on is not involved.
    add_borrower(world, 6, industry="I6510", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    book(world, 6)
    assert [
        f.drawdown_ids for f in only(findings(world, config), "status_expired") if f.severity == "error"
    ] == [(plain,)]


def test_inclusive_limit_per_borrower_across_tools(world: Ledger) -> None:
    a = book(world, 2, "100.00")
    b = book(world, 2, "60.00")
    book(world, 1, "150.00")  # exactly at the limit: fine
    reversed_ = book(world, 1, "1.00")
    world.reverse(reversed_, "录入错误", on=date(2023, 3, 5))
    config = make_config(inclusive={"max_per_borrower_yuan": "150.00"})
    [finding] = only(findings(world, config), "inclusive_limit")
    assert finding.severity == "error" and set(finding.drawdown_ids) == {a, b}
    assert (finding.figure, finding.limit) == ("160.00元", "≤150.00元") and uscc(2) in finding.message


def test_findings_sort_errors_first(world: Ledger) -> None:
    book(world, 1, cb_rate="1.75")
    book(world, 2, "500.00")
    found = findings(world)
    assert [f.severity for f in found] == sorted((f.severity for f in found), key=lambda s: s != "error")
    assert {f.rule for f in found} == {"share", "rate_table"}
