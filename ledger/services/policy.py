"""Policy in the ledger: effective-dated, audited records, so no caller's file or environment chooses a control.

Every control a booking is judged by — authority limits, annual quotas and balance caps, the share threshold and
which statuses and industries count as key areas, the 普惠 per-borrower cap, the rate table each Beijing product
follows — is a record (key, value, effective_from, reason) in the append-only `policy` table, under the audit
chain. The value in force on a date is the latest record of its key effective on or before it (the newest record
wins for the same date). A rule uses the policy in force on the drawdown's date (`PolicyBook.config_on`).

How values get there:
- `ledger init` on a ledger without policy loads the packaged defaults, overlaid once by `--policy FILE` or, for a
  ledger upgraded from the file-configured version, its ledger.toml's policy sections; all effective from
  POLICY_EPOCH (the first date the ledger accepts), in one audited record naming the source.
- After that only `ledger policy set KEY VALUE --from DATE --reason TEXT` (an admin) changes a value, through the
  pending queue: a second admin or a checker approves it (ledger.services.approval).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ledger.config import Config, check_policy, default_policy
from ledger.db.models import PolicyRecord
from ledger.services.audit import begin_audit
from ledger.services.canonical import canonical_json
from ledger.tools import DatedCatalogue

POLICY_EPOCH = date(1990, 1, 1)
_P = PolicyRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PolicyEntry:
    id: int
    key: str
    value: Any
    effective_from: date
    reason: str
    audit_id: int


@dataclass
class PolicyBook:
    """Every policy record; answers "what was in force on this date" from memory (a few dozen records)."""

    entries: list[PolicyEntry]
    _dates: list[date] = field(init=False)
    _memo: dict[int, Config] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.entries.sort(key=lambda e: (e.effective_from, e.id))
        self._dates = sorted({e.effective_from for e in self.entries})

    @property
    def empty(self) -> bool:
        return not self.entries

    def flat_on(self, day: date) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for entry in self.entries:  # in (effective_from, id) order: the last one wins
            if entry.effective_from > day:
                break
            out[entry.key] = entry.value
        return out

    def entries_on(self, day: date) -> dict[str, PolicyEntry]:
        out: dict[str, PolicyEntry] = {}
        for entry in self.entries:
            if entry.effective_from > day:
                break
            out[entry.key] = entry
        return out

    def config_on(self, day: date) -> Config:
        """The policy in force on `day`, built once per change point (a bulk load asks per row)."""
        version = bisect_right(self._dates, day)
        config = self._memo.get(version)
        if config is None:
            flat = {**default_policy(), **self.flat_on(day)} if self.entries else default_policy()
            config = self._memo[version] = check_policy(flat, f"policy as of {day.isoformat()}")
        return config

    def dated_catalogue(self) -> DatedCatalogue:
        """Every configured catalogue by the date it took effect (for a checker process judging a whole file)."""
        starts = self._dates or [POLICY_EPOCH]
        return DatedCatalogue([(day, self.config_on(day).catalogue) for day in starts])

    def change_points(self, after: date) -> list[date]:
        return [d for d in self._dates if d > after]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def load_policy(conn: Connection) -> PolicyBook:
    rows = conn.execute(select(_P).order_by(_P.c.id)).mappings()
    return PolicyBook(
        [
            PolicyEntry(
                int(r["id"]),
                str(r["key"]),
                json.loads(r["value"]),
                _as_date(r["effective_from"]),
                str(r["reason"]),
                int(r["audit_id"]),
            )
            for r in rows
        ]
    )


class PolicyCache:
    """The last PolicyBook read, kept while the policy table is unchanged. The table is append-only, so its
    (highest id, row count) names its content; checking that is one index probe, where reading and parsing every
    record again (and the catalogue for each date) cost more than the booking itself."""

    def __init__(self) -> None:
        self._stamp: tuple[int, int] | None = None
        self._book: PolicyBook | None = None

    def get(self, conn: Connection) -> PolicyBook:
        highest, count = conn.execute(select(func.coalesce(func.max(_P.c.id), 0), func.count())).one()
        stamp = (int(highest), int(count))
        if self._book is None or stamp != self._stamp:
            self._book, self._stamp = load_policy(conn), stamp
        return self._book

    def clear(self) -> None:
        self._stamp, self._book = None, None


def record_values(
    conn: Connection,
    actor: str,
    values: Mapping[str, Any],
    effective_from: date,
    reason: str,
    action: str,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Writes policy records (one per key) under one audit record whose digest covers them; returns its id."""
    audit = begin_audit(
        conn,
        actor,
        action,
        "policy",
        ",".join(sorted(values)) if len(values) <= 3 else f"{len(values)} keys",
        {
            **(extra or {}),
            "values": dict(values),
            "effective_from": effective_from.isoformat(),
            "reason": reason,
        },
    )
    for key in sorted(values):
        row = {
            "key": key,
            "value": canonical_json(values[key]),
            "effective_from": effective_from,
            "reason": reason,
        }
        audit.digest.add("policy", row)
        conn.execute(insert(_P).values(**row, audit_id=audit.id))
    return audit.commit(conn)


def initial_load(conn: Connection, actor: str, overlay: Mapping[str, Any], source: str) -> bool:
    """The first policy of a ledger (defaults, overlaid by `overlay`): only when the ledger has none yet."""
    if conn.execute(select(_P.c.id).limit(1)).first() is not None:
        return False
    values = {**default_policy(), **overlay}
    check_policy(values, source)
    record_values(
        conn,
        actor,
        values,
        POLICY_EPOCH,
        f"初始政策 (initial policy: {source})",
        "policy_init",
        {"source": source},
    )
    return True


def add_new_keys(conn: Connection, actor: str) -> list[str]:
    """Keys a newer version of the ledger knows and this ledger has never recorded, at their defaults (an upgrade
    writes them into the chain rather than applying unrecorded values)."""
    book = load_policy(conn)
    if book.empty:
        return []
    known = {e.key for e in book.entries}
    missing = {k: v for k, v in default_policy().items() if k not in known}
    if missing:
        record_values(
            conn, actor, missing, POLICY_EPOCH, "升级新增的政策项 (keys added by an upgrade)", "policy_init"
        )
    return sorted(missing)


def validate_change(book: PolicyBook, key: str, value: Any, effective_from: date) -> None:
    """The change must give a valid policy on its date and at every later change point (where other keys change
    while this value is still in force); raises ConfigError naming the key."""
    for day in [effective_from, *book.change_points(effective_from)]:
        flat = {**default_policy(), **book.flat_on(day)}
        later = [e for e in book.entries if e.key == key and effective_from < e.effective_from <= day]
        if not later:
            flat[key] = value
        check_policy(flat, f"policy as of {day.isoformat()}")
