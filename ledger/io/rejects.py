"""The rejects CSV of an import: each rejected row as the user wrote it, its row number and every problem.

Two ways to fill it. `RejectsFile` takes a row's cells when they are at hand (the enterprise import). The
drawdown import does not keep a row's cells (the child process that read them sends the importer only what it
settles, see ledger.io.field_checks), so `RejectsByRow` takes row numbers and problems, spills them to a
temporary file as they come, and at the end reads the file once more for the rejected rows' cells. A clean
import never reads the file twice; a rejected one pays one more streaming read, and memory stays flat either way.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from ledger.io.readers import open_table, safe_cell
from ledger.services.safe_output import check_target, open_output


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
    """The rejects CSV, written row by row, opened on the first rejected row; `path` None writes nothing.

    The file goes through ledger.services.safe_output: the target is checked when the object is made (before
    the import reads anything: never the ledger, an existing file only with `force`), written to a temporary file
    and renamed at `close`. Cells that a spreadsheet would run as formulas are written as text (`safe_cell`)."""

    def __init__(
        self,
        path: str | Path | None,
        header: list[str],
        *,
        force: bool = False,
        protect: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.path, self.header = path, header
        self._handle: IO[Any] | None = None
        self._writer: Any = None
        self._output: contextlib.ExitStack | None = None
        self.force, self.protect = force, list(protect)
        if path is not None:
            check_target(path, force=force, protect=self.protect)

    def write(self, row_no: int, raw: list[str], problems: list[RowError]) -> None:
        self.write_text(row_no, raw, problems_text(problems))

    def write_text(self, row_no: int, raw: list[str], text: str) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self._open()
        self._writer.writerow([*map(safe_cell, raw), row_no, safe_cell(text)])

    def _open(self) -> None:
        assert self.path is not None
        self._output = contextlib.ExitStack()
        self._handle = self._output.enter_context(
            open_output(
                self.path, "w", force=self.force, protect=self.protect, encoding="utf-8-sig", newline=""
            )
        )
        self._writer = csv.writer(self._handle)  # type: ignore[arg-type]
        self._writer.writerow([*map(safe_cell, self.header), "行号 (row)", "错误 (errors)"])

    def close(self) -> None:
        if self.path is not None and self._writer is None:
            self._open()  # a clean run leaves a header-only file, never a stale one from an earlier run
        if self._output is not None:
            self._output.close()
            self._output = None


class RejectsByRow:
    """Rejects known by row number; the cells are read again from `source` when the file is closed.

    Rows may be rejected out of order within a chunk (the row's own checks first, the ledger's duplicates
    after), never across chunks: `end_chunk` writes the chunk's rejects to the spill in row order, so the
    spill is in file order and one pass over the source joins them."""

    def __init__(
        self,
        path: str | Path | None,
        header: list[str],
        source: str | Path,
        *,
        force: bool = False,
        protect: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.out = RejectsFile(path, header, force=force, protect=protect)
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
