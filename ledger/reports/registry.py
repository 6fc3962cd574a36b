"""The report registry: every generated PDF's sha256 and data fingerprint in report_record, under the audit chain.

Why: reports are printed, signed and archived; years later an auditor must be able to show that a file is the one
the ledger produced. report_record is an append-only ledger table whose rows are covered by their audit record's
digest (ledger.services.audit), so `ledger audit verify` also proves the registry itself was not edited. Re-running
the batch with the same data and --generated-at produces the same bytes, which are already registered: no second row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from ledger.db.models import ReportRecord
from ledger.services.audit import begin_audit

_R = ReportRecord.__table__  # type: ignore[attr-defined]


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


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _registered(row: Any) -> Registered:
    return Registered(
        int(row.id),
        row.tool_code,
        str(row.period),
        str(row.file_name),
        str(row.sha256),
        str(row.data_fingerprint),
        str(row.generated_at),
        int(row.audit_id),
    )


def find_by_sha(conn: Connection, sha256: str) -> list[Registered]:
    return [_registered(r) for r in conn.execute(select(_R).where(_R.c.sha256 == sha256).order_by(_R.c.id))]


def find_by_name(conn: Connection, file_name: str) -> list[Registered]:
    return [
        _registered(r) for r in conn.execute(select(_R).where(_R.c.file_name == file_name).order_by(_R.c.id))
    ]


def record(
    conn: Connection,
    actor: str,
    *,
    tool_code: str | None,
    period: str,
    file_name: str,
    sha256: str,
    data_fingerprint: str,
    generated_at: str,
) -> tuple[Registered, bool]:
    """Registers a generated report; returns (row, created). An identical earlier registration is returned as is."""
    for existing in find_by_sha(conn, sha256):
        if (existing.file_name, existing.tool_code, existing.period) == (file_name, tool_code, period):
            return existing, False
    row = {
        "tool_code": tool_code,
        "period": period,
        "file_name": file_name,
        "sha256": sha256,
        "data_fingerprint": data_fingerprint,
        "generated_at": generated_at,
    }
    audit = begin_audit(conn, actor, "report", "report", file_name, dict(row))
    audit.digest.add("report_record", row)
    new_id = int(conn.execute(insert(ReportRecord).values(**row, audit_id=audit.id)).inserted_primary_key[0])  # type: ignore[index]
    audit.entity_id = str(new_id)
    audit.commit(conn)
    return Registered(
        new_id, tool_code, period, file_name, sha256, data_fingerprint, generated_at, audit.id
    ), True


@dataclass(frozen=True)
class VerifyOutcome:
    """Whether a file's sha256 is registered; `same_name` lists registrations of a file with its name (a changed
    copy of a registered report shows up there, not in `matches`)."""

    path: str
    sha256: str
    matches: list[Registered]
    same_name: list[Registered]

    @property
    def ok(self) -> bool:
        return bool(self.matches)


def verify_file(conn: Connection, path: Path) -> VerifyOutcome:
    sha = sha256_file(path)
    return VerifyOutcome(str(path), sha, find_by_sha(conn, sha), find_by_name(conn, path.name))
