"""Maker-checker: above the authority limit nothing counts until a different person approves it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from ledger.domain.errors import LedgerError, PermissionDenied, RuleViolation, ValidationError
from ledger.facade import Ledger
from ledger.services.approval import Queued
from ledger.services.booking import Booked
from tests.conftest import test_config as make_config
from tests.factories import add_borrower, relending, setup_bank

LIMIT = "5000000"  # yuan; the factory's relending is 1,000,000
BIG = "6000000.00"


@pytest.fixture
def pair(db_url: str) -> Iterator[tuple[Ledger, Ledger, str]]:
    """(maker, checker, borrower) on one database with a 5 million yuan authority limit on every tool."""
    cfg = make_config(maker_checker={"default_limit_yuan": LIMIT})
    maker = Ledger(db_url, actor="maker", config=cfg)
    maker.init()
    setup_bank(maker)
    firm = add_borrower(maker, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    checker = Ledger(db_url, actor="checker", config=cfg)
    yield maker, checker, firm
    maker.dispose()
    checker.dispose()


def _count(ledger: Ledger, sql: str) -> int:
    return int(ledger.sql(sql).rows[0][0])


def _actions(ledger: Ledger) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in ledger.sql("SELECT actor, action FROM audit_log ORDER BY id").rows]


def test_above_the_limit_is_queued_and_counts_nowhere(pair: tuple[Ledger, Ledger, str]) -> None:
    maker, _checker, firm = pair
    result = maker.book(relending(firm, amount=BIG, ext_ref="big"))
    assert isinstance(result, Queued)
    assert result.amount_fen == 600_000_000 and "待复核" in result.message
    assert _count(maker, "SELECT COUNT(*) FROM drawdown") == 0
    assert sum(o.amount_fen for o in maker.outstanding(date(2023, 6, 1))) == 0
    assert _count(maker, "SELECT COUNT(*) FROM v_share_by_year") == 0
    [item] = maker.pending()
    assert (item.id, item.maker, item.status, item.amount_fen) == (
        result.pending_id,
        "maker",
        "pending",
        600_000_000,
    )
    assert item.payload["request"]["amount"] == BIG  # the maker's own request, as typed
    assert ("maker", "submit") in _actions(maker)
    assert maker.verify_audit().ok


def test_at_or_below_the_limit_books_at_once(pair: tuple[Ledger, Ledger, str]) -> None:
    maker, _checker, firm = pair
    booked = maker.book(relending(firm, amount="5000000.00", ext_ref="edge"))
    assert isinstance(booked, Booked)
    assert maker.pending() == []


def test_the_maker_cannot_approve_their_own_entry(pair: tuple[Ledger, Ledger, str]) -> None:
    maker, _checker, firm = pair
    queued = maker.book(relending(firm, amount=BIG))
    assert isinstance(queued, Queued)
    with pytest.raises(PermissionDenied, match="不能复核自己"):
        maker.approve(queued.pending_id)
    assert [i.status for i in maker.pending(None)] == ["pending"]
    assert _count(maker, "SELECT COUNT(*) FROM drawdown") == 0
    assert ("maker", "refused") in _actions(maker)


def test_a_different_user_approves_and_the_makers_request_is_booked(pair: tuple[Ledger, Ledger, str]) -> None:
    maker, checker, firm = pair
    queued = maker.book(relending(firm, amount=BIG, ext_ref="big"))
    assert isinstance(queued, Queued)
    _item, drawdown_id = checker.approve(queued.pending_id)
    row = checker.sql(
        f"SELECT amount_fen, booked_by, ext_ref FROM v_drawdown WHERE drawdown_id = {drawdown_id}"
    ).rows
    assert row == [(600_000_000, "maker", "big")]
    [decided] = checker.pending(None)
    assert (decided.status, decided.checker, decided.result_id) == ("approved", "checker", drawdown_id)
    assert checker.pending() == []
    assert _actions(checker)[-2:] == [("maker", "book"), ("checker", "approve")]
    with pytest.raises(RuleViolation, match="已批准"):
        checker.approve(queued.pending_id)  # twice is refused, nothing booked twice
    assert _count(checker, "SELECT COUNT(*) FROM drawdown") == 1
    assert checker.verify_audit().ok


def test_rejection_needs_a_reason_and_books_nothing(pair: tuple[Ledger, Ledger, str]) -> None:
    maker, checker, firm = pair
    queued = maker.book(relending(firm, amount=BIG))
    assert isinstance(queued, Queued)
    with pytest.raises(ValidationError, match="原因"):
        checker.reject(queued.pending_id, "  ")
    checker.reject(queued.pending_id, "额度不符")
    [item] = checker.pending(None)
    assert (item.status, item.decision_reason, item.checker) == ("rejected", "额度不符", "checker")
    with pytest.raises(RuleViolation):
        checker.approve(queued.pending_id)
    assert _count(checker, "SELECT COUNT(*) FROM drawdown") == 0
    assert ("checker", "reject") in _actions(checker)


def test_a_rule_failing_at_approval_leaves_the_item_pending_and_is_audited(
    pair: tuple[Ledger, Ledger, str],
) -> None:
    maker, checker, firm = pair
    first = maker.book(relending(firm, amount=BIG, ext_ref="same"))
    second = maker.book(relending(firm, amount=BIG, ext_ref="same"))  # valid now: the first is not booked yet
    assert isinstance(first, Queued) and isinstance(second, Queued)
    checker.approve(first.pending_id)
    with pytest.raises(LedgerError, match="业务编号已登记"):
        checker.approve(second.pending_id)
    assert [i.id for i in checker.pending()] == [second.pending_id]
    assert ("checker", "approve_failed") in _actions(checker)
    assert _count(checker, "SELECT COUNT(*) FROM drawdown") == 1
    checker.reject(second.pending_id, "重复")
    assert checker.verify_audit().ok


def test_reversing_a_drawdown_above_the_limit_needs_approval_too(pair: tuple[Ledger, Ledger, str]) -> None:
    maker, checker, firm = pair
    queued = maker.book(relending(firm, amount=BIG))
    assert isinstance(queued, Queued)
    _item, drawdown_id = checker.approve(queued.pending_id)
    reversal = maker.reverse(drawdown_id, "录入错误", on=date(2023, 3, 5))
    assert isinstance(reversal, Queued) and reversal.action == "reverse"
    assert not maker.state(drawdown_id).reversed  # still counts until approved
    with pytest.raises(RuleViolation, match="已提交复核"):
        maker.reverse(drawdown_id, "again", on=date(2023, 3, 5))
    checker.approve(reversal.pending_id)
    assert maker.state(drawdown_id).reversed
    small = maker.book(relending(firm, ext_ref="small"))
    assert isinstance(small, Booked)
    assert isinstance(
        maker.reverse(small.id, "录入错误", on=date(2023, 3, 5)), int
    )  # under the limit: at once


def test_per_tool_limits_override_the_default(db_url: str) -> None:
    cfg = make_config(maker_checker={"default_limit_yuan": "100000000", "tools": {"JMR": "500000"}})
    ledger = Ledger(db_url, actor="maker", config=cfg)
    ledger.init()
    setup_bank(ledger)
    firm = add_borrower(ledger, 2)
    try:
        assert cfg.approval_limit("JMR") == Decimal("500000")
        assert isinstance(ledger.book(relending(firm)), Queued)  # 京民融 is JMR: 1,000,000 > 500,000
    finally:
        ledger.dispose()
