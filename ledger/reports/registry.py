"""The report registry: every generated PDF's sha256 and data fingerprint in report_record, under the audit chain.

Why: reports are printed, signed and archived; years later an auditor must be able to show that a file is the one
the ledger produced. report_record is an append-only ledger table whose rows are covered by their audit record's
digest (ledger.services.audit), so `ledger audit verify` also proves the registry itself was not edited.

A registration is made before its PDF is drawn, because every page prints it: the registration number, the data
fingerprint, the audit chain's head just before the registration (an anchor `audit verify` holds the chain to, as a
month close's is) and whether the figures are preliminary (初步数, month not closed) or final. Those, with the edition
and the body face, are in the registration's audit record (hashed into the chain), so no column was added.
Re-running with the same data (same tool, month, edition, face and status) reuses the registration: the PDF is drawn
with its number, head and generation time again, so it is byte-identical to the registered one.
A later registration of the same tool and month with another fingerprint supersedes the earlier ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from ledger.db.models import ReportRecord
from ledger.services.audit import PendingAudit, begin_audit, serialise_writes

_R = ReportRecord.__table__  # type: ignore[attr-defined]


PRELIMINARY = "preliminary"
FINAL = "final"


@dataclass(frozen=True)
class Registered:
    id: int
    tool_code: str | None
    period: str
    file_name: str
    sha256: str
    data_fingerprint: str
    generated_at: str
    audit_id: int
    status: str = ""  # preliminary | final ("" for a registration made before statuses were recorded)
    edition: str = ""
    font: str = ""
    head: tuple[int, str] | None = None  # the audit chain's head just before the registration


@dataclass(frozen=True)
class Stamp:
    """What every page of a report prints about its registration."""

    number: int
    fingerprint: str
    head: tuple[int, str]
    status: str
    generated_at: str


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_SELECT = (
    "SELECT r.id, r.tool_code, r.period, r.file_name, r.sha256, r.data_fingerprint, r.generated_at, r.audit_id, "
    "a.payload FROM report_record r JOIN audit_log a ON a.id = r.audit_id "
)


def _registered(row: Any) -> Registered:
    try:
        payload = json.loads(row.payload) if row.payload else {}
    except ValueError:
        payload = {}
    head = payload.get("head")
    return Registered(
        int(row.id),
        row.tool_code,
        str(row.period),
        str(row.file_name),
        str(row.sha256),
        str(row.data_fingerprint),
        str(row.generated_at),
        int(row.audit_id),
        str(payload.get("status", "")),
        str(payload.get("edition", "")),
        str(payload.get("font", "")),
        (int(head[0]), str(head[1])) if isinstance(head, list) and len(head) == 2 else None,
    )


def _fetch(conn: Connection, where: str, params: dict[str, Any]) -> list[Registered]:
    return [_registered(r) for r in conn.execute(text(f"{_SELECT}WHERE {where} ORDER BY r.id"), params)]


def find_by_sha(conn: Connection, sha256: str) -> list[Registered]:
    return _fetch(conn, "r.sha256 = :s", {"s": sha256})


def find_by_name(conn: Connection, file_name: str) -> list[Registered]:
    return _fetch(conn, "r.file_name = :f", {"f": file_name})


def of_report(conn: Connection, tool_code: str | None, period: str) -> list[Registered]:
    """Every registration of one tool's (or the summary's) report for one month, oldest first."""
    if tool_code is None:
        return _fetch(conn, "r.tool_code IS NULL AND r.period = :p", {"p": period})
    return _fetch(conn, "r.tool_code = :t AND r.period = :p", {"t": tool_code, "p": period})


def reusable(
    conn: Connection,
    *,
    tool_code: str | None,
    period: str,
    file_name: str,
    data_fingerprint: str,
    status: str,
    edition: str,
    font: str,
) -> Registered | None:
    """The registration a re-run with the same data reuses: the same report, edition, face and status, and no
    later registration of the report with other data (a re-run after that is a new registration)."""
    found = None
    for reg in of_report(conn, tool_code, period):
        if reg.data_fingerprint != data_fingerprint:
            found = None
        elif (reg.file_name, reg.status, reg.edition, reg.font) == (file_name, status, edition, font):
            found = found or reg
    return found


def superseded_by(conn: Connection, reg: Registered) -> Registered | None:
    """The latest later registration of the same tool and month with another data fingerprint, if any."""
    later = [
        r
        for r in of_report(conn, reg.tool_code, reg.period)
        if r.id > reg.id and r.data_fingerprint != reg.data_fingerprint
    ]
    return later[-1] if later else None


def _next_id(conn: Connection) -> int:
    """The next registration number: the id sequence's next value on PostgreSQL (so a row inserted by default
    later cannot collide), the next rowid on SQLite (under the write lock, nobody else inserts meanwhile)."""
    if conn.dialect.name == "postgresql":
        return int(
            conn.execute(text("SELECT nextval(pg_get_serial_sequence('report_record', 'id'))")).scalar_one()
        )
    last = conn.execute(select(func.max(ReportRecord.__table__.c.id))).scalar()  # type: ignore[attr-defined]
    return int(last or 0) + 1


class Registration:
    """A registration being made inside the caller's write transaction: `stamp` is known (number, head) before the
    PDF is drawn; `commit(sha256)` writes the row and its audit record."""

    def __init__(
        self,
        conn: Connection,
        actor: str,
        *,
        tool_code: str | None,
        period: str,
        file_name: str,
        data_fingerprint: str,
        generated_at: str,
        status: str,
        edition: str,
        font: str,
    ) -> None:
        self.conn = conn
        self.row: dict[str, Any] = {
            "tool_code": tool_code,
            "period": period,
            "file_name": file_name,
            "sha256": "",
            "data_fingerprint": data_fingerprint,
            "generated_at": generated_at,
        }
        self.audit: PendingAudit = begin_audit(conn, actor, "report", "report", file_name, {})
        # The head just before this record: an anchor for `audit verify` (it reads "head" of 'report' records).
        head = (self.audit.id - 1, self.audit.prev_hash)
        self.head = head
        self.extra: dict[str, Any] = {
            "status": status,
            "edition": edition,
            "font": font,
            "head": [head[0], head[1]],
        }
        # Numbers are given here, under the write lock, so the page can print one before the row exists.
        self.id = _next_id(conn)
        self.stamp = Stamp(self.id, data_fingerprint, head, status, generated_at)

    def commit(self, sha256: str) -> Registered:
        row = {**self.row, "sha256": sha256}
        self.audit.payload.update({**row, **self.extra})
        self.audit.entity_id = str(self.id)
        self.audit.digest.add("report_record", row)
        self.conn.execute(insert(ReportRecord).values(id=self.id, **row, audit_id=self.audit.id))
        self.audit.commit(self.conn)
        return Registered(
            self.id,
            row["tool_code"],
            row["period"],
            row["file_name"],
            sha256,
            row["data_fingerprint"],
            row["generated_at"],
            self.audit.id,
            self.extra["status"],
            self.extra["edition"],
            self.extra["font"],
            self.head,
        )


def lock(conn: Connection) -> None:
    """The ledger's write lock, held while a report is matched to its registration, drawn and registered."""
    serialise_writes(conn)


@dataclass(frozen=True)
class VerifyOutcome:
    """Whether a file's sha256 is registered; `same_name` lists registrations of a file with its name (a changed
    copy of a registered report shows up there, not in `matches`); `superseded` maps a match's number to the later
    registration of the same report with other data."""

    path: str
    sha256: str
    matches: list[Registered]
    same_name: list[Registered]
    superseded: dict[int, Registered]

    @property
    def ok(self) -> bool:
        return bool(self.matches) and not any(m.id in self.superseded for m in self.matches)


def verify_file(conn: Connection, path: Path) -> VerifyOutcome:
    sha = sha256_file(path)
    matches = find_by_sha(conn, sha)
    superseded = {m.id: s for m in matches if (s := superseded_by(conn, m)) is not None}
    return VerifyOutcome(str(path), sha, matches, find_by_name(conn, path.name), superseded)
