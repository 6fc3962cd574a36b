"""A large file into a smaller ledger: on SQLite the drawdown indexes the import's lookups do not probe are built
once at the end (ledger.services.bulk_indexes), and into a small one (under KEYS_IN_MEMORY drawdowns) the lookup
indexes too, duplicates being found in memory until that many keys are held. The ledger must come out with exactly
the indexes it had, whether the import commits, rejects a row or is a dry run, and each lookup that asks the ledger
must probe its own index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from ledger.facade import Ledger
from ledger.io.importer import LOOKUP_INDEXES, import_drawdowns
from ledger.services.bulk_indexes import deferred_indexes
from tests.factories import bill
from tests.test_import_helpers import (
    counts,
    find_duplicates,
    rediscount_row,
    relending_row,
    table_indexes,
    write_csv,
)

# Each per-chunk lookup of drawdown and the index it must probe, however large the ledger: its statement is
# recognised by a piece of its text. (A lookup left without its index is planned on another or as a pass over the
# table; "bill_no IS NULL" on the bill index, say, reads every relending row.)
_LOOKUPS = {
    "d.bill_no IN": "ix_drawdown_bill",  # _live_bills
    "JOIN drawdown d ON d.institution_id": "ix_drawdown_ref",  # _live_refs
    "drawdown.enterprise_id IN": "ix_drawdown_enterprise",  # _live_same
}
_STEP = re.compile(r"^(SCAN|SEARCH) (d|drawdown)\b(?: USING (?:COVERING )?INDEX (\w+))?")


class _Statements:
    """Every statement the ledger's engine sends; on SQLite each query of drawdown is also planned (EXPLAIN QUERY
    PLAN on the same connection, same parameters), and how it reaches drawdown kept."""

    def __init__(self, ledger: Ledger) -> None:
        self.sent: list[str] = []
        self.plans: list[tuple[str, str, str | None]] = []  # (statement, SCAN or SEARCH, index)
        self._sqlite = ledger.engine.dialect.name == "sqlite"

    def __call__(
        self, _conn: Any, cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
    ) -> None:
        self.sent.append(statement)
        head = statement.lstrip().upper()
        if not self._sqlite or many or not head.startswith(("SELECT", "WITH")) or "drawdown" not in statement:
            return
        for row in cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters or ()):
            if step := _STEP.match(row[-1]):
                self.plans.append((statement, step.group(1), step.group(3)))

    def dropped(self) -> list[str]:
        return sorted(m.group(1) for s in self.sent if (m := re.match(r'DROP INDEX "(\w+)"', s)))

    def lookups(self) -> dict[str, set[tuple[str, str | None]]]:
        """How each lookup reached drawdown, over all its runs."""
        found: dict[str, set[tuple[str, str | None]]] = {}
        for statement, how, index in self.plans:
            for piece in _LOOKUPS:
                if piece in statement:
                    found.setdefault(piece, set()).add((how, index))
        return found


@pytest.fixture
def statements(ledger: Ledger) -> Iterator[_Statements]:
    seen = _Statements(ledger)
    event.listen(ledger.engine, "before_cursor_execute", seen)
    yield seen
    event.remove(ledger.engine, "before_cursor_execute", seen)


def _rows() -> list[dict[str, str]]:
    """Bills, references and rows with neither (one borrower's, in the first and third chunks of two rows), so
    every lookup runs; the third chunk's lookups find the first chunk's rows in the open transaction."""
    return [
        relending_row(1, ref=""),
        rediscount_row(2, bill(1)),
        relending_row(3, ref="R3"),
        rediscount_row(4, bill(2)),
        relending_row(1, ref="", amount="200000.00"),
        relending_row(5, ref="R5"),
    ]


def _bulk(monkeypatch: pytest.MonkeyPatch, how: str = "in memory") -> None:
    """Any file counts as large and as many rows as its bytes: the importer defers the other indexes, and finds
    duplicates `how` (tests.test_import_helpers.DUPLICATE_LOOKUPS; "per chunk": as into a large ledger)."""
    find_duplicates(monkeypatch, "in memory" if how == "per chunk" else how)
    if how == "per chunk":
        monkeypatch.setattr("ledger.io.importer.KEYS_IN_MEMORY", 0)
    monkeypatch.setattr("ledger.io.importer.CHUNK", 2)


@pytest.mark.parametrize("how", ["per chunk", "in memory", "in memory, then per chunk"])
def test_a_bulk_import_ends_with_the_ledgers_indexes_and_each_lookup_probes_its_own(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: _Statements, how: str
) -> None:
    """Per chunk: the lookup indexes stay while the rows go in. In memory: every index is dropped and nothing asks
    the ledger for duplicates. In memory, then per chunk: past KEYS_IN_MEMORY (2 here) the lookup indexes are built
    and the later chunks' lookups probe them."""
    _bulk(monkeypatch, how)
    before = table_indexes(ledger)
    path = write_csv(tmp_path / "in.csv", _rows())
    result = import_drawdowns(ledger, path)
    assert result.ok and result.new == 6, result.errors
    assert table_indexes(ledger) == before
    if ledger.engine.dialect.name == "sqlite":
        # In memory, then per chunk: the chunks are of 1, 2, 2 and 1 rows (the checker process sends a small one
        # first), so rows 4-6 (a bill, a keyless row, a reference) are looked up in the ledger.
        probed = {piece: {("SEARCH", index)} for piece, index in _LOOKUPS.items()}
        assert statements.lookups() == ({} if how == "in memory" else probed)
        kept = LOOKUP_INDEXES if how == "per chunk" else ()
        assert statements.dropped() == sorted({name for name, _ in before} - set(kept))
        assert len(statements.dropped()) == 7 - len(kept)
    else:  # DROP INDEX would lock every reader of the shared ledger out until the commit
        assert statements.dropped() == []
    assert ledger.verify_audit().ok
    # The rebuilt indexes answer: the same file again is found row by row and adds nothing.
    again = import_drawdowns(ledger, path)
    assert again.ok and (again.new, again.skipped) == (0, 6)
    with ledger.connect() as conn:
        if ledger.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        share = conn.execute(
            text("SELECT COUNT(*) FROM drawdown INDEXED BY ix_drawdown_share WHERE drawn_on >= '2023-01-01'")
            if ledger.engine.dialect.name == "sqlite"
            else text("SELECT COUNT(*) FROM drawdown WHERE drawn_on >= '2023-01-01'")
        ).scalar_one()
    assert share == 6


@pytest.mark.parametrize("outcome", ["rejected row", "dry run"])
def test_a_bulk_import_that_writes_nothing_leaves_the_indexes_as_they_were(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    _bulk(monkeypatch)
    before, rows_before = table_indexes(ledger), counts(ledger)
    rows = _rows()
    if outcome == "rejected row":
        rows.append(relending_row(6, drawn_on="2023-02-30"))
    result = import_drawdowns(ledger, write_csv(tmp_path / "in.csv", rows), dry_run=outcome == "dry run")
    assert result.ok == (outcome == "dry run")
    assert table_indexes(ledger) == before
    assert counts(ledger) == rows_before


def test_a_file_small_next_to_the_ledger_keeps_the_indexes_in_place(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: _Statements
) -> None:
    """Building an index reads the whole table: for a file with fewer rows than the ledger holds, keeping the
    indexes up to date row by row is cheaper, so nothing is dropped."""
    _bulk(monkeypatch)
    assert import_drawdowns(ledger, write_csv(tmp_path / "first.csv", _rows())).new == 6
    statements.sent.clear()
    path = write_csv(tmp_path / "second.csv", [relending_row(7), relending_row(8)])
    monkeypatch.setattr("ledger.io.importer.BYTES_PER_ROW", path.stat().st_size // 5)  # ~5 rows < 6 held
    assert import_drawdowns(ledger, path).new == 2
    assert statements.dropped() == []


def test_a_unique_index_stays_while_the_rows_go_in(ledger: Ledger, statements: _Statements) -> None:
    """A unique index enforces a rule row by row (a duplicate must fail where it is inserted), so it is never
    deferred; the plain one beside it is dropped and comes back as it was."""
    with ledger.connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE scratch (a INTEGER, b INTEGER)"))
        conn.execute(text("CREATE UNIQUE INDEX ux_scratch_a ON scratch (a)"))
        conn.execute(text("CREATE INDEX ix_scratch_b ON scratch (b)"))
    try:
        before = table_indexes(ledger, "scratch")
        with ledger.connect() as conn, conn.begin(), deferred_indexes(conn, "scratch", keep=()):
            conn.execute(text("INSERT INTO scratch VALUES (1, 1), (2, 1)"))
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(text("INSERT INTO scratch VALUES (1, 2)"))
        assert table_indexes(ledger, "scratch") == before
        assert {name for name, _ in before} == {"ux_scratch_a", "ix_scratch_b"}
        assert statements.dropped() == (["ix_scratch_b"] if ledger.engine.dialect.name == "sqlite" else [])
    finally:
        with ledger.connect() as conn, conn.begin():
            conn.execute(text("DROP TABLE scratch"))
