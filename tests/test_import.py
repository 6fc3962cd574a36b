"""`ledger import drawdowns` on both backends: what a user sees for good files, bad rows and re-imports."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.cli.main import main
from ledger.domain.errors import ValidationError
from ledger.facade import Ledger
from ledger.io.importer import import_drawdowns
from tests.factories import BANK, add_borrower, bill, rediscount, setup_bank, uscc
from tests.test_import_helpers import (
    DUPLICATE_LOOKUPS,
    counts,
    find_duplicates,
    rediscount_row,
    relending_row,
    write_csv,
    write_xlsx,
)


def _errors(result: object) -> set[tuple[int, str]]:
    return {(e.row, e.column) for e in result.errors}  # type: ignore[attr-defined]


def test_import_books_rows_creates_reference_data_and_one_audit_record(
    ledger: Ledger, tmp_path: Path
) -> None:
    rows = [relending_row(1), rediscount_row(2, bill(1)), relending_row(1, ref="R99999", amount="250000")]
    before = counts(ledger)
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert result.ok and (result.new, result.skipped, result.rejected) == (3, 0, 0)
    after = counts(ledger)
    assert after["drawdown"] == before["drawdown"] + 3
    assert after["institution"] == before["institution"] + 1  # BOB001 was new: created from institution_name
    assert after["enterprise"] == before["enterprise"] + 2
    # one record for the import + one 'create' per new bank and enterprise, as add-institution/enterprise write
    assert after["audit_log"] == before["audit_log"] + 1 + 1 + 2
    with ledger.connect() as conn:
        amounts = sorted(r[0] for r in conn.execute(text("SELECT amount_fen FROM drawdown")))
        audited = conn.execute(text("SELECT COUNT(DISTINCT audit_id) FROM drawdown")).scalar_one()
        action = conn.execute(text(f"SELECT action FROM audit_log WHERE id = {result.audit_id}")).scalar_one()
        interest = conn.execute(
            text("SELECT interest_fen FROM drawdown WHERE bill_no IS NOT NULL")
        ).scalar_one()
    assert amounts == [25_000_000, 50_000_000, 100_000_000]
    assert audited == 1 and action == "import"
    # 再贴现 interest by hand: 500,000.00 × 2.00 % (table rate on 2023-03-01) × 122 days / 360 = 3,388.89
    assert interest == 338_889
    verdict = ledger.verify_audit()
    assert verdict.ok, verdict.problem


def test_reimport_adds_nothing_and_counts_skipped(ledger: Ledger, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [relending_row(1), rediscount_row(2, bill(1)), relending_row(3)])
    assert import_drawdowns(ledger, path).new == 3
    before = counts(ledger)
    again = import_drawdowns(ledger, path)
    assert again.ok and (again.new, again.skipped) == (0, 3)
    assert counts(ledger) == before
    assert ledger.verify_audit().ok


@pytest.mark.parametrize("how", DUPLICATE_LOOKUPS)
def test_row_already_booked_by_hand_is_skipped(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    find_duplicates(monkeypatch, how)
    setup_bank(ledger)
    firm = add_borrower(ledger, 7)
    ledger.book(rediscount(firm, bill(5)))
    row = rediscount_row(7, bill(5), drawn_on="2023-03-01")
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", [row, relending_row(8)]))
    assert (result.new, result.skipped) == (1, 1)


BAD_ROWS = {
    "bad USCC": ({"enterprise_uscc": "91110108000000011X"}, "enterprise_uscc"),
    "bad date": ({"drawn_on": "2023-02-30"}, "drawn_on"),
    "bad date format": ({"maturity_on": "next year"}, "maturity_on"),
    "negative amount": ({"amount": "-100.00"}, "amount"),
    "non-numeric amount": ({"amount": "一百万"}, "amount"),
    "unknown tool": ({"tool": "京不存在"}, "tool"),
    "term too long": ({"maturity_on": "2025-03-01"}, "maturity_on"),
    "unknown status": ({"enterprise_statuses": "优秀企业"}, "enterprise_statuses"),
    # PostgreSQL refuses NUL in any text parameter: the row is refused before its text reaches a query
    "NUL byte": ({"enterprise_uscc": "9111\x00", "institution_code": "B\x00"}, "institution_code"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_row_is_reported_and_nothing_is_written(ledger: Ledger, tmp_path: Path, case: str) -> None:
    overrides, column = BAD_ROWS[case]
    rows = [relending_row(1), relending_row(2, **overrides), relending_row(3)]
    before = counts(ledger)
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows), rejects=tmp_path / "rejects.csv")
    assert not result.ok and result.rejected == 1 and result.new == 2  # 2 would have been new, none written
    assert (2, column) in _errors(result), result.errors
    assert counts(ledger) == before
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert len(rejected) == 1
    assert rejected[0]["enterprise_uscc"] == rows[1]["enterprise_uscc"]  # the user's own row comes back
    assert rejected[0]["行号 (row)"] == "2" and column in rejected[0]["错误 (errors)"]


@pytest.mark.parametrize("how", DUPLICATE_LOOKUPS)
def test_rediscount_bill_problems(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Bill rules against the ledger and within the file, however the import finds duplicates: with one
    drawdown in the ledger and KEYS_IN_MEMORY at 2, "in memory, then per chunk" reads the ledger's keys, then
    builds the lookup indexes part-way through the file."""
    find_duplicates(monkeypatch, how)
    monkeypatch.setattr("ledger.io.importer.CHUNK", 2)
    setup_bank(ledger)
    firm = add_borrower(ledger, 50)
    ledger.book(rediscount(firm, bill(1)))
    rows = [
        rediscount_row(1, ""),  # rediscount without a bill number
        rediscount_row(2, bill(1), bill_range="1-50000000"),  # part of a bill already booked whole
        rediscount_row(3, bill(2)),
        rediscount_row(4, bill(2)),  # the same bill twice in the file
        rediscount_row(
            5, bill(3, issued_on=date(2023, 1, 10)), maturity_on="2023-08-01"
        ),  # bill runs > 6 months
        rediscount_row(6, bill(4), bill_range="1-30000000", amount="300000.00"),
        rediscount_row(
            7, bill(4), bill_range="20000001-50000000", amount="300000.00"
        ),  # overlapping sub-bills
        rediscount_row(8, bill(4), bill_range="30000001-60000000", amount="300000.00"),  # the rest: fine
    ]
    before = counts(ledger)
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert {(1, "bill_no"), (2, "bill_no"), (4, "bill_no"), (5, "maturity_on"), (7, "bill_no")} <= _errors(
        result
    )
    assert not {(3, "bill_no"), (6, "bill_no"), (8, "bill_no")} & _errors(result)
    assert counts(ledger) == before


DUPLICATE_KINDS = {
    # the first row and its repeat; the repeat is the row reported
    "bill": (rediscount_row(1, bill(1)), rediscount_row(9, bill(1)), "bill_no"),
    "reference": (relending_row(1, ref="R-1"), relending_row(1, ref="R-1", amount="2,000.00"), "ref"),
    "content": (relending_row(1, ref=""), relending_row(1, ref=""), "ref"),
}


@pytest.mark.parametrize("how", DUPLICATE_LOOKUPS)
@pytest.mark.parametrize("apart", [1, 2, 3])
@pytest.mark.parametrize("kind", sorted(DUPLICATE_KINDS))
def test_duplicate_across_chunks_is_caught(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, apart: int, how: str
) -> None:
    """Rows are checked chunk by chunk, and a chunk's drawdowns go in only behind the next chunk's lookups: a
    repeat in the very next chunk is found among the rows this import is about to write, a later one in the
    ledger under this import's audit record, or among the keys kept in memory. Either way it is a duplicate
    within the file. ("in memory, then per chunk" builds the lookup indexes once two keys are held, so a repeat
    two or three chunks on is found by them.)"""
    find_duplicates(monkeypatch, how)
    monkeypatch.setattr("ledger.io.importer.CHUNK", 2)
    first, repeat, column = DUPLICATE_KINDS[kind]
    fillers = [relending_row(n + 2) for n in range(2 * apart - 1)]
    rows = [first, *fillers, repeat]  # the repeat lands `apart` chunks after the first row
    before = counts(ledger)
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert _errors(result) == {(len(rows), column)}, result.errors
    assert counts(ledger) == before
    fine = import_drawdowns(ledger, write_csv(tmp_path / "fine.csv", rows[:-1]))
    assert fine.ok and fine.new == len(rows) - 1 and ledger.verify_audit().ok


def test_a_bank_named_by_a_later_row_is_unknown_to_the_rows_before(ledger: Ledger, tmp_path: Path) -> None:
    """A bank new to the ledger is created from the first row that gives its name; an earlier row that names no
    bank is refused, as it would be had the file ended there."""
    rows = [
        relending_row(1, institution_code="NEW9", institution_name=""),
        relending_row(2, institution_code="NEW9", institution_name="新银行"),
        relending_row(3, institution_code="NEW9", institution_name=""),
    ]
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert _errors(result) == {(1, "institution_code")}
    good = import_drawdowns(ledger, write_csv(tmp_path / "good.csv", rows[1:]))
    assert good.ok and (good.new, good.new_institutions) == (2, 1) and ledger.verify_audit().ok


def test_an_insert_that_fails_behind_the_checks_fails_the_import(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drawdowns of a chunk go in while the next chunk is judged (on PostgreSQL on a thread): a failure there
    reaches the caller and the transaction rolls back with nothing written."""
    from ledger.services import bulk

    monkeypatch.setattr("ledger.io.importer.CHUNK", 2)

    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk, "_copy", broken)
    monkeypatch.setattr(bulk, "insert_staged", broken)
    rows = [relending_row(n) for n in range(1, 6)]
    before = counts(ledger)
    with pytest.raises(RuntimeError, match="disk full"):
        import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert counts(ledger) == before


def test_chunks_written_behind_the_checks_give_the_same_ledger(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are written chunk by chunk, and PostgreSQL re-analyses the growing tables inside the transaction:
    neither may change a figure, an id order or the audit digest."""
    monkeypatch.setattr("ledger.io.importer.CHUNK", 2)
    monkeypatch.setattr("ledger.io.importer.ANALYZE_FROM", 1)
    rows = [relending_row(n % 3 + 1, ref=f"R{n}", amount=f"{100000 + n}") for n in range(9)]
    rows.append(rediscount_row(4, bill(1)))
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert result.ok and result.new == 10, result.errors
    with ledger.connect() as conn:
        amounts = [r[0] for r in conn.execute(text("SELECT amount_fen FROM drawdown ORDER BY id"))]
        if ledger.engine.dialect.name == "postgresql":  # the import left statistics for the planner
            analysed = conn.execute(
                text("SELECT COUNT(*) FROM pg_stats WHERE tablename = 'drawdown'")
            ).scalar()
            assert analysed
    assert amounts == [(100000 + n) * 100 for n in range(9)] + [50_000_000]
    assert ledger.verify_audit().ok
    again = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert again.ok and (again.new, again.skipped) == (0, 10)


def test_a_large_file_checked_in_a_child_process_gives_the_same_result(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files past PARALLEL_BYTES are read and field-checked in a child process: the same row errors (with row
    numbers across chunks), the same rejects file, the same ledger and digest as in-process."""
    monkeypatch.setattr("ledger.io.importer.CHUNK", 3)
    rows = [relending_row(n % 3 + 1, ref=f"R{n}", amount=f"{100000 + n}") for n in range(7)]
    rows[4] = relending_row(2, ref="R4", drawn_on="2023-02-30")  # a field error in the second chunk
    rows.append(relending_row(1, ref="R8", enterprise_name="北京\x00科技"))  # NUL: refused before any query
    path = write_csv(tmp_path / "in.csv", rows)
    in_process = import_drawdowns(ledger, path, dry_run=True)
    monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
    before = counts(ledger)
    child = import_drawdowns(ledger, path, rejects=tmp_path / "rejects.csv")
    assert child.errors == in_process.errors and _errors(child) == {(5, "drawn_on"), (8, "enterprise_name")}
    assert (child.rows, child.new, child.rejected) == (8, 6, 2)
    assert counts(ledger) == before  # all or nothing
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert [r["行号 (row)"] for r in csv.DictReader(handle)] == ["5", "8"]
    good = import_drawdowns(ledger, write_csv(tmp_path / "good.csv", rows[:4] + rows[5:7]))
    assert good.ok and good.new == 6 and ledger.verify_audit().ok


@pytest.mark.parametrize("where", ["in-process", "child process"])
def test_the_import_record_names_the_file_by_its_sha256(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """An auditor matches a bank's file to the import that booked it by the file's sha256 (the child process
    hashes it after its last chunk; in-process the importer does)."""
    import hashlib
    import json

    if where == "child process":
        monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
    monkeypatch.setattr("ledger.io.importer.CHUNK", 2)
    path = write_csv(tmp_path / "in.csv", [relending_row(n) for n in range(1, 6)])
    result = import_drawdowns(ledger, path)
    assert result.ok and result.new == 5
    with ledger.connect() as conn:
        payload = conn.execute(
            text("SELECT payload FROM audit_log WHERE id = :id"), {"id": result.audit_id}
        ).scalar_one()
    assert json.loads(payload)["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_checker_process_that_dies_is_an_error_and_nothing_is_written(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
    monkeypatch.setattr("ledger.io.field_checks.sys.executable", "/bin/false")  # exits at once, status 1
    path = write_csv(tmp_path / "in.csv", [relending_row(1), relending_row(2)])
    before = counts(ledger)
    with pytest.raises(RuntimeError, match="exit code 1"):
        import_drawdowns(ledger, path)
    assert counts(ledger) == before


def test_an_import_that_fails_part_way_lets_its_checker_process_end_by_itself(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker child works chunks ahead of the importer. When the import fails part-way (here on its second
    chunk) the child, blocked on a full pipe or queue, must see the pipe closed and exit on its own, at once:
    not keep a core busy, nor be killed after the importer's wait runs out."""
    import time

    from ledger.io import field_checks, importer

    monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
    monkeypatch.setattr("ledger.io.importer.CHUNK", 100)
    settled: list[int] = []
    exits: list[int | None] = []

    def failing_settle(self: object, chunk: field_checks.Chunk) -> None:
        settled.append(chunk.first_row)
        if len(settled) == 2:
            time.sleep(0.5)  # meanwhile the child fills the pipe and its queue, and blocks
            raise RuntimeError("disk full")

    def close(self: field_checks.CheckerProcess) -> None:
        started = time.monotonic()
        original_close(self)
        exits.append(self._process.returncode if time.monotonic() - started < 4 else None)

    original_close = field_checks.CheckerProcess.close
    monkeypatch.setattr(importer._ImportRun, "settle", failing_settle)
    monkeypatch.setattr(field_checks.CheckerProcess, "close", close)
    # 40 chunks of ~16 KB pickled: more than the pipe (64 KB) and the child's queue hold
    path = write_csv(tmp_path / "in.csv", [relending_row(n) for n in range(1, 4001)])
    before = counts(ledger)
    with pytest.raises(RuntimeError, match="disk full"):
        import_drawdowns(ledger, path)
    assert exits == [0]  # exited by itself, in time, without error
    assert counts(ledger) == before


@pytest.mark.parametrize("outcome", ["imported", "checker died"])
def test_an_import_leaves_the_processs_garbage_collector_as_it_found_it(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    """The TUI imports in its own long-running process: the import's collector settings (fewer young
    collections, frozen firm cache) must not outlive it, whether it ends well or not."""
    import gc

    if outcome == "checker died":
        monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
        monkeypatch.setattr("ledger.io.field_checks.sys.executable", "/bin/false")
    path = write_csv(tmp_path / "in.csv", [relending_row(1), relending_row(2)])
    before = gc.get_threshold()
    # the host's own settings, unlike any the import uses or an earlier test left
    gc.set_threshold(701, 11, 12)
    try:
        if outcome == "checker died":
            with pytest.raises(RuntimeError, match="exit code 1"):
                import_drawdowns(ledger, path)
        else:
            assert import_drawdowns(ledger, path).new == 2
        assert gc.get_threshold() == (701, 11, 12) and gc.get_freeze_count() == 0
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("where", ["in-process", "child process"])
def test_rejects_file_gives_back_each_rejected_row_in_file_order(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The rejects file is filled from row numbers and the file read again: the user's own cells must come back
    for the right row, in file order, even when a chunk rejects a later row (a field error) before an earlier
    one (a duplicate, found after the row checks) and when blank lines are skipped in the numbering."""
    monkeypatch.setattr("ledger.io.importer.CHUNK", 3)
    if where == "child process":
        monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
    rows = [
        relending_row(1, ref="R1", amount="100001"),
        relending_row(2, ref="R1", amount="100002"),  # reference twice: rejected by the ledger checks
        relending_row(3, ref="R3", amount="100003", drawn_on="2023-02-30"),  # rejected by the row checks
        relending_row(4, ref="R4", amount="100004"),
        relending_row(5, ref="R5", amount="一百万"),
    ]
    path = write_csv(tmp_path / "in.csv", rows)
    text_of = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*text_of[:3], ",,,\r\n", *text_of[3:]]), encoding="utf-8")  # a blank row
    result = import_drawdowns(ledger, path, rejects=tmp_path / "rejects.csv")
    assert not result.ok and result.rejected == 3
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        back = list(csv.DictReader(handle))
    assert [(r["行号 (row)"], r["amount"], r["ref"]) for r in back] == [
        ("2", "100002", "R1"),
        ("3", "100003", "R3"),
        ("5", "一百万", "R5"),
    ]
    assert "ref" in back[0]["错误 (errors)"] and "drawn_on" in back[1]["错误 (errors)"]


def test_a_file_that_breaks_mid_way_in_the_child_is_a_file_error(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.io.readers import FileFormatError

    monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
    path = write_csv(tmp_path / "in.csv", [relending_row(1), relending_row(2)])
    path.write_bytes(path.read_bytes() + "第三行,".encode("gb18030") + b"\n")  # the encoding changes mid-file
    before = counts(ledger)
    with pytest.raises(FileFormatError):
        import_drawdowns(ledger, path)
    assert counts(ledger) == before


def test_known_enterprise_must_agree(ledger: Ledger, tmp_path: Path) -> None:
    setup_bank(ledger)
    add_borrower(ledger, 1, industry="I6510", size="small", name="北京一号科技有限公司")
    rows = [
        relending_row(1, enterprise_name="北京一号科技有限公司"),
        relending_row(1, enterprise_name="北京一号科技有限公司", enterprise_size="中型", ref="X"),
    ]
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert _errors(result) == {(2, "enterprise_size")}


def test_missing_column_is_a_file_error(ledger: Ledger, tmp_path: Path) -> None:
    rows = [relending_row(1)]
    header = [c for c in rows[0] if c != "drawn_on"]
    before = counts(ledger)
    with pytest.raises(ValidationError) as caught:
        import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows, header=header))
    assert [p.field for p in caught.value.problems] == ["drawn_on"]
    assert counts(ledger) == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_encodings_and_chinese_headers(ledger: Ledger, tmp_path: Path, encoding: str) -> None:
    from ledger.io.columns import DRAWDOWN_COLUMNS

    rows = [relending_row(1), rediscount_row(2, bill(1))]
    zh = {name: aliases[0] for name, aliases in DRAWDOWN_COLUMNS.items()}
    chinese = [{zh[k]: v for k, v in r.items()} for r in rows]
    path = write_csv(
        tmp_path / "in.csv", chinese, encoding=encoding, header=[zh[c] for c in DRAWDOWN_COLUMNS]
    )
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")  # the file really is not UTF-8
    result = import_drawdowns(ledger, path)
    assert result.ok and result.new == 2, result.errors
    with ledger.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM enterprise"))}
    assert names == {"北京测试企业1有限公司", "北京测试企业2有限公司"}  # no mojibake


def test_xlsx_with_numbers_and_dates_as_excel_stores_them(ledger: Ledger, tmp_path: Path) -> None:
    from decimal import Decimal

    rows = [
        {
            **relending_row(1),
            "amount": Decimal("1234567.89"),
            "lend_rate": Decimal("3.5"),
            "drawn_on": date(2023, 3, 1),
            "maturity_on": date(2024, 3, 1),
        },
        {**rediscount_row(2, bill(1)), "amount": 500000},
    ]
    result = import_drawdowns(ledger, write_xlsx(tmp_path / "in.xlsx", rows))
    assert result.ok and result.new == 2, result.errors
    with ledger.connect() as conn:
        amounts = sorted(r[0] for r in conn.execute(text("SELECT amount_fen FROM drawdown")))
    assert amounts == [50_000_000, 123_456_789]


def test_xlsx_bad_row_reports_row_number(ledger: Ledger, tmp_path: Path) -> None:
    rows = [relending_row(1), relending_row(2, amount="abc")]
    result = import_drawdowns(ledger, write_xlsx(tmp_path / "in.xlsx", rows))
    assert _errors(result) == {(2, "amount")}


def test_dry_run_checks_everything_and_writes_nothing(ledger: Ledger, tmp_path: Path) -> None:
    before = counts(ledger)
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", [relending_row(1)]), dry_run=True)
    assert result.ok and result.new == 1 and result.audit_id is None
    assert counts(ledger) == before


def test_closed_month_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    ledger.close_month("2023-03")
    before = counts(ledger)
    result = import_drawdowns(
        ledger,
        write_csv(
            tmp_path / "in.csv",
            [relending_row(1, drawn_on="2023-04-01", maturity_on="2024-04-01"), relending_row(2)],
        ),
    )
    assert _errors(result) == {(2, "drawn_on")}
    assert counts(ledger) == before


def test_declared_status_makes_the_row_key_area_and_is_recorded(ledger: Ledger, tmp_path: Path) -> None:
    rows = [
        relending_row(
            1, tool="科技创新再贷款", amount="", principal="1000000", enterprise_statuses="高新技术企业"
        ),
        relending_row(
            2,
            tool="科技创新再贷款",
            amount="",
            principal="1000000",
            enterprise_statuses="专精特新中小企业(2022-01-01~2024-12-31)",
        ),
    ]
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert result.ok and result.new_statuses == 2, result.errors
    with ledger.connect() as conn:
        got = sorted(
            tuple(str(v) for v in r)
            for r in conn.execute(text("SELECT status, valid_from, valid_to FROM enterprise_status"))
        )
        flags = {bool(r[0]) for r in conn.execute(text("SELECT key_area FROM drawdown"))}
        amounts = {r[0] for r in conn.execute(text("SELECT amount_fen FROM drawdown"))}
    # a bare name runs from drawn_on for the status's usual term (高新技术企业: 3 years)
    assert got == [
        ("专精特新中小企业", "2022-01-01", "2024-12-31"),
        ("高新技术企业", "2023-03-01", "2026-02-28"),
    ]
    assert flags == {True}
    assert amounts == {60_000_000}  # 60 % of the principal
    assert ledger.verify_audit().ok


def test_a_borrowers_repeated_status_text_is_checked_against_each_rows_date(
    ledger: Ledger, tmp_path: Path
) -> None:
    """A borrower's rows repeat its statuses text; each row's entries must hold on that row's drawn_on, the
    second time the text is seen as much as the first (the importer checks a known text without re-parsing it)."""
    status = "专精特新中小企业(2022-01-01~2023-06-30)"
    rows = [
        relending_row(1, enterprise_statuses=status, ref="R1"),
        relending_row(
            1, enterprise_statuses=status, ref="R2", drawn_on="2023-05-02", maturity_on="2024-05-02"
        ),
        relending_row(
            1, enterprise_statuses=status, ref="R3", drawn_on="2023-07-03", maturity_on="2024-07-03"
        ),
        relending_row(1, enterprise_statuses=status + ";高新技术企业(2024-01-01~)", ref="R4"),
    ]
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert _errors(result) == {(3, "enterprise_statuses"), (4, "enterprise_statuses")}
    by_row = {e.row: e for e in result.errors}
    assert by_row[3].value == "专精特新中小企业(2022-01-01~2023-06-30)" and "2023-07-03" in by_row[3].rule
    assert by_row[4].value == "高新技术企业(2024-01-01~)"


def test_unknown_institution_without_name_is_a_row_error(ledger: Ledger, tmp_path: Path) -> None:
    result = import_drawdowns(
        ledger,
        write_csv(tmp_path / "in.csv", [relending_row(1, institution_code="NEW9", institution_name="")]),
    )
    assert _errors(result) == {(1, "institution_code")}


def test_cli_exit_codes_stderr_and_rejects(
    ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_csv(tmp_path / "good.csv", [relending_row(1)])
    bad = write_csv(tmp_path / "bad.csv", [relending_row(2), relending_row(3, drawn_on="2023-13-01")])
    rejects = tmp_path / "rejects.csv"
    assert main(["--db", ledger.url, "import", "drawdowns", str(bad), "--rejects", str(rejects)]) == 1
    captured = capsys.readouterr()
    assert "第2行 drawn_on='2023-13-01'" in captured.err
    assert rejects.exists()
    assert main(["--db", ledger.url, "import", "drawdowns", str(good)]) == 0
    assert "新增 1" in capsys.readouterr().out
    assert main(["--db", ledger.url, "import", "drawdowns", str(good)]) == 0
    assert "已存在跳过 1" in capsys.readouterr().out
    assert BANK in {r for r in ledger.sql("SELECT code FROM institution").rows[0]}


def test_extra_columns_are_ignored_with_a_warning(
    ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "in.csv", [{**relending_row(1), "备注": "随便"}])
    assert main(["--db", ledger.url, "import", "drawdowns", str(path)]) == 0
    assert "备注" in capsys.readouterr().err


def test_enterprise_directory_import(ledger: Ledger, tmp_path: Path) -> None:
    from ledger.io.enterprises import import_enterprises

    rows = [
        {
            "统一社会信用代码": uscc(1),
            "企业名称": "北京一号科技有限公司",
            "行业代码": "C3911",
            "企业规模": "小型",
            "资质": "高新技术企业",
            "有效期起": "2022-05-01",
            "有效期止": "",
        },
        {
            "统一社会信用代码": uscc(1),
            "企业名称": "北京一号科技有限公司",
            "行业代码": "C3911",
            "企业规模": "小型",
            "资质": "专精特新中小企业",
            "有效期起": "2023/1/1",
            "有效期止": "2025年12月31日",
        },
        {
            "统一社会信用代码": uscc(2),
            "企业名称": "北京二号商贸有限公司",
            "行业代码": "F5176",
            "企业规模": "微型",
            "资质": "",
            "有效期起": "",
            "有效期止": "",
        },
    ]
    path = write_csv(tmp_path / "dir.csv", rows, encoding="gb18030")
    before = counts(ledger)
    result = import_enterprises(ledger, path)
    assert result.ok and (result.new_enterprises, result.new_statuses) == (2, 2), result.errors
    after = counts(ledger)
    assert after["enterprise"] == before["enterprise"] + 2
    assert after["audit_log"] == before["audit_log"] + 3  # one import record + one create per enterprise
    assert ledger.verify_audit().ok
    again = import_enterprises(ledger, path)
    assert again.ok and again.skipped == 2 and counts(ledger) == after
    bad = write_csv(
        tmp_path / "bad.csv", [{**rows[0], "企业规模": "中型"}, {**rows[2], "统一社会信用代码": "123"}]
    )
    failed = import_enterprises(ledger, bad)
    assert _errors(failed) == {(1, "enterprise_size"), (2, "enterprise_uscc")}
    assert counts(ledger) == after


def test_rows_without_bill_or_ref_are_recognised_by_content(ledger: Ledger, tmp_path: Path) -> None:
    """A relending row with no reference has no key: the same tool, bank, borrower, dates and amounts is the same
    drawdown on re-import, and twice in one file is an error (two real loans need a ref each)."""
    rows = [relending_row(1, ref=""), relending_row(2, ref="")]
    path = write_csv(tmp_path / "in.csv", rows)
    assert import_drawdowns(ledger, path).new == 2
    before = counts(ledger)
    again = import_drawdowns(ledger, path)
    assert (again.new, again.skipped) == (0, 2) and counts(ledger) == before
    twice = import_drawdowns(
        ledger, write_csv(tmp_path / "twice.csv", [relending_row(3, ref=""), relending_row(3, ref="")])
    )
    assert _errors(twice) == {(2, "ref")}
    assert counts(ledger) == before


def test_enterprise_cache_dropped_between_chunks_changes_nothing(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory is bounded by dropping the enterprise cache between chunks; the firms (and statuses) created by
    earlier chunks are then read back from the open transaction and must be judged exactly as before."""
    monkeypatch.setattr("ledger.io.importer.CHUNK", 2)
    monkeypatch.setattr("ledger.io.importer.FIRM_CACHE", 1)
    rows = [
        relending_row(
            1, tool="科技创新再贷款", amount="", principal="1000000", enterprise_statuses="高新技术企业"
        ),
        relending_row(2),
        # firm 1 again, in a later chunk: known now (created above), its status still holds
        relending_row(
            1,
            tool="科技创新再贷款",
            amount="",
            principal="500000",
            ref="R-again",
            enterprise_statuses="高新技术企业",
        ),
        relending_row(2, enterprise_name="别的名字", ref="R-bad"),
    ]
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows))
    assert _errors(result) == {(4, "enterprise_name")}
    good = import_drawdowns(ledger, write_csv(tmp_path / "good.csv", rows[:3]))
    assert good.ok and (good.new, good.new_enterprises, good.new_statuses) == (3, 2, 1), good.errors
    with ledger.connect() as conn:
        flags = [bool(r[0]) for r in conn.execute(text("SELECT key_area FROM drawdown ORDER BY id"))]
    assert flags == [True, False, True]
    assert ledger.verify_audit().ok


def test_cli_json_summary_and_enterprise_import(
    ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    path = write_csv(tmp_path / "in.csv", [relending_row(1), rediscount_row(2, bill(1))])
    assert main(["--db", ledger.url, "import", "drawdowns", str(path), "--dry-run", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["new"], summary["dry_run"], summary["audit_id"]) == (2, True, None)
    directory = write_csv(
        tmp_path / "dir.csv",
        [
            {
                "enterprise_uscc": uscc(9),
                "enterprise_name": "北京九号有限公司",
                "industry_code": "C3911",
                "enterprise_size": "micro",
            }
        ],
    )
    assert main(["--db", ledger.url, "import", "enterprises", str(directory)]) == 0
    assert "新增企业 1" in capsys.readouterr().out
    broken = write_csv(
        tmp_path / "broken.csv",
        [
            {
                "enterprise_uscc": uscc(10),
                "enterprise_name": "",
                "industry_code": "C3911",
                "enterprise_size": "micro",
            }
        ],
    )
    assert main(["--db", ledger.url, "import", "enterprises", str(broken)]) == 1
    assert "第1行 enterprise_name" in capsys.readouterr().err


def test_progress_only_past_a_few_thousand_rows(capsys: pytest.CaptureFixture[str]) -> None:
    from ledger.cli.io_cmds import _ProgressBar

    bar = _ProgressBar()
    bar(100)
    bar.done()
    assert capsys.readouterr().err == ""
    bar(50_000)
    bar.done()
    assert "已处理 50,000 行" in capsys.readouterr().err


def test_import_needs_the_operator_role_and_a_refusal_is_audited(ledger: Ledger, tmp_path: Path) -> None:
    from ledger.domain.errors import PermissionDenied
    from tests.conftest import staff

    people = staff(ledger, olga="operator", chen="checker")
    path = write_csv(tmp_path / "in.csv", [relending_row(1)])
    before = counts(ledger)
    with pytest.raises(PermissionDenied):
        import_drawdowns(people["chen"], path)
    after = counts(ledger)
    assert after["drawdown"] == before["drawdown"] and after["audit_log"] == before["audit_log"] + 1
    assert ledger.sql("SELECT actor FROM audit_log WHERE action = 'refused'").rows == [
        (people["chen"].actor,)
    ]
    assert import_drawdowns(people["olga"], path).new == 1
    for person in people.values():
        person.dispose()
