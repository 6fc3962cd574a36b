"""The rejects CSV of an import: each rejected row as the user wrote it, its row number and every problem.

Two ways to fill it. `RejectsFile` takes a row's cells when they are at hand (the enterprise import). The
drawdown import does not keep a row's cells (the child process that read them sends the importer only what it
settles, see ledger.io.field_checks), so `RejectsByRow` takes row numbers and problems, spills them to a
temporary file as they come, and at the end reads the file once more for the rejected rows' cells. A clean
import never reads the file twice; a rejected one pays one more streaming read, and memory stays flat either way.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ledger.io.readers import open_table


@dataclass(frozen=True)
class RowError:
    """One problem of one data row (row 1 = the first row after the header)."""

    row: int
    column: str
    value: str
    rule: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"第{self.row}行 {self.column}={shown!r}: {self.rule}"


def problems_text(problems: list[RowError]) -> str:
    return "; ".join(f"{p.column}={p.value!r}: {p.rule}" for p in problems)


class RejectsFile:
    """The rejects CSV, written row by row, opened on the first rejected row; `path` None writes nothing."""

    def __init__(self, path: str | Path | None, header: list[str]) -> None:
        self.path, self.header = path, header
        self._handle: TextIO | None = None
        self._writer: Any = None

    def write(self, row_no: int, raw: list[str], problems: list[RowError]) -> None:
        self.write_text(row_no, raw, problems_text(problems))

    def write_text(self, row_no: int, raw: list[str], text: str) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self._open()
        self._writer.writerow([*raw, row_no, text])

    def _open(self) -> None:
        assert self.path is not None
        self._handle = Path(self.path).open("w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by close()
        self._writer = csv.writer(self._handle)
        self._writer.writerow([*self.header, "行号 (row)", "错误 (errors)"])

    def close(self) -> None:
        if self.path is not None and self._writer is None:
            self._open()  # a clean run leaves a header-only file, never a stale one from an earlier run
        if self._handle is not None:
            self._handle.close()


class RejectsByRow:
    """Rejects known by row number; the cells are read again from `source` when the file is closed.

    Rows may be rejected out of order within a chunk (the row's own checks first, the ledger's duplicates
    after), never across chunks: `end_chunk` writes the chunk's rejects to the spill in row order, so the
    spill is in file order and one pass over the source joins them."""

    def __init__(self, path: str | Path | None, header: list[str], source: str | Path) -> None:
        self.out = RejectsFile(path, header)
        self.source = source
        self._chunk: list[tuple[int, str]] = []
        self._spill: TextIO | None = None

    def write(self, row_no: int, problems: list[RowError]) -> None:
        if self.out.path is not None:
            self._chunk.append((row_no, problems_text(problems)))

    def end_chunk(self) -> None:
        if not self._chunk:
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 - closed by close()
        csv.writer(self._spill).writerows(sorted(self._chunk))
        self._chunk = []

    def close(self) -> None:
        self.end_chunk()
        try:
            if self._spill is not None:
                self._join()
        finally:
            if self._spill is not None:
                self._spill.close()
            self.out.close()

    def _join(self) -> None:
        assert self._spill is not None
        self._spill.seek(0)
        wanted = iter(csv.reader(self._spill))
        row_no, text = next(wanted)
        rows = open_table(self.source).rows
        try:
            for number, raw in enumerate(rows, start=1):
                if number == int(row_no):
                    self.out.write_text(number, raw, text)
                    following = next(wanted, None)
                    if following is None:
                        break
                    row_no, text = following
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()
