"""Canonical text of ledger rows and payloads, so a row hashed when written hashes the same when read back.

One definition serves the writer (digest before insert) and `audit verify` (digest of what the database holds
now); if they ever disagreed every verify would fail, which the tests would show at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Date, DateTime
from sqlmodel import SQLModel

import ledger.db.models  # noqa: F401 - the tables row_values is planned from
from ledger.services.ledger_columns import LEDGER_COLUMNS, OPTIONAL_TAIL


def normalise(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str | bytes):  # pragma: no cover
        return str(value)
    # SQLite hands dates back as text and booleans as 0/1; both normalise above. Anything else is a bug.
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return _CANONICAL(value)


# One encoder, built once: json.dumps with arguments builds a new JSONEncoder per call.
_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=normalise
).encode


_PLAIN = frozenset({str, int, type(None)})  # exactly these types (bool is not int here) are already canonical
# normalise() by exact type, for the types ledger rows hold; anything else takes the general path.
_BY_TYPE: dict[type, Any] = {bool: int, date: date.isoformat, datetime: datetime.isoformat, Decimal: str}
# One encoder for every row digest: json.dumps with arguments builds a new JSONEncoder per call, which was a
# third of the digest's cost in bulk loads. Same settings, same text.
_ROW_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _row_texts() -> Callable[[list[list[Any]]], list[str]]:
    """Each row's JSON text, as _ROW_TEXT writes it. JSONEncoder.encode builds a new C encoder on every call; one
    built here, with the same settings, writes the same text in 60 % of the time (a flat list of str/int/None needs
    no circular-reference markers). Where CPython has no C encoder, _ROW_TEXT itself."""
    make = getattr(json.encoder, "c_make_encoder", None)
    escape = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or escape is None:  # pragma: no cover - CPython always has them
        return lambda rows: list(map(_ROW_TEXT, rows))
    refuse = json.JSONEncoder().default  # the TypeError json.dumps gives for a type it cannot write
    encode = make(None, refuse, escape, None, ":", ",", False, False, True)
    join = "".join
    return lambda rows: [join(encode(row, 0)) for row in rows]


_ROW_TEXTS = _row_texts()


def _typed_positions(table: str) -> tuple[int, ...]:
    """Where a row of `table` holds dates and booleans (the only non-canonical values a ledger row has: money and
    rates are integers, everything else text), found from the models so a new column cannot be missed."""
    columns = SQLModel.metadata.tables[table].columns
    return tuple(
        i
        for i, name in enumerate(LEDGER_COLUMNS[table])
        if isinstance(columns[name].type, Date | DateTime | Boolean)
    )


def _getter(columns: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(columns) == 1:
        (only,) = columns
        return lambda row: (row[only],)
    return itemgetter(*columns)


# Per table: the columns' values in one C call, and the positions that may need normalising. A bulk load digests
# a million rows; normalising all 18 values of each took 7 s of a 90 s import, these 3 take a fraction.
_ROW_PLAN = {table: (_getter(columns), _typed_positions(table)) for table, columns in LEDGER_COLUMNS.items()}


def row_values(table: str, row: Mapping[str, Any]) -> list[Any]:
    """The row's values in LEDGER_COLUMNS order, canonical (dates ISO text, booleans 0/1). A value of another
    type in a text or integer column is left for the JSON encoder to refuse, as it refuses any non-JSON type."""
    get, typed = _ROW_PLAN[table]
    values = list(get(row))
    for i in typed:
        value = values[i]
        if (kind := type(value)) not in _PLAIN:
            values[i] = _BY_TYPE.get(kind, normalise)(value)
    return values


def canonical_rows(table: str, rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """Rows read back in LEDGER_COLUMNS order, made canonical exactly as row_values makes a row being written (only
    the date and boolean positions can differ between drivers); `audit verify` digests a million rows through it."""
    typed = _ROW_PLAN[table][1]
    out = []
    for row in rows:
        values = list(row)
        for i in typed:
            value = values[i]
            if (kind := type(value)) not in _PLAIN:
                values[i] = _BY_TYPE.get(kind, normalise)(value)
        out.append(values)
    return out


# Per table with an optional tail: how many columns precede it, and each tail column's "absent" value.
_TAILS = {
    table: (len(LEDGER_COLUMNS[table]) - len(tail), tuple(absent for _, absent in tail))
    for table, tail in OPTIONAL_TAIL.items()
}


def _trimmed(rows: list[list[Any]], base: int, absent: tuple[Any, ...]) -> list[list[Any]]:
    """Rows without their trailing optional columns while these hold the value of a row that predates them
    (OPTIONAL_TAIL), so such a row's text, and digest, are what they were before the columns existed."""
    out = rows
    for i, row in enumerate(rows):
        end = len(row)
        while end > base and _is_absent(row[end - 1], absent[end - 1 - base]):
            end -= 1
        if end != len(row):
            if out is rows:
                out = list(rows)
            out[i] = row[:end]
    return out


def _is_absent(value: Any, absent: Any) -> bool:
    return value is None if absent is None else (type(value) is type(absent) and value == absent)


class RowsDigest:
    """Incremental sha256 over the ledger rows one audit record created, table by table, in id order."""

    def __init__(self) -> None:
        self._per_table: dict[str, Any] = {}
        self.count = 0

    def add(self, table: str, row: Mapping[str, Any]) -> None:
        self.add_values(table, row_values(table, row))

    def add_values(self, table: str, values: Sequence[Any]) -> None:
        self.add_rows(table, [list(values)])

    def add_rows(self, table: str, rows: list[list[Any]]) -> None:
        """Rows of canonical values (row_values), each hashed as its JSON text and a newline; many rows in one
        update (bulk writes), the same bytes as one at a time."""
        if not rows:
            return
        if table in _TAILS:
            rows = _trimmed(rows, *_TAILS[table])
        hasher = self._per_table.get(table)
        if hasher is None:
            hasher = self._per_table[table] = hashlib.sha256()
        # A list of str/int/None: the C encoder needs neither sort_keys nor a default hook (bulk-load hot path).
        hasher.update(("\n".join(_ROW_TEXTS(rows)) + "\n").encode())
        self.count += len(rows)

    def add_many(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.add(table, row)

    def hexdigest(self) -> str:
        if not self._per_table:
            return ""
        parts = [f"{t}:{self._per_table[t].hexdigest()}" for t in sorted(self._per_table)]
        return hashlib.sha256(";".join(parts).encode()).hexdigest()
