"""Reading CSV and XLSX files as rows of text, streamed, whatever Excel or a bank's system wrote.

CSV encodings: UTF-8, UTF-8 with BOM, and GB18030 (Excel on Chinese Windows; a superset of GBK and GB2312). The
encoding is decided from the first megabyte; a file that changes encoding later fails with a clear message rather
than importing mojibake. XLSX is read with openpyxl in read-only mode so memory stays flat at a million rows.

Every cell comes out as text. Spreadsheet numbers arrive from openpyxl as int or float; a float is turned into the
shortest decimal text that round-trips (repr), which is exactly what the cell holds in the file's XML, and is never
used in arithmetic: money parsing downstream is Decimal only.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.domain.errors import LedgerError

SNIFF_BYTES = 1 << 20


class FileFormatError(LedgerError):
    """The file cannot be read as a table (unknown format, undecodable text, empty)."""


def detect_encoding(head: bytes) -> str:
    """'utf-8-sig' for a BOM, 'utf-8' when the head decodes as UTF-8, else 'gb18030'."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a multi-byte character cut at the end of the sample is fine
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a user would type (dates ISO, numbers exact, empty as '')."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:  # 1e+29: a long number stored as a number, digits already lost
            return format(Decimal(text), "f") if abs(value) < 1e15 else text
        return text[:-2] if text.endswith(".0") else text
    return str(value).strip()


@dataclass
class Table:
    """A header and an iterator of data rows (lists of text, padded to the header's width)."""

    path: Path
    kind: str  # 'csv' or 'xlsx'
    encoding: str
    header: list[str]
    rows: Iterator[list[str]]


def open_table(path: str | Path) -> Table:
    """Opens a CSV or XLSX file; the caller iterates `rows` once (streamed)."""
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"文件不存在 (no such file): {path}")
    with path.open("rb") as probe:
        head = probe.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm"):
        return _open_xlsx(path)
    if path.suffix.lower() == ".xls":
        raise FileFormatError("不支持旧版 .xls,请另存为 .xlsx 或 CSV (legacy .xls is not supported)")
    return _open_csv(path, detect_encoding(head))


def _open_csv(path: Path, encoding: str) -> Table:
    handle = path.open("r", encoding=encoding, newline="", errors="strict")
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise FileFormatError(f"文件为空 (empty file): {path}") from None
    except UnicodeDecodeError as exc:
        handle.close()
        raise FileFormatError(f"无法识别文件编码 (not UTF-8 or GB18030): {exc}") from None
    header = [h.strip() for h in header]
    width = len(header)

    def rows() -> Iterator[list[str]]:
        try:
            for row in reader:
                cells = list(map(str.strip, row))  # one C-level pass: a bulk import reads millions of cells
                if not any(cells):
                    continue
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                yield cells
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                f"文件第{reader.line_num}行起编码与开头不一致 (encoding changes mid-file, detected {encoding}): {exc}"
            ) from None
        finally:
            handle.close()

    return Table(path, "csv", encoding, header, rows())


def _open_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise FileFormatError(f"无法读取 XLSX 文件 (not a readable workbook): {exc}") from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        first = next(values)
    except StopIteration:
        book.close()
        raise FileFormatError(f"工作表为空 (empty sheet): {path}") from None
    header = [cell_text(v) for v in first]
    while header and not header[-1]:
        header.pop()
    width = len(header)

    def rows() -> Iterator[list[str]]:
        try:
            for raw in values:
                row = [cell_text(v) for v in raw[:width]]
                if not any(row):
                    continue
                if len(row) < width:
                    row += [""] * (width - len(row))
                yield row
        finally:
            book.close()

    return Table(path, "xlsx", "xlsx", header, rows())


def file_sha256(path: str | Path) -> str:
    """The file's sha256, recorded in an import's audit record so the file can be matched to it later."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_csv_text(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """Small helper for tests and docs: rows to CSV bytes in the given encoding."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)
