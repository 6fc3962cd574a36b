"""The columns of each append-only ledger table that its rows' digest covers, in hashing (and insert) order.

A module of its own with no imports, so the import's checker process can lay out a drawdown row as the ledger
writes it without loading SQLAlchemy (half a second of start-up it would otherwise pay before its first chunk).
"""

from __future__ import annotations

# Columns hashed per ledger table (everything but the surrogate id and the audit link).
LEDGER_COLUMNS: dict[str, tuple[str, ...]] = {
    "drawdown": (
        "tool_code",
        "institution_id",
        "enterprise_id",
        "drawn_on",
        "maturity_on",
        "amount_fen",
        "principal_fen",
        "interest_fen",
        "cb_rate_ppm",
        "table_rate_ppm",
        "lend_rate_ppm",
        "bill_no",
        "bill_range",
        "batch_ref",
        "ext_ref",
        "key_area",
        "key_area_reason",
        "override_reason",
        "office",
        "measures",
    ),
    "drawdown_event": ("drawdown_id", "kind", "event_on", "amount_fen", "new_maturity_on", "reason"),
    "enterprise_status": ("enterprise_id", "status", "valid_from", "valid_to", "source"),
    "month_close": ("month",),
    "report_record": ("tool_code", "period", "file_name", "sha256", "data_fingerprint", "generated_at"),
    "policy": ("key", "value", "effective_from", "reason"),
}


# Columns added after rows were first hashed, with the value a row that predates them holds: a row's digest leaves
# out such a trailing column while it holds that value, so every row hashed before the column existed hashes the
# same. (A drawdown's office is '' and its measures NULL when booked before they were kept.)
OPTIONAL_TAIL: dict[str, tuple[tuple[str, object], ...]] = {"drawdown": (("office", ""), ("measures", None))}

# Where a drawdown row (LEDGER_COLUMNS order) holds what the importer fills in or reads by position.
DRAWDOWN_POSITION: dict[str, int] = {name: i for i, name in enumerate(LEDGER_COLUMNS["drawdown"])}
