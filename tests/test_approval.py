"""Maker-checker: above the authority limit nothing counts until a different person approves it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text

from ledger.domain.errors import LedgerError, PermissionDenied, RuleViolation, ValidationError
from ledger.facade import Ledger
from ledger.services.approval import Queued
from ledger.services.booking import Booked
from tests.conftest import set_policy, staff
from tests.factories import add_borrower, relending, setup_bank

LIMIT = "5000000"  # yuan; the factory's relending is 1,000,000
BIG = "6000000.00"


@pytest.fixture
def pair(ledger: Ledger) -> Iterator[tuple[Ledger, Ledger, str]]:
    """(maker, checker, borrower) on one database with a 5 million yuan authority limit on every tool."""
    set_policy(ledger, maker_checker={"default_limit_yuan": LIMIT})
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    people = staff(ledger, maker="operator", checker="checker")
    yield people["maker"], people["checker"], firm
    for person in people.values():
        person.dispose()


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
    assert (item.id, item.maker, item.status, item.amount_fen, item.intact) == (
        result.pending_id,
        maker.actor,
        "pending",
        600_000_000,
        True,
    )
    assert (
        maker.pending_item(item.id).payload["request"]["amount"] == BIG
    )  # the maker's own request, as typed
    assert (maker.actor, "submit") in _actions(maker)
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
    assert (maker.actor, "refused") in _actions(maker)


def test_a_different_user_approves_and_the_makers_request_is_booked(pair: tuple[Ledger, Ledger, str]) -> None:
    maker, checker, firm = pair
    queued = maker.book(relending(firm, amount=BIG, ext_ref="big"))
    assert isinstance(queued, Queued)
    _item, drawdown_id = checker.approve(queued.pending_id)
    row = checker.sql(
        f"SELECT amount_fen, booked_by, ext_ref, audit_id FROM v_drawdown WHERE drawdown_id = {drawdown_id}"
    ).rows
    # Written in the checker's (authenticated) name; the record names the maker and the item it came from.
    assert row[0][:3] == (600_000_000, checker.actor, "big")
    [payload] = checker.sql(f"SELECT payload FROM audit_log WHERE id = {row[0][3]}").rows[0]
    assert (
        json.loads(payload)["maker"] == maker.actor and json.loads(payload)["pending_id"] == queued.pending_id
    )
    [decided] = checker.pending(None)
    assert (decided.status, decided.checker, decided.result_id) == ("approved", checker.actor, drawdown_id)
    assert checker.pending() == []
    assert _actions(checker)[-2:] == [(checker.actor, "book"), (checker.actor, "approve")]
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
    assert (item.status, item.decision_reason, item.checker) == ("rejected", "额度不符", checker.actor)
    with pytest.raises(RuleViolation):
        checker.approve(queued.pending_id)
    assert _count(checker, "SELECT COUNT(*) FROM drawdown") == 0
    assert (checker.actor, "reject") in _actions(checker)
    assert checker.verify_audit().ok


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
    assert (checker.actor, "approve_failed") in _actions(checker)
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


def test_per_tool_limits_override_the_default(ledger: Ledger) -> None:
    set_policy(ledger, maker_checker={"default_limit_yuan": "100000000", "tools": {"JMR": "500000"}})
    setup_bank(ledger)
    firm = add_borrower(ledger, 2)
    assert ledger.config_on(date(2023, 3, 1)).approval_limit("JMR") == 500000
    assert isinstance(ledger.book(relending(firm)), Queued)  # 京民融 is JMR: 1,000,000 > 500,000


def _tamper(ledger: Ledger, sql: str, **params: object) -> None:
    """An edit behind the ledger's back (pending_command has no append-only trigger: it is a mutable table)."""
    with ledger.transaction() as conn:
        conn.execute(text(sql), params)


def test_an_item_edited_in_the_database_before_approval_is_refused_and_named(
    pair: tuple[Ledger, Ledger, str], db_url: str
) -> None:
    """Trust I finding 5: the payload changed from 6,000,000 to 60,000,000 in the database."""
    maker, checker, firm = pair
    queued = maker.book(relending(firm, amount=BIG, ext_ref="edited"))
    assert isinstance(queued, Queued)
    owner = Ledger(db_url) if "://" in db_url else Ledger(db_url, actor="tester")
    [[payload]] = owner.sql(f"SELECT payload FROM pending_command WHERE id = {queued.pending_id}").rows
    forged = payload.replace('"6000000.00"', '"60000000.00"')
    assert forged != payload
    _tamper(owner, "UPDATE pending_command SET payload = :p WHERE id = :i", p=forged, i=queued.pending_id)
    shown = checker.pending_item(queued.pending_id)
    assert not shown.intact and "内容" in shown.problem and shown.payload == {}  # never shown as if genuine
    with pytest.raises(RuleViolation, match="不一致"):
        checker.approve(queued.pending_id)
    assert _count(checker, "SELECT COUNT(*) FROM drawdown") == 0
    result = checker.verify_audit()
    assert not result.ok and "pending_command" in result.problem
    owner.dispose()


def test_the_amount_column_edited_is_caught_too(pair: tuple[Ledger, Ledger, str], db_url: str) -> None:
    maker, checker, firm = pair
    queued = maker.book(relending(firm, amount=BIG))
    assert isinstance(queued, Queued)
    owner = Ledger(db_url) if "://" in db_url else Ledger(db_url, actor="tester")
    _tamper(owner, f"UPDATE pending_command SET amount_fen = 1 WHERE id = {queued.pending_id}")
    [listed] = checker.pending()
    assert not listed.intact
    with pytest.raises(RuleViolation):
        checker.approve(queued.pending_id)
    owner.dispose()
