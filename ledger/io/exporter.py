"""`ledger export drawdowns`: the documented v_drawdown view as CSV or XLSX, in the columns the import reads.

An export re-imports into an empty ledger as the same drawdowns (same tools, banks, borrowers, amounts, rates,
bills, references, key-area decisions). Choices, documented in docs/import.md:
- only live drawdowns: a reversed one is not a drawdown any more, and re-importing it would book it;
- maturity as booked (`original_maturity_on`): rollovers and repayments are events, not part of the drawdown row;
- money and rates from the integer `_fen`/`_ppm` columns, never from the view's display columns (a float on SQLite);
- statuses: the ones valid on the drawdown date, each with its validity `名称(起~止)`, which the import takes
  exactly, so every key-area decision re-imports the same.

Rows are streamed from the database in pages and written as they come, so memory stays flat at a million rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ledger.domain.dates import month_bounds
from ledger.domain.enterprise import SIZES
from ledger.domain.errors import LedgerError, ValidationError
from ledger.domain.money import fen_to_yuan, ppm_to_rate
from ledger.facade import Ledger
from ledger.io.columns import DRAWDOWN_COLUMNS, export_header
from ledger.io.importer import format_status
from ledger.io.readers import FORMULA_STARTS, safe_cell
from ledger.services.reference import statuses_of
from ledger.services.safe_output import output_path

FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
PAGE = 5000

_QUERY = """
SELECT v.tool_name, v.institution_code, v.institution_name, v.uscc, v.enterprise_name, v.industry_code,
       v.enterprise_size, d.enterprise_id, v.drawn_on, v.original_maturity_on, d.amount_fen, d.principal_fen,
       d.cb_rate_ppm, d.lend_rate_ppm, d.bill_no, d.bill_range, d.ext_ref, d.batch_ref
FROM v_drawdown v
JOIN drawdown d ON d.id = v.drawdown_id
WHERE v.status <> 'reversed' {filters}
ORDER BY v.drawn_on, v.drawdown_id
"""


@dataclass(frozen=True)
class ExportResult:
    path: str
    format: str
    rows: int


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def export_rows(
    ledger: Ledger, *, year: int | None = None, month: int | None = None, tool: str | None = None
) -> Iterator[list[Any]]:
    """Export rows as typed values (str, date, Decimal, None) in DRAWDOWN_COLUMNS order, streamed."""
    filters, params = _filters(ledger, year, month, tool)
    with ledger.read() as conn:  # a snapshot: on SQLite a long export never holds the write lock
        result = conn.execution_options(stream_results=True, yield_per=PAGE).execute(
            text(_QUERY.format(filters=filters)), params
        )
        while page := result.fetchmany(PAGE):
            held = statuses_of(conn, {r[7] for r in page})
            for r in page:
                drawn_on = _as_date(r[8])
                statuses = ";".join(
                    format_status(s)
                    for s in sorted(
                        (s for s in held[r[7]] if s.valid_on(drawn_on)),
                        key=lambda s: (s.status, s.valid_from),
                    )
                )
                yield [
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    SIZES.get(r[6], r[6]),
                    statuses,
                    drawn_on,
                    _as_date(r[9]),
                    fen_to_yuan(r[10]),
                    fen_to_yuan(r[11]),
                    ppm_to_rate(r[12]),
                    ppm_to_rate(r[13]) if r[13] is not None else None,
                    r[14] or "",
                    r[15] or "",
                    r[16] or "",
                    r[17] or "",
                ]


def _filters(
    ledger: Ledger, year: int | None, month: int | None, tool: str | None
) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if month is not None and year is None:
        raise ValidationError.single("month", month, "指定月份时须同时指定年份 (--month needs --year)")
    if year is not None:
        if month is not None:
            if not 1 <= month <= 12:
                raise ValidationError.single("month", month, "月份应为1–12 (month 1–12)")
            first, last = month_bounds(year, month)
        else:
            first, last = date(year, 1, 1), date(year, 12, 31)
        clauses.append("v.drawn_on BETWEEN :first AND :last")
        params.update(first=first, last=last)
    if tool:
        clauses.append("v.tool_code = :tool")
        params["tool"] = ledger.tool(tool).code
    return "".join(f" AND {c}" for c in clauses), params


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str(safe_cell(value))
    return str(value)


def export_drawdowns(
    ledger: Ledger,
    out: str | Path,
    *,
    format: str = "csv",
    year: int | None = None,
    month: int | None = None,
    tool: str | None = None,
    language: str = "en",
    force: bool = False,
) -> ExportResult:
    """Writes the export file; CSV is UTF-8 with BOM (Excel on Chinese Windows opens it correctly). The file goes
    through ledger.services.safe_output: never onto the ledger, an existing file only with `force`, whole or not
    at all. Text a spreadsheet would run as a formula is written as text (`safe_cell`)."""
    if format not in FORMATS:
        raise ValidationError.single("format", format, "格式应为 csv 或 xlsx")
    header = export_header(language)
    _filters(ledger, year, month, tool)  # a bad filter is reported before the file is looked at
    rows = export_rows(ledger, year=year, month=month, tool=tool)
    with output_path(out, force=force, protect=ledger.own_files) as part:
        count = _write_csv(part, header, rows) if format == "csv" else _write_xlsx(part, header, rows)
    return ExportResult(str(Path(out)), format, count)


def _write_csv(path: Path, header: list[str], rows: Iterator[list[Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([_text(h) for h in header])
        for row in rows:
            writer.writerow([_text(v) for v in row])
            count += 1
    return count


def _write_xlsx(path: Path, header: list[str], rows: Iterator[list[Any]]) -> int:
    """Write-only workbook (streamed). Money and rates are written as Decimal, which openpyxl stores as the exact
    decimal text; codes (USCC, 30-digit bill numbers) as text so Excel never rounds them to 15 digits."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账明细")
    sheet.append(header)
    date_columns = {i for i, name in enumerate(DRAWDOWN_COLUMNS) if name in ("drawn_on", "maturity_on")}
    count = 0
    for row in rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise LedgerError(
                f"超过 Excel 单表行数上限 {XLSX_MAX_ROWS:,} (use --format csv or narrow with --year/--month)"
            )
        cells: list[Any] = []
        for i, value in enumerate(row):
            if i in date_columns:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            elif isinstance(value, Decimal) or value is None:
                cells.append(value)
            else:
                cells.append(_text_cell(sheet, str(value)))
        sheet.append(cells)
    book.save(path)
    return count


def _text_cell(sheet: Any, value: str) -> Any:
    """Text stays text: openpyxl would store a string starting with `=` as a live formula (data_type `f`)."""
    from openpyxl.cell import WriteOnlyCell

    if not value.startswith(FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
