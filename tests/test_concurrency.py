"""Several processes booking against one tool's annual quota at the same moment.

PostgreSQL: every write locks the ledger_lock row (FOR UPDATE) before its checks, so exactly as many bookings
succeed as fit; SQLite: writers queue on BEGIN IMMEDIATE + busy_timeout and the same holds. Either way no drawdown
is lost or doubled, every failure is the quota's clear message, and the audit chain verifies afterwards.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from ledger.domain.errors import LedgerError
from ledger.facade import Ledger
from tests.conftest import fixture_actor, set_policy, staff
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank

PROCESSES, PER_PROCESS = 4, 25
AMOUNT_YUAN = 1_000_000
QUOTA_YUAN = 60_000_000  # room for 60 of the 100 attempts
SETTINGS: dict[str, Any] = {"tools": {"JCR": {"annual_quota_yuan": str(QUOTA_YUAN)}}}


def _as_worker(url: str, worker: int) -> Ledger:
    """A trainee per process on SQLite; on PostgreSQL the test's login in every process (the lock is the point)."""
    return Ledger(url, actor=None if fixture_actor(url) is None else f"op{worker}")


def _worker(url: str, worker: int, borrower: str, start_at: float) -> list[tuple[str, str]]:
    """Books PER_PROCESS drawdowns; returns (ext_ref, drawdown id or the error message) for each attempt."""
    ledger = _as_worker(url, worker)
    outcomes: list[tuple[str, str]] = []
    while time.time() < start_at:  # all processes start booking at the same moment
        time.sleep(0.005)
    try:
        for i in range(PER_PROCESS):
            ref = f"w{worker}-{i}"
            request = relending(borrower, tool="JCR", amount=f"{AMOUNT_YUAN}.00", ext_ref=ref)
            try:
                outcomes.append((ref, str(ledger.book(request).id)))
            except LedgerError as exc:
                outcomes.append((ref, f"error: {exc}"))
    finally:
        ledger.dispose()
    return outcomes


@pytest.mark.slow
def test_concurrent_bookings_never_exceed_the_quota_and_none_is_lost_or_doubled(ledger: Ledger) -> None:
    set_policy(ledger, **SETTINGS)
    setup_bank(ledger)
    borrower = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    ledger.book(relending(borrower, tool="JCR", amount="1.00", ext_ref="probe"))  # the request shape is valid
    ledger.reverse(1, "probe only", on=date(2023, 3, 2))  # reversed: frees its amount again
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0
    begun = time.perf_counter()
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_worker, [(ledger.url, w, borrower, start_at) for w in range(PROCESSES)])
    elapsed = time.perf_counter() - begun
    outcomes = [o for worker in results for o in worker]
    booked = {ref: value for ref, value in outcomes if not value.startswith("error")}
    failures = [value for _ref, value in outcomes if value.startswith("error")]

    assert len(outcomes) == PROCESSES * PER_PROCESS
    assert len(booked) == QUOTA_YUAN // AMOUNT_YUAN  # exactly what fits, whoever won the races
    assert all("年度额度" in f for f in failures), failures[:3]  # every refusal is the quota's clear message
    rows = ledger.sql(
        "SELECT ext_ref, drawdown_id FROM v_drawdown WHERE tool_code = 'JCR' AND status <> 'reversed'", None
    ).rows
    assert {r[0]: str(r[1]) for r in rows} == booked  # nothing lost, nothing doubled, ids as reported
    total = ledger.sql("SELECT SUM(amount_fen) FROM drawdown WHERE ext_ref <> 'probe'").rows[0][0]
    assert int(total) == QUOTA_YUAN * 100
    assert ledger.verify_audit().ok
    if ledger.engine.dialect.name == "sqlite":
        with ledger.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    print(
        f"\n{ledger.engine.dialect.name}: {len(outcomes)} attempts by {PROCESSES} processes in {elapsed:.1f}s "
        f"(incl. ~3s start), {len(booked)} booked, {len(failures)} refused by the quota"
    )


def test_the_quota_counts_the_year_and_frees_reversed_amounts(ledger: Ledger) -> None:
    set_policy(ledger, tools={"JCR": {"annual_quota_yuan": "2000000"}})
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    first = ledger.book(relending(firm, tool="JCR", ext_ref="a")).id
    ledger.book(relending(firm, tool="JCR", ext_ref="b"))
    with pytest.raises(LedgerError, match="年度额度"):
        ledger.book(relending(firm, tool="JCR", ext_ref="c"))
    ledger.book(
        relending(firm, tool="JCR", ext_ref="next-year", drawn_on="2024-01-02", maturity_on="2025-01-02")
    )
    ledger.reverse(first, "录入错误", on=date(2023, 3, 2))
    ledger.book(relending(firm, tool="JCR", ext_ref="c"))  # the reversal freed its million


@pytest.mark.slow
def test_two_checkers_approving_the_same_item_book_it_once(ledger: Ledger) -> None:
    set_policy(ledger, maker_checker={"default_limit_yuan": "10"})
    setup_bank(ledger)
    firm = add_borrower(ledger, 1)
    people = staff(ledger, maker="operator", checker0="checker", checker1="checker")
    maker = people["maker"]
    pending = [maker.book(relending(firm, ext_ref=f"p{i}")).id for i in range(10)]
    context = multiprocessing.get_context("spawn")
    checkers = [(people[f"checker{n}"].url, people[f"checker{n}"].actor) for n in range(2)]
    with context.Pool(2) as pool:
        results = pool.starmap(_approve_all, [(url, actor, pending) for url, actor in checkers])
    approved = [p for worker in results for p in worker]
    assert sorted(approved) == sorted(pending)  # each item approved by exactly one checker
    assert maker.sql("SELECT COUNT(*) FROM drawdown").rows == [(10,)]
    assert maker.verify_audit().ok
    for person in people.values():
        person.dispose()


def _approve_all(url: str, checker: str, pending: list[int]) -> list[int]:
    ledger = Ledger(url, actor=None if fixture_actor(url) is None else checker)
    done = []
    try:
        for pending_id in pending:
            try:
                ledger.approve(pending_id)
                done.append(pending_id)
            except LedgerError as exc:
                assert "已批准" in str(exc), str(exc)
    finally:
        ledger.dispose()
    return done


def _book_same_bill(url: str, worker: int, borrower: str, bill_no: str, start_at: float) -> str:
    ledger = _as_worker(url, worker)
    while time.time() < start_at:
        time.sleep(0.002)
    try:
        return str(ledger.book(rediscount(borrower, bill_no, ext_ref=f"bill-{worker}")).id)
    except LedgerError as exc:
        return f"error: {exc}"
    finally:
        ledger.dispose()


@pytest.mark.slow
def test_the_same_bill_booked_at_the_same_instant_is_booked_once(ledger: Ledger) -> None:
    """The duplicate-bill check runs under the write lock, so two sessions cannot both see the bill as free."""
    setup_bank(ledger)
    borrower = add_borrower(ledger, 2, industry="A0111", size="small")
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(
            _book_same_bill, [(ledger.url, w, borrower, bill(77), start_at) for w in range(PROCESSES)]
        )
    assert sum(not r.startswith("error") for r in results) == 1, results
    assert all("票据已登记" in r for r in results if r.startswith("error")), results
    assert ledger.sql("SELECT COUNT(*) FROM drawdown WHERE bill_no IS NOT NULL").rows[0][0] == 1
