"""Reading CSV and XLSX files as rows of text, streamed, whatever Excel or a bank's system wrote.

CSV encodings: UTF-8, UTF-8 with BOM, and GB18030 (Excel on Chinese Windows; a superset of GBK and GB2312). The
encoding is decided from the first megabyte; a file that changes encoding later fails with a clear message rather
than importing mojibake. XLSX is read with openpyxl in read-only mode so memory stays flat at a million rows.

Limits, checked before anything is read: the file must be a regular file (not a directory, device or FIFO: `import
drawdowns /dev/zero` is refused at once) of at most `MAX_IMPORT_BYTES` (1 GiB; a million-row CSV is about 250 MB);
a CSV cell holds at most `MAX_CELL_CHARS` (131,072) characters — a longer one is an error naming its line. CSV
cells written by `ledger export` with a leading `'` before a formula character (see `safe_cell`) are read back
without it.

Every cell comes out as text. Spreadsheet numbers arrive from openpyxl as int or float; a float is turned into the
shortest decimal text that round-trips (repr), which is exactly what the cell holds in the file's XML, and is never
used in arithmetic: money parsing downstream is Decimal only.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.domain.errors import LedgerError

SNIFF_BYTES = 1 << 20
MAX_IMPORT_BYTES = 1 << 30
MAX_CELL_CHARS = 131_072  # the csv module's field limit; Excel's own cell limit is 32,767
# OWASP's CSV-injection rule: a text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class FileFormatError(LedgerError):
    """The file cannot be read as a table (unknown format, undecodable text, empty)."""


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading `'` (CSV); numbers, dates and other text are
    unchanged (amounts stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unquote_cell(value: str) -> str:
    """The reverse of `safe_cell` for a CSV cell read back: `'=x` is `=x`; any other text is unchanged."""
    if value[:1] == "'" and value[1:2] and value[1:2] in FORMULA_STARTS:
        return value[1:]
    return value


def check_input_file(path: Path, limit: int = MAX_IMPORT_BYTES) -> int:
    """The file's size, or FileFormatError when it is missing, not a regular file, or larger than `limit`."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileFormatError(f"文件不存在 (no such file): {path}") from None
    except OSError as exc:
        raise FileFormatError(f"无法读取文件 (cannot read {path}: {exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileFormatError(f"不是普通文件 (not a regular file — a directory, device or FIFO): {path}")
    if info.st_size > limit:
        raise FileFormatError(
            f"文件过大 (file of {info.st_size:,} bytes is over the limit of {limit:,} bytes): {path}"
        )
    return info.st_size


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
    check_input_file(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO swapped in: no wait
    except OSError as exc:
        raise FileFormatError(f"无法读取文件 (cannot read {path}: {exc.strerror})") from None
    with os.fdopen(descriptor, "rb") as probe:
        if not stat.S_ISREG(os.fstat(probe.fileno()).st_mode):
            raise FileFormatError(f"不是普通文件 (not a regular file — a directory, device or FIFO): {path}")
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
    except csv.Error as exc:
        handle.close()
        raise _csv_problem(reader.line_num, exc) from None
    header = [h.strip() for h in header]
    width = len(header)

    def rows() -> Iterator[list[str]]:
        try:
            for row in reader:
                cells = list(map(str.strip, row))  # one C-level pass: a bulk import reads millions of cells
                if not any(cells):
                    continue
                if "'" in "".join(cells):
                    cells = [unquote_cell(c) for c in cells]
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                yield cells
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                f"文件第{reader.line_num}行起编码与开头不一致 (encoding changes mid-file, detected {encoding}): {exc}"
            ) from None
        except csv.Error as exc:
            raise _csv_problem(reader.line_num, exc) from None
        finally:
            handle.close()

    return Table(path, "csv", encoding, header, rows())


def _csv_problem(line: int, exc: csv.Error) -> FileFormatError:
    if "field larger than field limit" in str(exc):
        return FileFormatError(
            f"文件第{line}行:单元格超过 {MAX_CELL_CHARS:,} 个字符 (line {line}: a cell is longer than "
            f"{MAX_CELL_CHARS:,} characters)"
        )
    return FileFormatError(f"文件第{line}行无法作为CSV读取 (line {line}: {exc})")


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
