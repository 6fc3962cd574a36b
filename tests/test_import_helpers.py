"""Import/export test helpers: rows a bank would send, written as CSV or XLSX by the tests themselves."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ledger.facade import Ledger
from ledger.io.columns import DRAWDOWN_COLUMNS
from tests.factories import BANK, uscc

# How an import finds the duplicates a file repeats or the ledger already holds (ledger.io.importer._ImportRun.settle):
# a small file asks the ledger chunk by chunk; a large file into a small SQLite ledger keeps every key in memory
# (PostgreSQL asks per chunk either way); past KEYS_IN_MEMORY keys it builds the lookup indexes and asks per chunk.
DUPLICATE_LOOKUPS = ("per chunk", "in memory", "in memory, then per chunk")


def find_duplicates(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """Makes the next imports find duplicates `how` (one of DUPLICATE_LOOKUPS), whatever the file's size."""
    if how != "per chunk":  # any file counts as large and as many rows as its bytes
        monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
        monkeypatch.setattr("ledger.io.importer.BYTES_PER_ROW", 1)
    if how == "in memory, then per chunk":
        monkeypatch.setattr("ledger.io.importer.KEYS_IN_MEMORY", 2)


def relending_row(n: int, **overrides: str) -> dict[str, str]:
    """京民融 for a new small software firm: 1,000,000.00 yuan for a year at 3.50 %."""
    row = {
        "tool": "京民融",
        "institution_code": BANK,
        "institution_name": "北京银行",
        "enterprise_uscc": uscc(n),
        "enterprise_name": f"北京测试企业{n}有限公司",
        "industry_code": "I6510",
        "enterprise_size": "小型",
        "drawn_on": "2023-03-01",
        "maturity_on": "2024-03-01",
        "amount": "1,000,000.00",
        "lend_rate": "3.50",
        "ref": f"R{n:05d}",
    }
    row.update(overrides)
    return row


def rediscount_row(n: int, bill_no: str, **overrides: str) -> dict[str, str]:
    """再贴现 of a whole bill (issued 2023-01-10) for a new small firm: 500,000.00 yuan to 2023-07-01."""
    row = relending_row(
        n, tool="再贴现", maturity_on="2023-07-01", amount="500000.00", lend_rate="2.10", ref=""
    )
    row["bill_no"] = bill_no
    row.update(overrides)
    return row


def header_for(rows: list[dict[str, str]]) -> list[str]:
    present = {k for r in rows for k in r}
    return [c for c in DRAWDOWN_COLUMNS if c in present] + sorted(present - set(DRAWDOWN_COLUMNS))


def write_csv(
    path: Path, rows: list[dict[str, str]], encoding: str = "utf-8", header: list[str] | None = None
) -> Path:
    columns = header or header_for(rows)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def write_xlsx(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    from openpyxl import Workbook

    columns = header or header_for(rows)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c) for c in columns])
    book.save(path)
    return path


def counts(ledger: Ledger) -> dict[str, int]:
    """Rows per table: what 'the ledger is untouched' means."""
    out = {}
    with ledger.connect() as conn:
        for table in ("drawdown", "enterprise", "enterprise_status", "institution", "audit_log"):
            out[table] = int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    return out


def drawdown_facts(ledger: Ledger, live_only: bool = True) -> list[tuple[Any, ...]]:
    """Every drawdown as the user sees it (codes, not surrogate ids), sorted: two ledgers holding the same
    drawdowns give equal lists whatever ids they were given."""
    where = (
        "WHERE NOT EXISTS (SELECT 1 FROM drawdown_event x WHERE x.drawdown_id = d.id AND x.kind = 'reversal')"
        if live_only
        else ""
    )
    with ledger.connect() as conn:
        rows = conn.execute(
            text(f"""
            SELECT d.tool_code, i.code, e.uscc, e.name, e.industry_code, e.size, CAST(d.drawn_on AS TEXT),
                   CAST(d.maturity_on AS TEXT), d.amount_fen, d.principal_fen, d.interest_fen, d.cb_rate_ppm,
                   d.table_rate_ppm, d.lend_rate_ppm, d.bill_no, d.bill_range, d.batch_ref, d.ext_ref,
                   CASE WHEN d.key_area THEN 1 ELSE 0 END, d.key_area_reason
            FROM drawdown d JOIN institution i ON i.id = d.institution_id JOIN enterprise e ON e.id = d.enterprise_id
            {where}""")
        ).all()
    return sorted((tuple(r) for r in rows), key=repr)


def table_indexes(ledger: Ledger, table: str = "drawdown") -> set[tuple[str, str]]:
    """A table's indexes as the database states them, name and definition: what a bulk import, which builds some
    of the drawdown table's anew on SQLite, must leave as it found them."""
    with ledger.connect() as conn:
        if ledger.engine.dialect.name == "postgresql":
            sql = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"
        else:
            sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
        return {(r[0], r[1] or "") for r in conn.execute(text(sql), {"t": table})}
