"""Trust: who acts is authenticated, the controls are the ledger's own records, and the audit chain misses nothing.

Each test is one way an outside tester got round the ledger, tried again on both backends: a --user label or
LEDGER_USER naming someone else, a config file loosening the limits, an import above the limit or the quota,
a policy change without a second person, a cut tail of the audit chain, and reference tables edited behind the
ledger's back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.cli.main import main
from ledger.domain.errors import PermissionDenied, RuleViolation
from ledger.facade import Ledger
from ledger.io.importer import import_drawdowns
from ledger.services.approval import Queued
from ledger.services.booking import Booked
from ledger.services.identity import os_account
from ledger.services.share_tally import recomputed
from tests.conftest import is_pg, set_policy, staff
from tests.factories import BANK, add_borrower, relending, setup_bank
from tests.test_import_helpers import relending_row, write_csv
from tests.test_tamper import _guards

LIMIT = "5000000"
BIG = "6000000.00"


@pytest.fixture
def team(ledger: Ledger) -> Iterator[tuple[dict[str, Ledger], str]]:
    """A maker, a checker and an auditor (real logins on PostgreSQL) with a 5 million yuan authority limit."""
    set_policy(ledger, maker_checker={"default_limit_yuan": LIMIT})
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    people = staff(ledger, maker="operator", checker="checker", auditor="auditor")
    yield people, firm
    for person in people.values():
        person.dispose()


def _cli(person: Ledger, *argv: str) -> int:
    """The person's own connection; on the SQLite training ledger their name is the label."""
    who = [] if is_pg(person.url) else ["--user", person.actor]
    return main(["--db", person.url, *who, *argv])


def _count(ledger: Ledger, table: str) -> int:
    return int(ledger.sql(f"SELECT COUNT(*) FROM {table}").rows[0][0])


# -- 1. anyone is anyone -------------------------------------------------------------------------------------------
@pytest.fixture
def real_sqlite(tmp_path: Path) -> Iterator[Ledger]:
    """A SQLite ledger in normal (not training) mode: its user is the OS account running the command."""
    instance = Ledger(str(tmp_path / "real.db"))
    instance.init()
    yield instance
    instance.dispose()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_naming_someone_else_is_refused_on_a_real_sqlite_ledger(
    real_sqlite: Ledger, how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _count(real_sqlite, "audit_log")
    if how == "flag":
        code = main(["--db", real_sqlite.url, "--user", "chk", "pending"])
    else:
        monkeypatch.setenv("LEDGER_USER", "chk")
        code = main(["--db", real_sqlite.url, "pending"])
    err = capsys.readouterr().err
    assert code == 1 and "chk" in err and os_account() in err and "Traceback" not in err
    monkeypatch.delenv("LEDGER_USER", raising=False)
    monkeypatch.setenv("USER", "chk")  # the shell's USER is a label too: the real uid decides
    assert main(["--db", real_sqlite.url, "--user", os_account(), "pending"]) == 0
    assert real_sqlite.actor == os_account()
    assert _count(real_sqlite, "audit_log") >= before


def test_on_a_real_sqlite_ledger_one_os_account_cannot_be_maker_and_checker(real_sqlite: Ledger) -> None:
    set_policy(real_sqlite, maker_checker={"default_limit_yuan": LIMIT})
    setup_bank(real_sqlite)
    firm = add_borrower(real_sqlite, 1)
    queued = real_sqlite.book(relending(firm, amount=BIG))
    assert isinstance(queued, Queued)
    with pytest.raises(PermissionDenied):
        real_sqlite.approve(queued.pending_id)
    assert _count(real_sqlite, "drawdown") == 0


def test_on_postgresql_the_login_is_the_user_and_a_label_is_refused(
    team: tuple[dict[str, Ledger], str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    people, firm = team
    maker, checker = people["maker"], people["checker"]
    if not is_pg(maker.url):
        pytest.skip("the SQLite twin is test_naming_someone_else_is_refused_on_a_real_sqlite_ledger")
    queued = maker.book(relending(firm, amount=BIG))
    assert isinstance(queued, Queued)
    # the maker's own login, claiming to be the checker: refused, and nothing approved
    assert main(["--db", maker.url, "--user", checker.actor, "approve", str(queued.pending_id)]) == 1
    assert checker.actor in capsys.readouterr().err
    monkeypatch.setenv("LEDGER_USER", checker.actor)
    assert main(["--db", maker.url, "approve", str(queued.pending_id)]) == 1
    monkeypatch.delenv("LEDGER_USER")
    assert _count(maker, "drawdown") == 0
    # naming yourself is harmless; the checker's own login approves
    assert main(["--db", checker.url, "--user", checker.actor, "approve", str(queued.pending_id)]) == 0
    [[actor]] = maker.sql("SELECT actor FROM audit_log WHERE action = 'approve'").rows
    assert actor == checker.actor


def test_on_postgresql_an_auditor_login_cannot_write_even_by_hand(
    team: tuple[dict[str, Ledger], str],
) -> None:
    people, _firm = team
    auditor = people["auditor"]
    if not is_pg(auditor.url):
        pytest.skip("SQLite has no logins; its console is read-only by connection (test_sql_console)")
    for statement in (
        "UPDATE app_user SET role = 'admin'",
        "INSERT INTO policy (key, value, effective_from, reason, audit_id) VALUES ('x', '1', '2020-01-01', '', 1)",
        "INSERT INTO audit_log (recorded_at, actor, action, entity, entity_id, payload, prev_hash, hash) "
        "VALUES ('2020-01-01', 'a', 'b', 'c', 'd', '{}', 'e', 'f')",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), auditor.transaction() as conn:
            conn.execute(text(statement))


# -- 2. the caller picks the rules --------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["--config", "LEDGER_CONFIG", "cwd"])
def test_a_config_file_cannot_loosen_the_ledgers_limit(
    team: tuple[dict[str, Ledger], str],
    how: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    people, firm = team
    maker = people["maker"]
    loose = tmp_path / "ledger.toml"
    loose.write_text(
        '[maker_checker]\ndefault_limit_yuan = "999999999"\n[tools.JMR]\nannual_quota_yuan = "999999999"\n',
        encoding="utf-8",
    )
    argv = ["book", "--tool", "JMR", "--institution", BANK, "--enterprise", firm, "--drawn-on", "2023-03-01"]
    argv += ["--maturity-on", "2024-03-01", "--amount", BIG, "--lend-rate", "3.50"]
    if how == "--config":
        argv = ["--config", str(loose), *argv]
    elif how == "LEDGER_CONFIG":
        monkeypatch.setenv("LEDGER_CONFIG", str(loose))
    else:
        monkeypatch.chdir(tmp_path)
    assert _cli(maker, *argv) == 0
    err = capsys.readouterr().err
    assert "pending approval" in err and "ignored" in err.lower()
    assert _count(maker, "drawdown") == 0 and len(maker.pending()) == 1


# -- 3. imports skip the controls ---------------------------------------------------------------------------------
def test_an_import_above_the_limit_waits_whole_for_a_checker(
    team: tuple[dict[str, Ledger], str], tmp_path: Path
) -> None:
    people, _firm = team
    maker, checker = people["maker"], people["checker"]
    path = write_csv(tmp_path / "in.csv", [relending_row(5), relending_row(6, amount="6,000,000.00")])
    result = import_drawdowns(maker, path)
    assert result.above_limit == 1 and result.pending_id is not None and result.audit_id is None
    assert _count(maker, "drawdown") == 0 and _count(maker, "enterprise") == 1  # not even the new firms
    with pytest.raises(PermissionDenied):
        maker.approve(result.pending_id)
    path.write_text("tampered", encoding="utf-8")  # the queued batch is the file as it was, not the path
    _item, _ = checker.approve(result.pending_id)
    rows = maker.sql(
        "SELECT d.amount_fen, a.actor FROM drawdown d JOIN audit_log a ON a.id = d.audit_id"
    ).rows
    assert sorted(r[0] for r in rows) == [100_000_000, 600_000_000]
    assert {r[1] for r in rows} == {checker.actor}
    assert maker.verify_audit().ok


def test_an_import_above_the_annual_quota_is_a_row_error(
    team: tuple[dict[str, Ledger], str], tmp_path: Path
) -> None:
    people, firm = team
    maker = people["maker"]
    set_policy(maker, tools={"JMR": {"annual_quota_yuan": "1500000"}})
    maker.book(relending(firm, amount="1000000.00"))  # 1.0M of 1.5M used
    path = write_csv(
        tmp_path / "in.csv", [relending_row(5, amount="400,000.00"), relending_row(6, amount="200,000")]
    )
    result = import_drawdowns(maker, path)
    assert not result.ok and result.audit_id is None
    [error] = result.errors
    assert (error.row, error.column, error.value) == (
        2,
        "amount",
        "200000.00",
    )  # 1.0 + 0.4 fits; 0.2 more does not
    assert "annual_quota" in error.rule
    assert _count(maker, "drawdown") == 1


# -- the policy itself: four eyes, dated --------------------------------------------------------------------------
def test_a_policy_change_needs_a_second_person_and_applies_from_its_date(
    team: tuple[dict[str, Ledger], str], capsys: pytest.CaptureFixture[str]
) -> None:
    people, firm = team
    maker, checker, auditor = people["maker"], people["checker"], people["auditor"]
    admin = people["admin"]
    with pytest.raises(PermissionDenied):
        maker.set_policy("maker_checker.default_limit_yuan", "100000000", date(2023, 6, 1), "raise")
    queued = admin.set_policy("maker_checker.default_limit_yuan", "100000000", date(2023, 6, 1), "年度调整")
    assert maker.config_on(date(2023, 7, 1)).approval_limit_yuan == Decimal(LIMIT)  # not yet in force
    with pytest.raises(PermissionDenied):
        auditor.approve(queued.pending_id)
    with pytest.raises(PermissionDenied):
        admin.approve(queued.pending_id)  # the maker of the change
    checker.approve(queued.pending_id)
    maker.refresh()
    assert maker.config_on(date(2023, 5, 31)).approval_limit_yuan == Decimal(LIMIT)
    assert maker.config_on(date(2023, 6, 1)).approval_limit_yuan == Decimal("100000000")
    assert isinstance(maker.book(relending(firm, amount=BIG, drawn_on="2023-03-01")), Queued)
    assert isinstance(maker.book(relending(firm, amount=BIG, drawn_on="2023-06-01", ext_ref="j")), Booked)
    assert _cli(auditor, "policy", "show", "--as-of", "2023-06-01") == 0
    assert "100,000,000" in capsys.readouterr().out.replace("100000000", "100,000,000")
    assert maker.verify_audit().ok


def test_a_policy_value_edited_in_the_database_is_caught(team: tuple[dict[str, Ledger], str]) -> None:
    people, _firm = team
    maker = people["maker"]
    owner = _owner(maker)
    _guards(owner, False)
    try:
        with owner.transaction() as conn:
            conn.execute(
                text(
                    "UPDATE policy SET value = '\"999999999\"' WHERE key = 'maker_checker.default_limit_yuan'"
                )
            )
        result = maker.verify_audit()
        assert not result.ok and "policy" in result.problem
    finally:
        _guards(owner, True)


# -- 6. tail truncation -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cut", ["drawdowns", "refusal"])
def test_a_cut_tail_is_caught_against_a_head_kept_outside(
    team: tuple[dict[str, Ledger], str], cut: str, capsys: pytest.CaptureFixture[str]
) -> None:
    people, firm = team
    maker, auditor = people["maker"], people["auditor"]
    maker.book(relending(firm, ext_ref="a"))
    if cut == "drawdowns":
        maker.book(relending(firm, ext_ref="b"))
        maker.book(relending(firm, ext_ref="c"))
    else:
        with pytest.raises(PermissionDenied):
            maker.close_month("2023-01")  # refused, and the refusal is a record
    count, digest = maker.audit_head()
    assert _cli(auditor, "audit", "verify", "--expect-head", f"{count}:{digest}") == 0
    owner = _owner(maker)
    _guards(owner, False)
    try:
        with owner.transaction() as conn:
            if cut == "drawdowns":
                ids = [
                    r[0] for r in conn.execute(text("SELECT audit_id FROM drawdown ORDER BY id DESC LIMIT 2"))
                ]
                conn.execute(text("DELETE FROM share_month"))
                conn.execute(
                    text("DELETE FROM drawdown WHERE audit_id IN (:a, :b)"), {"a": ids[0], "b": ids[1]}
                )
                conn.execute(text("DELETE FROM audit_log WHERE id >= :a"), {"a": min(ids)})
            else:
                conn.execute(text("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)"))
        if cut == "drawdowns":  # rebuild the summary as an attacker would, from what is left
            with owner.transaction() as conn:
                keys = ("year", "month", "tool_code", "key_area", "institution_id", "office", "measures")
                figures = ("drawdowns", "amount_fen", "reversed", "reversed_fen")
                for key, values in recomputed(conn).items():
                    row = dict(zip(keys, key, strict=True)) | dict(zip(figures, values, strict=True))
                    names = ", ".join(row)
                    conn.execute(
                        text(f"INSERT INTO share_month ({names}) VALUES ({', '.join(':' + n for n in row)})"),
                        row,
                    )
        capsys.readouterr()
        assert _cli(auditor, "audit", "verify", "--expect-head", f"{count}:{digest}") == 1
        err = capsys.readouterr().err
        assert str(count) in err
        # without the outside head the chain itself still looks whole: that is what the outside head is for
        assert maker.verify_audit().ok
    finally:
        _guards(owner, True)


def test_a_close_anchors_the_head_it_closed_on(team: tuple[dict[str, Ledger], str]) -> None:
    people, firm = team
    maker = people["maker"]
    maker.book(relending(firm, ext_ref="a"))
    people["admin"].close_month("2023-03")
    maker.book(relending(firm, ext_ref="b", drawn_on="2023-04-03"))
    result = maker.verify_audit(since_anchor=True)
    assert result.ok and result.anchors >= 1 and result.since > 1
    owner = _owner(maker)
    _guards(owner, False)
    try:
        with (
            maker.transaction() as conn
        ):  # rewrite the record the close anchored: the anchor no longer agrees
            conn.execute(
                text(
                    "UPDATE audit_log SET entity_id = 'x' WHERE id = (SELECT MIN(id) FROM audit_log WHERE action='book')"
                )
            )
        assert not maker.verify_audit().ok
        assert not maker.verify_audit(since_anchor=True).ok
    finally:
        _guards(owner, True)


# -- 7. reference tables behind the ledger's back -----------------------------------------------------------------
EDITS = {
    "role": "UPDATE app_user SET role = 'admin' WHERE role = 'auditor'",
    "new user": "INSERT INTO app_user (name, role, active) VALUES ('mallory', 'admin', TRUE)",
    "tool": "UPDATE tool SET name = '假工具' WHERE code = 'JMR'",
    "tool_rate": "UPDATE tool_rate SET rate_ppm = rate_ppm + 1 WHERE id = (SELECT MIN(id) FROM tool_rate)",
    "enterprise": "UPDATE enterprise SET industry_code = 'A0111'",
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_reference_rows_edited_behind_the_ledger_are_caught(
    team: tuple[dict[str, Ledger], str], edit: str
) -> None:
    people, _firm = team
    maker = people["maker"]
    assert maker.verify_audit().ok
    owner = _owner(maker)
    with owner.transaction() as conn:
        conn.execute(text(EDITS[edit]))
    if owner is not maker:
        owner.dispose()
    result = maker.verify_audit()
    assert not result.ok, edit


def _owner(person: Ledger) -> Ledger:
    """The schema owner's connection (the tester's superuser URL on PostgreSQL, the file on SQLite)."""
    if not is_pg(person.url):
        return person
    from tests.conftest import PG_ADMIN_URL

    database = person.url.rsplit("/", 1)[1]
    return Ledger(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database)


# -- 4. demo into a used ledger -----------------------------------------------------------------------------------
def test_demo_refuses_a_ledger_with_data(team: tuple[dict[str, Ledger], str]) -> None:
    people, firm = team
    maker = people["maker"]
    maker.book(relending(firm))
    before = _count(maker, "drawdown")
    admin = people["admin"]
    with pytest.raises(RuleViolation):
        admin.load_demo(drawdowns=10, year=2023)
    assert _count(maker, "drawdown") == before


@pytest.mark.parametrize("edit", ["added", "changed after the anchor"])
def test_the_daily_verify_from_the_anchor_still_sees_reference_rows(
    team: tuple[dict[str, Ledger], str], edit: str
) -> None:
    people, firm = team
    admin = people["admin"]
    admin.close_month("2023-01")  # the anchor
    admin.update_enterprise(firm, "北京改名科技有限公司", "C3911", "small")  # recorded after it
    assert admin.verify_audit(since_anchor=True).ok
    owner = _owner(admin)
    with owner.transaction() as conn:
        if edit == "added":
            conn.execute(
                text(
                    "INSERT INTO enterprise (uscc, name, industry_code, size) "
                    "VALUES ('91110108MA00000000', 'ghost', 'C3911', 'small')"
                )
            )
        else:
            conn.execute(text("UPDATE enterprise SET name = '假名' WHERE uscc = :u"), {"u": firm})
    if owner is not admin:
        owner.dispose()
    result = admin.verify_audit(since_anchor=True)
    assert not result.ok and "enterprise" in result.problem
