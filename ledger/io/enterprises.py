"""`ledger import enterprises`: the enterprise directory (科创企业名录 and the like) with dated statuses.

One row per enterprise and status (an enterprise without a status has the status cell empty). All or nothing in
one transaction, like the drawdown import: every problem of every row is collected and nothing is written if there
is one. Idempotent: a known enterprise that agrees, and a status already held from the same date, are skipped.
New statuses go under one audit record; each new enterprise gets the 'create' record `add-enterprise` writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, select
from sqlalchemy import Table as SqlTable

from ledger.db.models import Enterprise
from ledger.domain.dates import parse_date
from ledger.domain.enterprise import StatusEntry, normalise_status
from ledger.domain.errors import FieldProblem, ValidationError
from ledger.facade import Ledger
from ledger.io.columns import ENTERPRISE_COLUMNS, ENTERPRISE_REQUIRED, map_header
from ledger.io.importer import MAX_KEPT_ERRORS
from ledger.io.readers import file_sha256, open_table
from ledger.io.rejects import RejectsFile, RowError
from ledger.services.audit import append_many, begin_audit, reference_payload
from ledger.services.bulk import fast_insert, write_ledger_rows
from ledger.services.reference import EnterpriseInput, default_valid_to, statuses_of, validate_enterprise

_ENT = cast(SqlTable, Enterprise.__table__)  # type: ignore[attr-defined]


@dataclass
class EnterpriseImportResult:
    path: str
    dry_run: bool
    rows: int = 0
    new_enterprises: int = 0
    new_statuses: int = 0
    skipped: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    ignored_columns: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_count == 0


def import_enterprises(
    ledger: Ledger,
    path: str | Path,
    *,
    dry_run: bool = False,
    rejects: str | Path | None = None,
    force: bool = False,
) -> EnterpriseImportResult:
    """The directory is thousands of rows, not millions: it is read whole, checked, then written at once."""
    started = time.perf_counter()
    ledger.authorize("import", Path(path).name)  # role check (operator); a refusal is audited, nothing read
    table = open_table(path)
    header, problems = map_header(table.header, ENTERPRISE_COLUMNS, ENTERPRISE_REQUIRED, ())
    if problems:
        raise ValidationError(problems)
    result = EnterpriseImportResult(str(path), dry_run, ignored_columns=header.ignored)
    rejects_file = RejectsFile(rejects, table.header, force=force, protect=ledger.own_files)
    records = [
        (n, raw, {name: raw[i] for name, i in header.index.items()})
        for n, raw in enumerate(table.rows, start=1)
    ]
    result.rows = len(records)
    try:
        with ledger.connect() as conn:
            transaction = conn.begin()
            try:
                known: dict[str, tuple[int | None, EnterpriseInput, list[StatusEntry]]] = {}
                codes = list({r[2].get("enterprise_uscc", "").strip().upper() for r in records})
                for start in range(0, len(codes), 500):
                    rows = conn.execute(
                        select(
                            _ENT.c.id,
                            _ENT.c.uscc,
                            _ENT.c.name,
                            _ENT.c.industry_code,
                            _ENT.c.size,
                        ).where(_ENT.c.uscc.in_(codes[start : start + 500]))
                    ).all()
                    by_id = statuses_of(conn, [r[0] for r in rows])
                    for r in rows:
                        known[r[1]] = (r[0], EnterpriseInput(r[1], r[2], r[3], r[4]), list(by_id[r[0]]))
                new_firms: list[EnterpriseInput] = []
                new_statuses: list[tuple[str, StatusEntry, str]] = []
                for row_no, raw, fields in records:
                    row_problems: list[FieldProblem] = []
                    clean: EnterpriseInput | None = None
                    try:
                        clean = validate_enterprise(
                            EnterpriseInput(
                                fields.get("enterprise_uscc", ""),
                                fields.get("enterprise_name", ""),
                                fields.get("industry_code", ""),
                                fields.get("enterprise_size", ""),
                            )
                        )
                    except ValidationError as exc:
                        row_problems.extend(exc.problems)
                    entry = _status(fields, row_problems)
                    if clean is not None:
                        held_entry = known.get(clean.uscc)
                        if held_entry is None:
                            known[clean.uscc] = (None, clean, [])
                            new_firms.append(clean)
                        else:
                            current = held_entry[1]
                            for name, mine, theirs in (
                                ("enterprise_name", clean.name, current.name),
                                ("industry_code", clean.industry_code, current.industry_code),
                                ("enterprise_size", clean.size, current.size),
                            ):
                                if mine != theirs:
                                    row_problems.append(
                                        FieldProblem(
                                            name,
                                            mine,
                                            f"与已登记的「{theirs}」不一致 (differs from the ledger; use update-enterprise)",
                                        )
                                    )
                        if entry is not None and not row_problems:
                            held = known[clean.uscc][2]
                            if any(
                                s.status == entry.status and s.valid_from == entry.valid_from for s in held
                            ):
                                result.skipped += 1
                            else:
                                held.append(entry)
                                new_statuses.append((clean.uscc, entry, fields.get("source", "")))
                    if row_problems:
                        errors = [RowError(row_no, p.field, p.value, p.rule) for p in row_problems]
                        result.rejected += 1
                        result.error_count += len(errors)
                        result.errors.extend(errors[: max(0, MAX_KEPT_ERRORS - len(result.errors))])
                        rejects_file.write(row_no, raw, errors)
                if result.ok:
                    _write(conn, ledger.actor, path, new_firms, new_statuses, result)
                if result.ok and not dry_run:
                    transaction.commit()
                else:
                    transaction.rollback()
            except BaseException:
                transaction.rollback()
                raise
    finally:
        rejects_file.close()
    result.seconds = time.perf_counter() - started
    return result


def _status(fields: dict[str, str], problems: list[FieldProblem]) -> StatusEntry | None:
    name = fields.get("status", "").strip()
    if not name:
        return None
    try:
        status = normalise_status(name)
    except ValueError as exc:
        problems.append(FieldProblem("status", name, str(exc)))
        return None
    dates: list[date | None] = []
    for column in ("valid_from", "valid_to"):
        text = fields.get(column, "").strip()
        if not text:
            if column == "valid_from":
                problems.append(
                    FieldProblem("valid_from", "", "有资质时有效期起必填 (required with a status)")
                )
            dates.append(None)
            continue
        try:
            dates.append(parse_date(text))
        except ValueError as exc:
            problems.append(FieldProblem(column, text, str(exc)))
            return None
    valid_from, valid_to = dates
    if valid_from is None:
        return None
    end = valid_to if valid_to is not None else default_valid_to(status, valid_from)
    if end is not None and end < valid_from:
        problems.append(
            FieldProblem("valid_to", end.isoformat(), "有效期止不得早于起 (valid_to before valid_from)")
        )
        return None
    return StatusEntry(status, valid_from, end)


def _write(
    conn: Connection,
    actor: str,
    path: str | Path,
    firms: list[EnterpriseInput],
    statuses: list[tuple[str, StatusEntry, str]],
    result: EnterpriseImportResult,
) -> None:
    if firms:
        fast_insert(
            conn,
            "enterprise",
            ("uscc", "name", "industry_code", "size"),
            [(f.uscc, f.name, f.industry_code, f.size) for f in firms],
        )
        result.new_enterprises = len(firms)
    if statuses:
        ids: dict[str, int] = {}
        codes = list({u for u, _, _ in statuses})
        for start in range(0, len(codes), 500):
            for uscc, new_id in conn.execute(
                select(_ENT.c.uscc, _ENT.c.id).where(_ENT.c.uscc.in_(codes[start : start + 500]))
            ):
                ids[uscc] = new_id
        audit = begin_audit(conn, actor, "import", "enterprise_status", Path(path).name)
        default_source = f"导入 {Path(path).name}"
        result.new_statuses = write_ledger_rows(
            conn,
            audit,
            "enterprise_status",
            [
                {
                    "enterprise_id": ids[u],
                    "status": s.status,
                    "valid_from": s.valid_from,
                    "valid_to": s.valid_to,
                    "source": source or default_source,
                }
                for u, s, source in statuses
            ],
        )
        audit.payload = {
            "file": Path(path).name,
            "sha256": file_sha256(path),
            "rows": result.rows,
            "new_enterprises": result.new_enterprises,
            "new_statuses": result.new_statuses,
        }
        audit.commit(conn)
    append_many(
        conn, actor, [("create", "enterprise", f.uscc, reference_payload("enterprise", f)) for f in firms]
    )
