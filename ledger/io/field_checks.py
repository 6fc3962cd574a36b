"""An import file's rows with their own fields checked: the half of an import that needs no database.

Reading a row, mapping its columns and running `check_fields` (tool, dates, amounts, rates, bill, term) is about
half of an import's work and depends on nothing but the file and the tool catalogue. For a large file it
therefore runs in a child process, a chunk ahead of the importing process, which meanwhile settles the previous
chunk against the ledger (borrowers, duplicates, writes): on two cores the two halves overlap. A small file is
checked in-process by the same function; only where it runs differs.

What the importer gets per chunk (a `Chunk`) is all it needs of the rows: the checked fields and the seven cells
it settles against the ledger itself (bank, borrower, declared statuses), not the rows. Reading the file a second
time in the importer cost it 14 s of a 105 s million-row import; a rejected row's own cells are read again only
for the rejects file (ledger.io.rejects). The child (CheckerProcess) stops at the end of the file, or when the pipe
breaks because the importer stopped early.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import date
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, cast

from ledger.domain.errors import FieldProblem, nul_problems
from ledger.io.columns import FIELD_TO_COLUMN
from ledger.io.readers import file_sha256, open_table
from ledger.services.drawdown_rules import BookingRequest, CheckedFields, check_fields
from ledger.services.ledger_columns import DRAWDOWN_POSITION, LEDGER_COLUMNS
from ledger.tools import Catalogue

# One row: number (1 = first data row) and the user's cells (see Cells for which field is where).
Record = tuple[int, list[str]]
# A row's own fields checked, as the importer settles them: a plain tuple, cheap to pickle and to read —
#   (tool code or "", drawn_on or None, override reason, warnings, problems, row)
# where `row` is the drawdown as the ledger writes it (LEDGER_COLUMNS order, dates as ISO text) with the bank,
# borrower and key-area positions left None for the importer to fill, or None when the fields have problems.
Fields = tuple[str, date | None, str, tuple[str, ...], tuple[FieldProblem, ...], tuple[Any, ...] | None]
# For a row with a NUL byte (which must not reach a query), its problems instead.
Checked = Fields | list[FieldProblem]
# The cells the importer settles against the ledger, in the order it unpacks them ('' where the file has no
# such column).
BORROWER_FIELDS = (
    "institution_code",
    "institution_name",
    "enterprise_uscc",
    "enterprise_name",
    "industry_code",
    "enterprise_size",
    "enterprise_statuses",
    "office",
)
Borrower = tuple[str, str, str, str, str, str, str, str]
# The cells a BookingRequest takes by position: its parameters from the first up to ext_ref, by the file's column
# names (ext_ref is the file's `ref`). Read off the dataclass, so reordering it cannot mix up cells.
_PARAMETERS = [f.name for f in dataclass_fields(BookingRequest)]
REQUEST_FIELDS = tuple(
    FIELD_TO_COLUMN.get(name, name) for name in _PARAMETERS[: _PARAMETERS.index("ext_ref") + 1]
)
_PAD = [""]  # appended to each row of a file that lacks a column: the missing field's cell, at index -1
FIRST_CHUNK_PART = 10  # the child's first chunk is this part of a chunk; the next ones double
CHILD_GC_YOUNG = 50_000  # see _main
AHEAD = 3  # chunks the child may have checked and not yet written (see _Sender): ~2 MB


@dataclass
class Chunk:
    """Consecutive rows of a file from row number `first_row`: each one's borrower cells and checked fields."""

    first_row: int
    borrowers: list[Borrower]
    checked: list[Checked]


class Cells:
    """Where the fields the checks read sit in a row of one file (its header mapped: field name → column index),
    taken out of the row by one C call each (itemgetter) instead of a dict per row: mapping every row to a dict
    and the dict to a BookingRequest's keywords was ~15 % of the checker's work. A field the file has no column
    for reads as an empty cell, which every check takes as it takes a missing one."""

    def __init__(self, columns: list[tuple[str, int]]) -> None:
        self.columns = columns
        at = dict(columns)
        self.padded = any(name not in at for name in (*REQUEST_FIELDS, *BORROWER_FIELDS))
        self.request = itemgetter(*(at.get(name, -1) for name in REQUEST_FIELDS))
        self.borrower = itemgetter(*(at.get(name, -1) for name in BORROWER_FIELDS))

    def fields(self, raw: list[str]) -> dict[str, str]:
        """The row's cells by field name: only the rare NUL check, which names the field, needs them so."""
        return {name: raw[i] for name, i in self.columns}


def read_rows(rows: Iterable[list[str]], chunk: int, first: int | None = None) -> Iterator[list[Record]]:
    """The rows of a file, `chunk` at a time, numbered. With `first`, the chunks start at `first` rows and double
    up to `chunk`: the importer idles until the first one arrives, and after it until the next one does, so they
    come small and soon."""
    numbered = iter(enumerate(rows, start=1))
    size = first or chunk
    while part := list(islice(numbered, size)):
        yield part
        size = min(2 * size, chunk)


def check_chunk(records: list[Record], cells: Cells, catalogue: Catalogue) -> Chunk:
    """Each row's own fields, judged by the booking rules' first half, beside its borrower cells."""
    rows = [raw for _, raw in records]
    suspect = "\x00" in "".join(map("".join, rows))  # rare: one scan finds it
    if cells.padded:
        rows = [raw + _PAD for raw in rows]
    borrower, request, fields = cells.borrower, cells.request, cells.fields
    return Chunk(
        records[0][0],
        [borrower(raw) for raw in rows],
        [
            problems
            if suspect and (problems := nul_problems(fields(raw)))
            else checked_fields(check_fields(BookingRequest(*request(raw)), catalogue))
            for raw in rows
        ],
    )


_ROW = itemgetter(*LEDGER_COLUMNS["drawdown"])
_DATES = (DRAWDOWN_POSITION["drawn_on"], DRAWDOWN_POSITION["maturity_on"])
# Filled by the importer: cleared here, as check_fields leaves them unset.
_UNSET = dict.fromkeys(
    ("institution_id", "enterprise_id", "key_area", "key_area_reason", "office", "measures")
)
_ISO: dict[date, str] = {}  # a file holds a few thousand days: one text each, which pickle then sends once


def checked_fields(checked: CheckedFields) -> Fields:
    """check_fields' result in the importer's form (see Fields)."""
    values = checked.values
    code = checked.tool.code if checked.tool is not None else ""
    if checked.problems:
        return (
            code,
            checked.drawn_on,
            values["override_reason"],
            tuple(checked.warnings),
            tuple(checked.problems),
            None,
        )
    values.update(_UNSET)
    row = list(_ROW(values))
    for i in _DATES:
        day = row[i]
        row[i] = _ISO.get(day) or _ISO.setdefault(day, day.isoformat())
    return code, checked.drawn_on, values["override_reason"], tuple(checked.warnings), (), tuple(row)


class CheckerProcess:
    """check_chunk over a file in a child process, which reads the file itself: iterate it for each chunk, in
    file order; close it when done (or early).

    The child is `python -m ledger.io.field_checks`, not a multiprocessing child: a spawned multiprocessing child
    first re-imports the parent's main module, which for the `ledger` command is the whole CLI (1.3 s of imports
    here, the importer idle meanwhile); this module needs 0.16 s. A fresh interpreter is also safe in a process
    that has threads (the TUI). The job goes to the child's stdin and the chunks come back on its stdout, one
    pickle each.

    A chunk crosses the pipe as it is (plain tuples, see Fields), the borrower cells with repeated text sent once.
    """

    def __init__(
        self, path: str | Path, columns: list[tuple[str, int]], catalogue: Catalogue, chunk: int
    ) -> None:
        self.sha256 = ""  # the file's, sent by the child once it has read the whole file
        package_root = str(Path(__file__).resolve().parents[2])  # where `ledger` is importable from
        inherited = os.environ.get("PYTHONPATH")  # an empty entry would put the working directory on the path
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([package_root, inherited] if inherited else [package_root]),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ledger.io.field_checks"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._receive = self._process.stdout
        try:
            pickle.dump((str(path), columns, catalogue, chunk), self._process.stdin, pickle.HIGHEST_PROTOCOL)
            self._process.stdin.close()
        except BrokenPipeError:  # the child died at once; iterating reports it
            pass

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            try:
                kind, payload = pickle.load(self._receive)
            except EOFError:
                raise RuntimeError(
                    f"导入检查子进程意外退出 (the import's checker process stopped, exit code {self._process.wait()})"
                ) from None
            if kind == "end":
                self.sha256 = payload
                return
            if kind == "error":
                raise payload
            yield Chunk(*payload)

    def close(self) -> None:
        self._receive.close()  # a child still writing gets a broken pipe and stops
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            self._process.wait()


def _serve(
    send: BinaryIO, path: str, columns: list[tuple[str, int]], catalogue: Catalogue, chunk: int
) -> None:
    """The child: read, check, ship chunk by chunk; a reading error (say, the encoding changes mid-file) goes to
    the importer, which reports it as it would in-process."""
    with _Sender(send) as sender:
        try:
            table = open_table(path)
            # Small first chunks (a tenth, then doubling): the importer has nothing to do until they arrive.
            cells = Cells(columns)
            for records in read_rows(table.rows, chunk, first=max(1, chunk // FIRST_CHUNK_PART)):
                sender.send(("chunk", _ship(check_chunk(records, cells, catalogue))))
            # Hashed here, after the last chunk, while the importer settles it: the import's audit record names it.
            sender.send(("end", file_sha256(path)))
        except BrokenPipeError:
            return  # the importer stopped reading: nothing to tell
        except Exception as exc:  # every other failure is the importer's to report
            sender.send_error(exc)


class _Sender:
    """The child's pipe, written by a thread of its own, up to AHEAD messages behind the checking.

    Why: a chunk is ~740 KB pickled and a pipe holds 64 KB, so a child writing in line stays blocked until the
    importer has read the whole chunk, and only then starts on the next: it was never more than one chunk ahead,
    and whenever a chunk took it longer than the importer's previous one, the importer waited (0.14-0.71 s of
    a 100k import here, in 10-16 of its 23 chunks; 0.075-0.12 s since, nearly all of it the first chunk). The
    write itself runs without the GIL, so checking goes on meanwhile. A write that fails (the importer stopped reading) is raised by the next `send`."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._queue: queue.Queue[bytes | None] = queue.Queue(AHEAD)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="checker-send", daemon=True)

    def __enter__(self) -> _Sender:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()

    def send(self, message: tuple[str, Any]) -> None:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        if self._failed is not None:
            raise BrokenPipeError from self._failed
        self._queue.put(data)

    def send_error(self, exc: BaseException) -> None:
        try:
            self.send(("error", exc))
        except BrokenPipeError:
            return
        except Exception:  # the exception itself would not pickle
            with contextlib.suppress(BrokenPipeError):
                self.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))

    def _write(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._failed is not None:
                continue  # drain, so `send` never blocks on a full queue nobody empties
            try:
                self._out.write(data)
                self._out.flush()
            except Exception as exc:  # BrokenPipeError mostly; whatever it is, `send` must not block on it
                self._failed = exc


def _ship(chunk: Chunk) -> tuple[int, list[Borrower], list[Checked]]:
    """The chunk as plain tuples; equal borrower texts made one object, so each is pickled once (a bank's name or a
    borrower's recurs row after row, and pickle sends an object already sent as a back-reference)."""
    same: dict[str, str] = {}
    one = same.setdefault
    return chunk.first_row, [cast(Borrower, tuple(map(one, b, b))) for b in chunk.borrowers], chunk.checked


def _main() -> None:
    """`python -m ledger.io.field_checks`: the job from stdin, the chunks to stdout (see CheckerProcess)."""
    path, columns, catalogue, chunk = pickle.load(sys.stdin.buffer)
    # As in the importer (importer._ImportRun.run): what is loaded by now (modules, the catalogue) is left out of
    # the cyclic collector's scans, and young collections run every CHILD_GC_YOUNG container allocations instead
    # of every 700. A row allocates a dozen, almost none in cycles: 4.2 % of the child's per-row instructions
    # (callgrind, 20k rows). The process ends with the file, so nothing is restored.
    gc.freeze()
    gc.set_threshold(CHILD_GC_YOUNG, *gc.get_threshold()[1:])
    try:
        _serve(sys.stdout.buffer, path, columns, catalogue, chunk)
    finally:
        with contextlib.suppress(BrokenPipeError, OSError):
            sys.stdout.buffer.close()


if __name__ == "__main__":
    _main()
