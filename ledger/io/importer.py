"""`ledger import drawdowns`: a bank's loan or bill list into the ledger, all or nothing, under one audit record.

Every row goes through the booking rules `ledger book` uses, in their two pure halves: `check_fields` (the row's
own fields; ledger.io.field_checks, in a child process for a large file) and `judge_borrower` (eligibility and the
key-area decision, from the borrower's facts). The database half of booking (institution and enterprise exist,
bill or sub-bill range not held by a live drawdown, reference not used, month open) is answered from data fetched
once per chunk of rows instead of a query per row, and the same checks catch duplicates within the file. Rows are
written chunk by chunk inside one transaction, so memory does not grow with the file; at the end the transaction
commits only if no row had a problem (and never for --dry-run).

Duplicates already in the ledger make a re-import harmless: a row whose tool + bill number + range, or institution
+ reference, matches a live drawdown is skipped and counted. A row that matches a drawdown written earlier by this
same import (recognised by the import's own audit id) is a duplicate within the file, and an error.

Audit: drawdowns and the statuses the file declares go under the import's one record (their digest in it); new
institutions and enterprises get the same 'create' records `ledger add-enterprise` writes, appended after it.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import count
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Select, func, insert, select
from sqlalchemy import Table as SqlTable

from ledger.config import Config
from ledger.db.engine import CACHED_PAGE_COSTS, pg_local_settings
from ledger.db.models import Drawdown, Enterprise, Institution
from ledger.domain.dates import parse_date
from ledger.domain.enterprise import EnterpriseFacts, StatusEntry, normalise_size, normalise_status
from ledger.domain.errors import FieldProblem, ValidationError
from ledger.domain.industry import normalise_industry
from ledger.domain.key_area import classify
from ledger.domain.measures import measures_met, measures_text
from ledger.domain.uscc import normalise_uscc
from ledger.facade import Ledger
from ledger.io.columns import FIELD_TO_COLUMN, HeaderMap, map_header
from ledger.io.field_checks import Borrower, Cells, CheckerProcess, Chunk, Fields, check_chunk, read_rows
from ledger.io.readers import Table, file_sha256, open_table
from ledger.io.rejects import RejectsByRow, RowError
from ledger.services import approval
from ledger.services.audit import PendingAudit, append_many, begin_audit, reference_payload
from ledger.services.booking import not_reversed, ranges_overlap
from ledger.services.bulk import InsertBehind, fast_insert, stage_values, write_ledger_rows
from ledger.services.bulk_indexes import DeferredIndexes, deferred_indexes
from ledger.services.canonical import row_values
from ledger.services.closing import closed_months
from ledger.services.controls import Controls
from ledger.services.drawdown_rules import eligibility_finding
from ledger.services.ledger_columns import DRAWDOWN_POSITION
from ledger.services.policy import PolicyBook
from ledger.services.reference import EnterpriseInput, default_valid_to, statuses_of, validate_enterprise
from ledger.tools import Catalogue, Tool

CHUNK = 5000
GC_YOUNG = 50_000  # see _ImportRun.run
IN_LIST = 500  # parameters per IN (...) query: well under SQLite's and psycopg's limits
PAIRS = 2000  # (bank, reference) pairs per VALUES lookup: 4,000 parameters
MAX_KEPT_ERRORS = 1000
ANALYZE_FROM = 20_000  # rows written before the first in-transaction ANALYZE (PostgreSQL)
# Files from this size are read and field-checked in a child process (spawning one costs ~0.5 s; 2 MiB is
# ~8,000 rows of a bank's CSV)
PARALLEL_BYTES = 2 << 20
# A CSV row of the export's columns is ~245 bytes (the 100k benchmark file: 24.2 MB for 98,962 rows), an XLSX row
# ~120 (a month of 2,291 exported rows: 275 KB); a file with fewer columns, or an XLSX, holds more rows than
# size // BYTES_PER_ROW, so the estimate errs towards keeping the indexes (see _indexes_for).
BYTES_PER_ROW = 250
# The drawdown indexes the per-chunk lookups probe (_live_bills, _live_refs, _live_same): kept while a large file
# goes into a large ledger; the others are built at the end (_indexes_for).
LOOKUP_INDEXES = ("ix_drawdown_bill", "ix_drawdown_ref", "ix_drawdown_enterprise")
# Up to this many duplicate keys (bill numbers, references, contents of keyless rows; the ledger's and the file's),
# a large file's duplicates are found in memory and the lookup indexes are built at the end too
# (_ImportRun.settle); past it the indexes are built and probed. ~220 bytes a key (the 100k benchmark file's 98,962
# keys raised the import's peak RSS from 140 to 162 MB): ~45 MB at most, however long the file.
KEYS_IN_MEMORY = 200_000
FIRM_CACHE = 100_000  # enterprises kept between chunks; past this the cache is dropped and refilled on demand

Progress = Callable[[int], None]
_ENT = cast(SqlTable, Enterprise.__table__)  # type: ignore[attr-defined]
_INST = cast(SqlTable, Institution.__table__)  # type: ignore[attr-defined]
_DD = cast(SqlTable, Drawdown.__table__)  # type: ignore[attr-defined]


@dataclass
class ImportResult:
    path: str
    encoding: str
    dry_run: bool
    rows: int = 0
    new: int = 0
    skipped: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    error_count: int = 0
    warnings: int = 0
    new_institutions: int = 0
    new_enterprises: int = 0
    new_statuses: int = 0
    ignored_columns: tuple[str, ...] = ()
    audit_id: int | None = None
    seconds: float = 0.0
    above_limit: int = 0  # rows above the authority limit: the whole file waits for a checker
    pending_id: int | None = None  # the queued batch (nothing was written)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run


@dataclass
class _Firm:
    """An enterprise as the import knows it: from the ledger (id set) or created by an earlier row (id None)."""

    uscc: str
    name: str
    industry_code: str
    size: str
    statuses: list[StatusEntry]
    id: int | None = None
    _facts: EnterpriseFacts | None = None
    _held: set[StatusEntry] = field(default_factory=set)  # the same entries, for `in` without a list scan
    # Declared-statuses texts of this firm's rows that name only dated entries it now holds: a later row with the
    # same text only needs each entry to hold on its own drawn_on (a borrower's rows repeat its text).
    declared: dict[str, tuple[tuple[str, StatusEntry], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._held.update(self.statuses)

    def facts(self) -> EnterpriseFacts:
        if self._facts is None:
            self._facts = EnterpriseFacts(self.uscc, self.industry_code, self.size, tuple(self.statuses))
        return self._facts

    def holds(self, entry: StatusEntry) -> bool:
        return entry in self._held

    def add_status(self, entry: StatusEntry) -> None:
        self.statuses.append(entry)
        self._held.add(entry)
        self._facts = None


@dataclass
class _Candidate:
    row_no: int
    row: list[Any]  # the drawdown as written (LEDGER_COLUMNS order, canonical), all but its enterprise id
    firm: _Firm


@dataclass
class _Found:
    """Live drawdowns of the ledger as fetched for a chunk: by bill number, by (bank, reference), by content."""

    bills: dict[str, list[tuple[int, str, str | None, int]]]
    refs: dict[tuple[int, str], tuple[int, int]]
    same: dict[tuple[Any, ...], int]


@dataclass
class _Keys:
    bills: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # bill_no → [(range, row)]
    refs: dict[tuple[int, str], int] = field(default_factory=dict)  # (bank, reference) → row
    same: dict[tuple[Any, ...], int] = field(default_factory=dict)  # content key → row


class _FileKeys:
    """Row numbers by key of the rows the file writes, for the chunk being checked and the one before: the
    within-file duplicates the ledger as fetched cannot show (older chunks it does show, under this import's
    audit id). `current.same` holds every keyless row of the chunk, written or not, as the check always has.

    With `keep_older` (duplicates found in memory, see _ImportRun.settle) the keys of the chunks before those two
    are kept as well, in `older`, until `forget_older`; `count` is how many keys were written since."""

    def __init__(self) -> None:
        self.previous, self.current = _Keys(), _Keys()
        self._written_same: dict[tuple[Any, ...], int] = {}
        self.older: _Keys | None = None
        self.count = 0

    def keep_older(self) -> None:
        self.older, self.count = _Keys(), 0

    def forget_older(self) -> None:
        self.older = None

    def bill_rows(self, bill_no: str) -> list[tuple[str, int]]:
        older = self.older.bills.get(bill_no, ()) if self.older is not None else ()
        return [*older, *self.previous.bills.get(bill_no, ()), *self.current.bills.get(bill_no, ())]

    def ref_row(self, key: tuple[int, str]) -> int | None:
        row = self.current.refs.get(key, self.previous.refs.get(key))
        return row if row is not None or self.older is None else self.older.refs.get(key)

    def same_row(self, key: tuple[Any, ...]) -> int | None:
        row = self.current.same.get(key, self.previous.same.get(key))
        return row if row is not None or self.older is None else self.older.same.get(key)

    def written(
        self,
        row_no: int,
        bill_no: str | None,
        bill_range: str,
        ref_key: tuple[int, str] | None,
        same_key: tuple[Any, ...] | None,
    ) -> None:
        if bill_no:
            self.current.bills.setdefault(bill_no, []).append((bill_range, row_no))
        if ref_key is not None:
            self.current.refs[ref_key] = row_no
        if same_key is not None:
            self._written_same[same_key] = row_no
        self.count += bool(bill_no) + (ref_key is not None) + (same_key is not None)

    def end_chunk(self) -> None:
        """The chunk's drawdowns are about to go in: the next chunk sees them in memory, not yet in the ledger.
        Only the rows written count there, as they would in the ledger."""
        if self.older is not None:
            older = self.older
            for bill_no, entries in self.previous.bills.items():
                if (held := older.bills.get(bill_no)) is None:
                    older.bills[bill_no] = entries
                else:
                    held.extend(entries)
            older.refs.update(self.previous.refs)
            older.same.update(self.previous.same)
        self.previous = _Keys(self.current.bills, self.current.refs, self._written_same)
        self.current, self._written_same = _Keys(), {}


def import_drawdowns(
    ledger: Ledger,
    path: str | Path,
    *,
    dry_run: bool = False,
    rejects: str | Path | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> ImportResult:
    """Imports a CSV/XLSX drawdown file in one transaction. File-level problems (unreadable file, missing
    columns) raise ValidationError/FileFormatError before anything is opened for writing; row problems are
    collected in the result, which says whether anything was written.

    The controls apply as to `ledger book`: a row breaking a quota or a balance cap is the row's error; when every
    row passes but some are above the authority limit, nothing is written: the file (its exact bytes) waits as one
    pending item (`result.pending_id`) until a checker approves it, which imports it again in their name."""
    started = time.perf_counter()
    ledger.authorize("import", Path(path).name)  # role check (operator); a refusal is audited, nothing read
    book = ledger.policy
    table = open_table(path)
    header_map, problems = map_header(table.header)
    if problems:
        _drain(table)
        raise ValidationError(problems)
    result = ImportResult(str(path), table.encoding, dry_run, ignored_columns=header_map.ignored)
    try:
        rejects_file = RejectsByRow(rejects, table.header, path, force=force, protect=ledger.own_files)
    except BaseException:
        _drain(table)
        raise
    try:
        with ledger.connect() as conn:
            transaction = conn.begin()
            try:
                run = _import_rows(
                    conn, book, ledger.actor, table, header_map, result, rejects_file, progress
                )
                if result.ok and result.above_limit and not dry_run:
                    transaction.rollback()
                    result.audit_id = None
                    with ledger.write("import", Path(path).name) as queue_conn:
                        result.pending_id = _queue_file(queue_conn, ledger.actor, Path(path), run, result)
                elif result.ok and not dry_run:
                    transaction.commit()
                else:
                    transaction.rollback()
                    result.audit_id = None
            except BaseException:
                if transaction.is_active:
                    transaction.rollback()
                raise
    finally:
        rejects_file.close()
    result.seconds = time.perf_counter() - started
    return result


def _import_rows(
    conn: Connection,
    book: PolicyBook,
    actor: str,
    table: Table,
    header_map: HeaderMap,
    result: ImportResult,
    rejects_file: RejectsByRow,
    progress: Progress | None,
    *,
    approved: bool = False,
    extra: dict[str, Any] | None = None,
) -> _ImportRun:
    """Every row judged and (if all pass) written in the caller's transaction, which the caller ends."""
    # Started before the ledger is read, so the checker process's start-up and first chunk overlap with ours.
    chunks, checker = _checked_chunks(table, list(header_map.index.items()), book.dated_catalogue())
    try:
        # CACHED_PAGE_COSTS: with PostgreSQL's default the (bank, reference) lookup of 5,000 pairs was planned as a
        # hash join over a sequential scan while the table held ~100k-500k rows (126 ms a chunk at 195k rows, where
        # the index probes take 17-25 ms).
        with _custom_plans(conn), pg_local_settings(conn, **CACHED_PAGE_COSTS):
            run = _ImportRun(conn, book, actor, header_map, result, rejects_file, approved=approved)
            with _indexes_for(conn, table.path) as deferred:
                run.run(chunks, progress, deferred)
            result.above_limit = len(run.controls.above_limit)
            if result.ok:
                run.finish(checker.sha256 if checker is not None else file_sha256(table.path), extra)
    finally:
        if checker is not None:
            checker.close()
    return run


# An import queued for approval carries the file itself: what the checker approves is byte for byte what the
# maker submitted (its sha256 is in the chain), re-judged against the ledger as it is at approval.
MAX_QUEUED_BYTES = 64 << 20


def _queue_file(conn: Connection, actor: str, path: Path, run: _ImportRun, result: ImportResult) -> int:
    import base64

    data = path.read_bytes()
    if len(data) > MAX_QUEUED_BYTES:
        raise ValidationError.single(
            "file",
            path.name,
            f"含超过授权限额的发放,须复核;文件大于 {MAX_QUEUED_BYTES >> 20} MiB,请拆分后导入 "
            f"(rows above the authority limit need approval; split files over {MAX_QUEUED_BYTES >> 20} MiB)",
        )
    above = run.controls.above_limit
    payload = {
        "file": path.name,
        "suffix": path.suffix.lower(),
        "sha256": result_sha256(data),
        "rows": result.rows,
        "new": result.new,
        "above_limit": [[a.tool_code, a.amount_fen, a.limit_fen] for a in above[:20]],
        "content_b64": base64.b64encode(data).decode("ascii"),
    }
    return approval.queue(
        conn,
        actor,
        "import",
        payload,
        above[0].tool_code,
        max(a.amount_fen for a in above),
        {"file": path.name, "rows": result.rows, "above_limit": len(above)},
    )


def result_sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _approve_import(conn: Connection, book: PolicyBook, checker: str, item: approval.PendingItem) -> int:
    """The executor of a queued import: the submitted bytes imported again, in the checker's name, inside the
    approval's transaction. Any row failing now fails the approval (the item stays pending)."""
    import base64
    import tempfile

    payload = item.payload
    data = base64.b64decode(payload["content_b64"])
    if result_sha256(data) != payload["sha256"]:
        raise ValidationError.single("file", payload["file"], "队列中的文件已损坏 (queued file corrupted)")
    with tempfile.TemporaryDirectory(prefix="ledger-approve-") as tmp:
        path = Path(tmp) / (Path(payload["file"]).stem + payload.get("suffix", ".csv"))
        path.write_bytes(data)
        table = open_table(path)
        header_map, problems = map_header(table.header)
        if problems:
            _drain(table)
            raise ValidationError(problems)
        result = ImportResult(payload["file"], table.encoding, False)
        rejects_file = RejectsByRow(None, table.header, path)
        try:
            extra = {"maker": item.maker, "pending_id": item.id}
            _import_rows(
                conn, book, checker, table, header_map, result, rejects_file, None, approved=True, extra=extra
            )
        finally:
            rejects_file.close()
    if not result.ok:
        shown = [FieldProblem(f"第{e.row}行 {e.column}", e.value, e.rule) for e in result.errors[:10]]
        raise ValidationError(shown)
    return int(result.audit_id or 0)


approval.EXECUTORS["import"] = _approve_import


def _indexes_for(conn: Connection, path: Path) -> AbstractContextManager[DeferredIndexes | None]:
    """For a large file with at least as many rows (by BYTES_PER_ROW) as the drawdown table holds, the table's
    indexes the lookups do not probe are built once after the rows are in (bulk_indexes: SQLite; a no-op on
    PostgreSQL). Why that line: keeping those four up to date cost ~4.7 µs per row inserted (raw inserts of the
    100k benchmark rows: 0.27 s into the bare table, 0.47 s more for the four, each timed alone), building them
    1.6-2.8 µs per row of the whole table, old rows included. For M rows into a table of N the build pays from
    M ≈ 0.5 N to 1.5 N by those figures; the line is drawn at M = N.

    When the table also holds fewer than KEYS_IN_MEMORY rows, the lookup indexes are dropped too: the import then
    finds duplicates in memory until it holds that many keys (_ImportRun.settle), and builds them at that point
    or at the end."""
    size = path.stat().st_size
    if size < PARALLEL_BYTES:
        return nullcontext()
    # The highest id, not count(*): at least the row count, read from the primary key's last page.
    held = conn.execute(select(func.max(_DD.c.id))).scalar() or 0
    if size // BYTES_PER_ROW < held:
        return nullcontext()
    return deferred_indexes(conn, "drawdown", () if held < KEYS_IN_MEMORY else LOOKUP_INDEXES)


def _checked_chunks(
    table: Table, columns: list[tuple[str, int]], catalogue: Catalogue
) -> tuple[Iterable[Chunk], CheckerProcess | None]:
    """The file's rows, a chunk at a time, with their own fields checked: for a large file by a child process
    that reads it itself, a chunk ahead (the caller closes it); otherwise here, as they are iterated."""
    if table.path.stat().st_size >= PARALLEL_BYTES:
        _drain(table)  # the child reads the file; this process needs nothing of it but the header
        checker = CheckerProcess(table.path, columns, catalogue, CHUNK)
        return checker, checker
    cells = Cells(columns)
    return (check_chunk(part, cells, catalogue) for part in read_rows(table.rows, CHUNK)), None


@contextmanager
def _custom_plans(conn: Connection) -> Iterator[None]:
    """PostgreSQL: no server-side prepared statements while importing. psycopg prepares a query after 5 runs and
    the server may then settle on a generic plan made while the table was small (a scan): at 1M rows the per-chunk
    lookups went from 0.2 s to 6 s a chunk. A custom plan per query sees the table as it has grown."""
    if conn.dialect.name != "postgresql":
        yield
        return
    raw: Any = conn.connection.driver_connection
    saved = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = saved


def _drain(table: Table) -> None:
    for _ in table.rows:  # closes the file handle / workbook
        break
    close = getattr(table.rows, "close", None)
    if close is not None:
        close()


class _ImportRun:
    def __init__(
        self,
        conn: Connection,
        policy: PolicyBook,
        actor: str,
        header: HeaderMap,
        result: ImportResult,
        rejects: RejectsByRow,
        *,
        approved: bool = False,
    ) -> None:
        self.conn, self.policy, self.actor, self.header = conn, policy, actor, header
        # Quotas, balance caps and the authority limit, as for `ledger book` (a batch of many).
        self.controls = Controls(conn, policy)
        self.approved = approved
        self.result, self.rejects = result, rejects
        self.audit: PendingAudit = begin_audit(conn, actor, "import", "drawdown", Path(result.path).name)
        self.institutions: dict[str, int] = {}
        self.offices: dict[str, str] = {}  # bank code → the office that handles its drawdowns by default
        for code, bank_id, office in conn.execute(select(_INST.c.code, _INST.c.id, _INST.c.office)):
            self.institutions[code], self.offices[code] = bank_id, office
        # (statuses held, industry, size, tool, policy) → the measures met: a few hundred distinct keys a file
        self.measure_memo: dict[tuple[Any, ...], str] = {}
        self.firms: dict[str, _Firm] = {}
        self.closed = closed_months(conn)
        self.new_institutions: list[dict[str, str]] = []
        self.new_firms: list[_Firm] = []  # created by the chunk being processed
        # (uscc, audit payload) of every enterprise created, for their 'create' records at the end
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.tokens: dict[str, StatusEntry | str] = {}  # a dated token's entry, or a bare token's status name
        # uscc → a (name, industry, size) already found to agree with the ledger: checked once per firm
        self.agreed: dict[str, tuple[str, str, str]] = {}
        self.analyzed_at = 0  # rows written when _refresh_statistics last ran
        # A bank the file adds is created when its chunk's reference data is fetched; rows before the one that
        # names it still lack it, as they would if banks were created row by row.
        self.bank_named_at: dict[str, int] = {}
        self.writer = InsertBehind(conn)
        self.staged: list[list[Any]] = []  # the previous chunk's drawdowns, digested, not yet inserted
        self.keys = _FileKeys()
        self.deferred: DeferredIndexes | None = None  # the drawdown indexes dropped for a large file
        # While duplicates are found in memory (see settle): the live drawdowns the ledger held when the import
        # began, as the per-chunk lookups would have found them, and how many keys that is.
        self.ledger_keys: _Found | None = None
        self.ledger_key_count = 0

    # -- driving ---------------------------------------------------------------------------------------------------
    def run(
        self, chunks: Iterable[Chunk], progress: Progress | None, deferred: DeferredIndexes | None = None
    ) -> None:
        """Chunk by chunk: each chunk's own fields are checked (`check_chunk`; for a large file in a child
        process, a chunk ahead), then settled here against the ledger: borrowers and banks, the borrower's half
        of the rules, duplicates, the writes. A chunk's drawdowns go in behind the next chunk's lookups, while
        that chunk is judged (`settle`; on PostgreSQL the COPY runs on a thread meanwhile, see InsertBehind).

        After each chunk the surviving objects (the firm cache) are moved out of the cyclic collector's way with
        gc.freeze(): it otherwise rescans them over and over (10–15 % of the run here). Within a chunk the
        collector runs every GC_YOUNG container allocations instead of every 700: a row allocates a dozen, almost
        none in cycles, so the default ran it a hundred times per chunk for nothing.

        `deferred`: the drawdown indexes dropped for this file (_indexes_for). When the lookup indexes are among
        them, duplicates are found in memory (see settle)."""
        self.deferred = deferred
        if deferred is not None and set(LOOKUP_INDEXES) <= deferred.pending.keys():
            self.ledger_keys = self._ledger_keys()
            found = self.ledger_keys
            self.ledger_key_count = len(found.bills) + len(found.refs) + len(found.same)
            self.keys.keep_older()
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_YOUNG, *thresholds[1:])
        try:
            for chunk in chunks:
                self.result.rows += len(chunk.checked)
                self.settle(chunk)
                self.rejects.end_chunk()
                gc.freeze()
                if progress is not None and len(chunk.checked) == CHUNK:
                    progress(self.result.rows)
            self.writer.submit("drawdown", self.staged)
            self.writer.wait()
        finally:
            self.writer.close()  # before anything else touches the connection, a rollback included
            gc.unfreeze()
            gc.set_threshold(*thresholds)
        if progress is not None:
            progress(self.result.rows)

    def finish(self, sha256: str, extra: dict[str, Any] | None = None) -> None:
        """Appends the import's audit record (only if rows went under it: a re-import that skips every row leaves
        the ledger exactly as it was), then the 'create' records of the reference rows it added."""
        r = self.result
        if self.audit.digest.count:
            self.audit.payload = {
                **(extra or {}),
                "file": Path(r.path).name,
                "sha256": sha256,
                "rows": r.rows,
                "new": r.new,
                "skipped": r.skipped,
                "new_institutions": r.new_institutions,
                "new_enterprises": r.new_enterprises,
                "new_statuses": r.new_statuses,
            }
            r.audit_id = self.audit.commit(self.conn)
        records: list[tuple[str, str, str, dict[str, Any]]] = [
            ("create", "institution", i["code"], i) for i in self.new_institutions
        ]
        records += [("create", "enterprise", uscc, payload) for uscc, payload in self.created]
        for start in range(0, len(records), CHUNK):  # in chunks: append_many builds its rows in one list
            append_many(self.conn, self.actor, records[start : start + CHUNK])

    # -- one chunk -------------------------------------------------------------------------------------------------
    def settle(self, chunk: Chunk) -> None:
        """One chunk in three steps. First everything it needs from the ledger: banks it adds, its borrowers, the
        live drawdowns its bills, references and contents may repeat. Then the previous chunk's drawdowns go in
        on the writer's thread while this one is judged here without the database: bank, borrower and declared
        statuses, the borrower's half of the rules, duplicates. Last, once the writer is done, its new
        enterprises and statuses are written and its drawdowns digested, to go in behind the next chunk.

        The ledger as fetched lacks the previous chunk's drawdowns (still to be inserted), so duplicates of those
        are found in `keys`, which holds the keys of the rows this chunk and the previous one write.

        Duplicates in memory: for a large file into a ledger that holds fewer than KEYS_IN_MEMORY drawdowns, the
        lookup indexes are dropped with the others (_indexes_for). The ledger's own live drawdowns are then read
        once (`ledger_keys`), and `keys` keeps the keys of every chunk the file wrote, instead of asking the
        ledger for both per chunk. Keeping the three lookup indexes up to date row by row and probing them cost
        ~0.3 s of a 2.8 s 100k-row import (measured 2026-12-04). Once the keys held pass
        KEYS_IN_MEMORY, the lookup indexes are built (over the rows in so far) and probed from then on, as for a
        large ledger, so memory stays bounded however long the file."""
        if self.ledger_keys is not None and self.keys.count + self.ledger_key_count > KEYS_IN_MEMORY:
            self._probe_indexes()
        rows: list[tuple[int, Borrower, Fields]] = []
        for row_no, borrower, checked in zip(
            count(chunk.first_row), chunk.borrowers, chunk.checked, strict=False
        ):
            if isinstance(checked, list):  # a NUL byte: refused before any of its text reaches a query
                self._reject(row_no, checked)
            else:
                rows.append((row_no, borrower, checked))
        found = self._fetch(rows)
        self.writer.submit("drawdown", self.staged)
        self.staged = []
        statuses: list[tuple[_Firm, StatusEntry]] = []
        candidates: list[_Candidate] = []
        config_on = self.policy.config_on
        for row_no, (bank_code, _, uscc, firm_name, industry, size, declared, office), checked in rows:
            tool_code, drawn_on, override, warnings, field_problems, template = checked
            config = config_on(drawn_on) if drawn_on is not None else None
            key_areas = config.key_areas if config is not None else None
            problems: list[FieldProblem] = []
            institution_id = self._institution(bank_code, row_no, problems)
            office = office.strip() or self.offices.get(bank_code, "")
            if len(office) > 60:
                problems.append(
                    FieldProblem("office", office, "经办行名称至多60字符 (at most 60 characters)")
                )
            firm = self._firm(uscc, firm_name, industry, size, problems)
            if firm is not None and drawn_on is not None:
                self._declared_statuses(firm, declared, drawn_on, problems, statuses)
            # The borrower's half of the booking rules (judge_borrower's, on the row as it will be written):
            # eligibility, then, for a row with no problem at all, the key-area decision.
            problems += field_problems
            tool = config.catalogue.find(tool_code) if tool_code and config is not None else None
            if firm is not None and tool is not None and drawn_on is not None:
                problem, warning = eligibility_finding(tool, drawn_on, override, firm.facts())
                if problem is not None:
                    problems.append(problem)
                if warning is not None:
                    warnings = (*warnings, warning)
            if problems or template is None or firm is None or institution_id is None or drawn_on is None:
                self._reject(row_no, problems)
                continue
            self.result.warnings += len(warnings)
            assert key_areas is not None and config is not None
            decision = classify(firm.facts(), drawn_on, key_areas)
            row = list(template)
            row[_BANK], row[_KEY_AREA], row[_REASON] = institution_id, int(decision.key_area), decision.reason
            row[_OFFICE], row[_MEASURES] = office, self._measures(firm, drawn_on, config, tool)
            candidates.append(_Candidate(row_no, row, firm))
        to_write = self._check_ledger(candidates, found)
        self.writer.wait()
        self._write(self.new_firms, statuses, to_write)
        self.keys.end_chunk()
        self.created += [(f.uscc, reference_payload("enterprise", f)) for f in self.new_firms]
        self.new_firms = []
        if len(self.firms) > FIRM_CACHE:
            # Everything is in the database now (in this transaction): forget it, so memory follows the chunk
            # and not the number of enterprises in the file; later chunks fetch what they need again.
            self.firms.clear()
            self.agreed.clear()
            self.tokens.clear()

    def _measures(self, firm: _Firm, drawn_on: date, config: Config, tool: Tool | None) -> str:
        """The measures the borrower meets on drawn_on (judge_borrower's, memoised for the file)."""
        facts = firm.facts()
        key = (facts.statuses_on(drawn_on), facts.industry_code, facts.size, tool and tool.code, id(config))
        text = self.measure_memo.get(key)
        if text is None:
            target = tool.eligibility if tool is not None else None
            text = measures_text(measures_met(facts, drawn_on, config.definitions(), target))
            self.measure_memo[key] = text
        return text

    def _fetch(self, rows: list[tuple[int, Borrower, Fields]]) -> _Found:
        """What the chunk needs from the ledger, in a few queries: banks it adds (created now), its borrowers with
        their statuses, and the live drawdowns that hold its bills, its (bank, reference) pairs, or for rows with
        neither, its contents. Rows whose own fields failed are left out of the duplicate lookups."""
        self._refresh_statistics()
        for row_no, borrower, _ in rows:
            if borrower[0] not in self.institutions:
                self._add_bank(borrower[0], borrower[1], row_no)
        self._load_firms({normalise_uscc(borrower[2]) for _, borrower, _ in rows})
        # Duplicates in memory (see settle): the ledger's keys were read once, the file's are kept in `keys`.
        if self.ledger_keys is not None:
            return self.ledger_keys
        bills: set[str] = set()
        refs: set[tuple[int, str]] = set()
        keyless: list[tuple[_Firm, date]] = []  # borrower and day of rows with neither bill nor reference
        for _, borrower, (_, drawn_on, _, _, _, row) in rows:
            if row is None or drawn_on is None:  # the row's own fields failed
                continue
            bill_no, ref = row[_BILL], row[_REF]
            if bill_no:
                bills.add(bill_no)
            if ref and (bank := self.institutions.get(borrower[0])) is not None:
                refs.add((bank, ref))
            if bill_no or ref:
                continue
            firm = self.firms.get(normalise_uscc(borrower[2]))
            if firm is not None and firm.id is not None:  # a borrower new to the ledger has no drawdowns yet
                keyless.append((firm, drawn_on))
        return _Found(self._live_bills(bills), self._live_refs(refs), self._live_same(keyless))

    def _check_ledger(self, candidates: list[_Candidate], found: _Found) -> list[_Candidate]:
        """Double booking, reference reuse and closed months, against the ledger as fetched and within the file
        (`keys`: this chunk and the previous one, whose drawdowns the ledger as fetched does not hold yet)."""
        ours = self.audit.id
        keys = self.keys
        chunk_same = keys.current.same  # every keyless row of this chunk, written or not
        to_write: list[_Candidate] = []
        for c in candidates:
            v = c.row
            problems: list[FieldProblem] = []
            skip = False
            bill_no, bill_range, ref = v[_BILL], v[_RANGE], v[_REF]
            shown_bill = f"{bill_no} {bill_range}" if bill_no else ""
            if bill_no:
                for other_id, tool_code, other_range, audit_id in found.bills.get(bill_no, ()):
                    if not ranges_overlap(bill_range, other_range or "0"):
                        continue
                    if audit_id == ours:
                        problems.append(
                            FieldProblem(
                                "bill_no", shown_bill, "票据在本文件中重复 (bill twice in this file)"
                            )
                        )
                    elif tool_code == v[_TOOL] and (other_range or "0") == bill_range:
                        skip = True
                    else:
                        problems.append(
                            FieldProblem(
                                "bill_no", shown_bill, f"票据已登记于第{other_id}笔 (bill already booked)"
                            )
                        )
                for other_range, other_row in keys.bill_rows(bill_no):
                    if ranges_overlap(bill_range, other_range):
                        problems.append(
                            FieldProblem(
                                "bill_no",
                                shown_bill,
                                f"票据与本文件第{other_row}行重复 (bill twice in this file)",
                            )
                        )
            key = (v[_BANK], ref)
            if ref:
                match = found.refs.get(key)
                if match is not None and match[1] == ours:
                    problems.append(
                        FieldProblem("ext_ref", ref, "业务编号在本文件中重复 (reference twice in this file)")
                    )
                elif match is not None:
                    skip = True
                if (other := keys.ref_row(key)) is not None:
                    problems.append(
                        FieldProblem(
                            "ext_ref", ref, f"业务编号与本文件第{other}行重复 (reference twice in this file)"
                        )
                    )
            same_key = None
            if not bill_no and not ref:
                same_key = _same_key(v, c.firm.uscc)
                found_same = found.same.get(same_key)
                if found_same is not None and found_same == ours:
                    problems.append(FieldProblem("ref", "", _SAME_IN_FILE))
                elif found_same is not None:
                    skip = True
                if (other := keys.same_row(same_key)) is not None:
                    problems.append(FieldProblem("ref", "", f"与本文件第{other}行完全相同 " + _SAME_IN_FILE))
                chunk_same[same_key] = c.row_no
            if skip and not problems:
                self.result.skipped += 1
                continue
            if self.closed and (month := v[_DRAWN][:7]) in self.closed:  # ISO text: YYYY-MM first
                problems.append(
                    FieldProblem("drawn_on", v[_DRAWN], f"{month} 已月结,不得登记 (month is closed)")
                )
            if not problems:
                problem = self.controls.admit(
                    v[_TOOL], _day(v[_DRAWN]), _day(v[_MATURITY]), v[_AMOUNT], approved=self.approved
                )
                if problem is not None:
                    problems.append(problem)
            if problems:
                self._reject(c.row_no, problems)
                continue
            keys.written(c.row_no, bill_no, bill_range, key if ref else None, same_key)
            to_write.append(c)
        return to_write

    def _write(
        self, firms: list[_Firm], statuses: list[tuple[_Firm, StatusEntry]], rows: list[_Candidate]
    ) -> None:
        """The chunk's new enterprises (their ids read back) and statuses, written now; its drawdowns digested and
        kept in `staged`, to be inserted behind the next chunk (or at the end)."""
        if firms:
            fast_insert(
                self.conn,
                "enterprise",
                ("uscc", "name", "industry_code", "size"),
                [(f.uscc, f.name, f.industry_code, f.size) for f in firms],
            )
            by_uscc = {f.uscc: f for f in firms}
            for part in _parts(list(by_uscc)):
                for uscc, new_id in self.conn.execute(
                    select(_ENT.c.uscc, _ENT.c.id).where(_ENT.c.uscc.in_(part))
                ):
                    by_uscc[uscc].id = new_id
            self.result.new_enterprises += len(firms)
        if statuses:
            source = f"导入 {Path(self.result.path).name}"
            write_ledger_rows(
                self.conn,
                self.audit,
                "enterprise_status",
                [
                    {
                        "enterprise_id": f.id,
                        "status": s.status,
                        "valid_from": s.valid_from,
                        "valid_to": s.valid_to,
                        "source": source,
                    }
                    for f, s in statuses
                ],
            )
            self.result.new_statuses += len(statuses)
        for c in rows:
            c.row[_FIRM] = c.firm.id
        self.staged = stage_values(self.audit, "drawdown", [c.row for c in rows])
        self.result.new += len(rows)

    def _refresh_statistics(self) -> None:
        """PostgreSQL: ANALYZE the growing tables each time the import has doubled what it wrote. The lookups'
        plans come from statistics, and tables filled inside one transaction have none: a 500-value IN list then
        looks like the whole table, so every lookup became a scan (at 1M rows 270 s of a 440 s import went to
        them). ANALYZE inside the transaction samples its own new rows; SQLite's planner needs no statistics.

        Only the columns the lookups filter and join on (_LOOKUP_COLUMNS): all columns took 0.27-0.31 s per ANALYZE
        at 100k drawdowns, these 0.08 s; the sample read is the same, the other columns' statistics were the
        cost. The other columns are left to autovacuum, which analyses a table (every column) once enough of it has
        changed, as after any write."""
        written = self.result.new + self.result.new_enterprises + self.result.new_statuses
        if self.conn.dialect.name != "postgresql" or written < max(ANALYZE_FROM, 2 * self.analyzed_at):
            return
        self.conn.exec_driver_sql(f"ANALYZE {_LOOKUP_COLUMNS}")
        self.analyzed_at = written

    # -- reference data ----------------------------------------------------------------------------------------
    def _add_bank(self, code: str, name: str, row_no: int) -> None:
        """A bank new to the ledger, created from the first row that names it (a row without a name, or with a
        code no bank may have, gets its problem from _institution)."""
        if code and len(code) <= 40 and name:
            self.institutions[code] = fast_insert_returning_id(self.conn, code, name)
            self.bank_named_at[code] = row_no
            self.new_institutions.append({"code": code, "name": name, "type": ""})
            self.result.new_institutions += 1

    def _institution(self, code: str, row_no: int, problems: list[FieldProblem]) -> int | None:
        bank = self.institutions.get(code)
        if bank is not None and self.bank_named_at.get(code, 0) <= row_no:
            return bank
        if not code:
            problems.append(FieldProblem("institution_code", "", "机构代码必填 (required)"))
        elif len(code) > 40:
            problems.append(
                FieldProblem("institution_code", code, "机构代码至多40字符 (at most 40 characters)")
            )
        else:
            problems.append(
                FieldProblem(
                    "institution_code",
                    code,
                    "未登记的机构,须填写机构名称以新增 (unknown institution: give institution_name)",
                )
            )
        return None

    def _load_firms(self, usccs: set[str]) -> None:
        missing = [u for u in usccs if u and u not in self.firms]
        for part in _parts(missing):
            rows = self.conn.execute(
                select(
                    _ENT.c.id,
                    _ENT.c.uscc,
                    _ENT.c.name,
                    _ENT.c.industry_code,
                    _ENT.c.size,
                ).where(_ENT.c.uscc.in_(part))
            ).all()
            statuses = statuses_of(self.conn, [r[0] for r in rows])
            for r in rows:
                self.firms[r[1]] = _Firm(r[1], r[2], r[3], r[4], list(statuses[r[0]]), id=r[0])

    def _firm(
        self, raw_uscc: str, name: str, industry: str, size: str, problems: list[FieldProblem]
    ) -> _Firm | None:
        """The row's borrower (cells as the readers give them: stripped), found or created; a known one must
        agree with the row."""
        firm = self.firms.get(normalise_uscc(raw_uscc))
        if firm is None:
            try:
                clean = validate_enterprise(EnterpriseInput(raw_uscc, name, industry, size))
            except ValidationError as exc:
                problems.extend(exc.problems)
                return None
            firm = _Firm(clean.uscc, clean.name, clean.industry_code, clean.size, [])
            self.firms[clean.uscc] = firm
            self.new_firms.append(firm)
            return firm
        if self.agreed.get(firm.uscc) == (name, industry, size):
            return firm
        known = "已登记" if firm.id is not None else "本文件前面的行"
        before = len(problems)
        if name and name != firm.name:
            problems.append(
                FieldProblem("enterprise_name", name, f"与{known}的企业名称「{firm.name}」不一致 (differs)")
            )
        if industry and normalise_industry(industry) != firm.industry_code:
            problems.append(
                FieldProblem(
                    "industry_code", industry, f"与{known}的行业代码{firm.industry_code}不一致 (differs)"
                )
            )
        if size:
            try:
                given = normalise_size(size)
            except ValueError as exc:
                problems.append(FieldProblem("enterprise_size", size, str(exc)))
            else:
                if given != firm.size:
                    problems.append(
                        FieldProblem(
                            "enterprise_size", size, f"与{known}的企业规模{firm.size}不一致 (differs)"
                        )
                    )
        if len(problems) == before:
            self.agreed[firm.uscc] = (name, industry, size)
        return firm

    def _declared_statuses(
        self,
        firm: _Firm,
        text: str,
        drawn_on: date,
        problems: list[FieldProblem],
        out: list[tuple[_Firm, StatusEntry]],
    ) -> None:
        """Statuses the row declares hold on drawn_on. `名称(起~止)` gives the validity exactly (the export writes
        it so, which makes export → import reproduce every key-area decision); a bare name is taken as valid from
        drawn_on for the status's usual term. One not yet held is added so the row's key-area decision sees it."""
        if not text:
            return
        held = firm.declared.get(text)
        if held is not None:
            for part, entry in held:
                if not entry.valid_on(drawn_on):
                    problems.append(FieldProblem("enterprise_statuses", part, _not_valid_on(entry, drawn_on)))
            return
        dated: list[tuple[str, StatusEntry]] = []
        only_dated, before = True, len(problems)
        for part in text.replace("；", ";").split(";"):
            if not part.strip():
                continue
            try:
                token = self._status_token(part, drawn_on)
            except ValueError as exc:
                problems.append(FieldProblem("enterprise_statuses", part.strip(), str(exc)))
                continue
            if isinstance(token, str):  # a bare name: nothing to add if already held on the day
                only_dated = False
                if token in firm.facts().statuses_on(drawn_on):
                    continue
                entry = StatusEntry(token, drawn_on, default_valid_to(token, drawn_on))
            else:
                dated.append((part.strip(), token))
                if firm.holds(token):
                    continue
                entry = token
            firm.add_status(entry)
            out.append((firm, entry))
        if only_dated and dated and len(problems) == before:
            firm.declared[text] = tuple(dated)

    def _status_token(self, token: str, drawn_on: date) -> StatusEntry | str:
        """parse_status_token, with the parse cached per distinct token (a file repeats the same few): the dated
        entry, which must hold on drawn_on, or a bare token's status name."""
        parsed = self.tokens.get(token)
        if parsed is None:
            m = _STATUS_TOKEN.match(token.strip())
            if m is None:
                parsed = self.tokens[token] = normalise_status(token)
            else:
                end = parse_date(m.group(3)) if m.group(3) else None
                parsed = self.tokens[token] = StatusEntry(
                    normalise_status(m.group(1)), parse_date(m.group(2)), end
                )
        if isinstance(parsed, str):
            return parsed
        if not parsed.valid_on(drawn_on):
            raise ValueError(_not_valid_on(parsed, drawn_on))
        return parsed

    # -- prefetch ----------------------------------------------------------------------------------------------
    def _ledger_keys(self) -> _Found:
        """Every live drawdown's keys, as the per-chunk lookups give them (bill, bank + reference, content), read
        once when duplicates are found in memory (the ledger holds fewer than KEYS_IN_MEMORY drawdowns)."""
        bills: dict[str, list[tuple[int, str, str | None, int]]] = {}
        for row in self.conn.exec_driver_sql(
            "SELECT d.id, d.bill_no, d.tool_code, d.bill_range, d.audit_id FROM drawdown d "
            f"WHERE d.bill_no IS NOT NULL AND {_LIVE}"
        ):
            bills.setdefault(row[1], []).append((row[0], row[2], row[3], row[4]))
        refs = {
            (row[1], row[2]): (row[0], row[3])
            for row in self.conn.exec_driver_sql(
                "SELECT d.id, d.institution_id, d.ext_ref, d.audit_id FROM drawdown d "
                f"WHERE d.ext_ref <> '' AND {_LIVE}"
            )
        }
        keyless = select(_DD, _ENT.c.uscc).join(_ENT, _ENT.c.id == _DD.c.enterprise_id)
        return _Found(bills, refs, self._same(keyless))

    def _probe_indexes(self) -> None:
        """Duplicates in memory no more: the lookup indexes are built over the rows in so far, and the per-chunk
        lookups find those rows from now on; `keys` goes back to the two chunks not yet in the ledger."""
        assert self.deferred is not None
        self.deferred.build(LOOKUP_INDEXES)
        self.ledger_keys = None
        self.keys.forget_older()

    def _live_bills(self, bill_nos: set[str]) -> dict[str, list[tuple[int, str, str | None, int]]]:
        """Live drawdowns holding any of the chunk's bill numbers: IN lists of IN_LIST on SQLite, one array for
        the whole chunk on PostgreSQL (like _live_refs; 7.2 s of the 1M import in IN lists of 500)."""
        found: dict[str, list[tuple[int, str, str | None, int]]] = {}
        if not bill_nos:
            return found
        columns = "SELECT d.id, d.bill_no, d.tool_code, d.bill_range, d.audit_id FROM drawdown d WHERE "
        wanted = sorted(bill_nos)
        queries: list[tuple[str, tuple[Any, ...]]]
        if self.conn.dialect.name == "postgresql":
            queries = [(f"{columns}d.bill_no = ANY(%s::text[]) AND {_LIVE}", (wanted,))]
        else:
            queries = [
                (f"{columns}d.bill_no IN ({', '.join('?' for _ in part)}) AND {_LIVE}", tuple(part))
                for part in _parts(wanted)
            ]
        for sql, parameters in queries:
            for row in self.conn.exec_driver_sql(sql, parameters):
                found.setdefault(row[1], []).append((row[0], row[2], row[3], row[4]))
        return found

    def _live_same(self, keyless: list[tuple[_Firm, date]]) -> dict[tuple[Any, ...], int]:
        """Rows with neither bill nor reference are recognised by their content: a live drawdown of the same
        borrower with the same tool, bank, dates and amounts and no reference. `keyless` holds each such row's
        borrower (known to the ledger) and drawn_on; returns content key → audit id of the match."""
        if not keyless:
            return {}
        uscc_of = {cast(int, firm.id): firm.uscc for firm, _ in keyless}
        firm_ids = sorted(uscc_of)
        first = min(day for _, day in keyless)
        last = max(day for _, day in keyless)
        found: dict[tuple[Any, ...], int] = {}
        for start in range(0, len(firm_ids), IN_LIST):
            found.update(
                self._same(
                    select(_DD).where(
                        _DD.c.enterprise_id.in_(firm_ids[start : start + IN_LIST]),
                        _DD.c.drawn_on.between(first, last),
                    ),
                    uscc_of,
                )
            )
        return found

    def _same(self, query: Select[Any], uscc_of: dict[int, str] | None = None) -> dict[tuple[Any, ...], int]:
        """Content key → audit id of the live drawdowns with neither bill nor reference among those `query` selects
        (with a `uscc` column, or borrower ids to USCCs in `uscc_of`)."""
        found: dict[tuple[Any, ...], int] = {}
        for row in self.conn.execute(
            query.where(_DD.c.ext_ref == "", _DD.c.bill_no.is_(None), not_reversed())
        ).mappings():
            uscc = uscc_of[row["enterprise_id"]] if uscc_of is not None else row["uscc"]
            found[_same_key(row_values("drawdown", cast(Any, row)), uscc)] = row["audit_id"]
        return found

    def _live_refs(self, keys: set[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, int]]:
        """The chunk's (bank, reference) pairs joined to the (institution_id, ext_ref) index: one indexed probe
        per pair. It was one query per bank and 500 references, ~20 a chunk; a row-value IN list would scan the
        table on SQLite.

        Written as SQL text: SQLAlchemy's values() construct compiled 2,000 rows in ~0.1 s. PostgreSQL takes the
        whole chunk as two arrays (unnest): 30 ms per 5,000 pairs on a 1M-row table, where the same pairs as
        VALUES lists of 2,000 took 90 ms (parsing and planning 4,000 parameters, three times a chunk). SQLite
        has no arrays; its VALUES join runs in ~2 ms."""
        found: dict[tuple[int, str], tuple[int, int]] = {}
        if not keys:
            return found
        pairs = sorted(keys)
        live = f"JOIN drawdown d ON d.institution_id = wanted.i AND d.ext_ref = wanted.r WHERE {_LIVE}"
        columns = "SELECT d.id, d.institution_id, d.ext_ref, d.audit_id FROM"
        queries: list[tuple[str, tuple[Any, ...]]]
        if self.conn.dialect.name == "postgresql":
            banks, refs = [p[0] for p in pairs], [p[1] for p in pairs]
            queries = [(f"{columns} unnest(%s::integer[], %s::text[]) AS wanted(i, r) {live}", (banks, refs))]
        else:
            queries = [
                (
                    f"WITH wanted(i, r) AS (VALUES {', '.join('(?, ?)' for _ in part)}) {columns} wanted {live}",
                    tuple(x for pair in part for x in pair),
                )
                for part in (pairs[start : start + PAIRS] for start in range(0, len(pairs), PAIRS))
            ]
        for sql, parameters in queries:
            for row in self.conn.exec_driver_sql(sql, parameters):
                found[(row[1], row[2])] = (row[0], row[3])
        return found

    def _reject(self, row_no: int, problems: list[FieldProblem]) -> None:
        errors = [
            RowError(row_no, FIELD_TO_COLUMN.get(p.field, p.field), p.value, p.rule)
            for p in (problems or [FieldProblem("", "", "无法处理的行 (row could not be processed)")])
        ]
        self.result.rejected += 1
        self.result.error_count += len(errors)
        room = MAX_KEPT_ERRORS - len(self.result.errors)
        if room > 0:
            self.result.errors.extend(errors[:room])
        self.rejects.write(row_no, errors)


def fast_insert_returning_id(conn: Connection, code: str, name: str) -> int:
    """A new bank met in the file: one row, its id needed at once (rare, so a plain insert)."""
    key = conn.execute(insert(Institution).values(code=code, name=name, type="")).inserted_primary_key
    assert key is not None
    return int(key[0])


_STATUS_TOKEN = re.compile(
    r"^(.+?)\s*[（(]\s*([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})\s*[~～至]\s*([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})?\s*[)）]$"
)


def format_status(entry: StatusEntry) -> str:
    """The export's form of a status: name(valid_from~valid_to), open-ended as name(valid_from~)."""
    end = entry.valid_to.isoformat() if entry.valid_to else ""
    return f"{entry.status}({entry.valid_from.isoformat()}~{end})"


def parse_status_token(token: str, drawn_on: date) -> StatusEntry | None:
    """`名称(起~止)` → that entry, which must hold on drawn_on; a bare name → None (caller applies the default);
    raises ValueError for an unknown name or a validity that does not cover drawn_on."""
    m = _STATUS_TOKEN.match(token.strip())
    if m is None:
        normalise_status(token)
        return None
    name = normalise_status(m.group(1))
    start = parse_date(m.group(2))
    end = parse_date(m.group(3)) if m.group(3) else None
    entry = StatusEntry(name, start, end)
    if not entry.valid_on(drawn_on):
        raise ValueError(f"资质有效期{start}~{end or ''}不含发放日{drawn_on} (status not valid on drawn_on)")
    return entry


def _not_valid_on(entry: StatusEntry, drawn_on: date) -> str:
    return f"资质有效期{entry.valid_from}~{entry.valid_to or ''}不含发放日{drawn_on} (status not valid on drawn_on)"


_SAME_IN_FILE = (
    "与本文件中另一行完全相同;如确为两笔请填写业务编号 (identical row twice in this file: give each a ref)"
)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else _iso_day(str(value))


@lru_cache(maxsize=8192)
def _iso_day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _same_key(row: Sequence[Any], uscc: str) -> tuple[Any, ...]:
    """What identifies a drawdown with neither bill nor reference: its canonical row's tool, bank, dates and
    amounts, and the borrower by USCC (an enterprise new to the ledger has no id yet)."""
    return (row[_TOOL], row[_BANK], uscc, row[_DRAWN], row[_MATURITY], row[_AMOUNT], row[_PRINCIPAL])


(
    _TOOL,
    _BANK,
    _FIRM,
    _DRAWN,
    _MATURITY,
    _AMOUNT,
    _PRINCIPAL,
    _BILL,
    _RANGE,
    _REF,
    _KEY_AREA,
    _REASON,
    _OFFICE,
    _MEASURES,
) = (
    DRAWDOWN_POSITION[name]
    for name in (
        "tool_code",
        "institution_id",
        "enterprise_id",
        "drawn_on",
        "maturity_on",
        "amount_fen",
        "principal_fen",
        "bill_no",
        "bill_range",
        "ext_ref",
        "key_area",
        "key_area_reason",
        "office",
        "measures",
    )
)


# What the per-chunk lookups filter and join on (_live_bills, _live_refs, _live_same, _load_firms and statuses_of,
# the new firms' ids read back): the statistics _refresh_statistics keeps current while the tables grow.
_LOOKUP_COLUMNS = (
    "drawdown (bill_no, institution_id, ext_ref, enterprise_id, drawn_on), enterprise (uscc), "
    "enterprise_status (enterprise_id)"
)

# The ledger lookups' "drawdown d is live" condition, as SQL text (services.booking.not_reversed in SQLAlchemy).
_LIVE = "NOT EXISTS (SELECT 1 FROM drawdown_event e WHERE e.drawdown_id = d.id AND e.kind = 'reversal')"


def _parts(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), IN_LIST):
        yield items[start : start + IN_LIST]
