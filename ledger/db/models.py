"""Every table of the ledger, in one module (SQLModel's advice: no circular imports between table modules).

Names come from the glossary and carry units where they help an auditor writing SQL by hand: `_fen` columns are
integer fen (0.01 yuan), `_ppm` columns are integer parts per million per year (1.75 % = 17 500). Ledger tables
(drawdown, drawdown_event, enterprise_status, month_close, audit_log) are append-only: triggers refuse UPDATE and
DELETE on both backends. docs/schema.md describes every table and view.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# Named constraints from the first migration on, so batch-mode ALTERs on SQLite and PostgreSQL agree.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

APPEND_ONLY_TABLES = (
    "drawdown",
    "drawdown_event",
    "enterprise_status",
    "month_close",
    "audit_log",
    "report_record",
    "policy",
)


def _audit_fk() -> ForeignKey:
    """Deferred, so a bulk write can stream its rows and append the audit record (with their digest) last."""
    return ForeignKey("audit_log.id", deferrable=True, initially="DEFERRED")


def _money(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(BigInteger, nullable=nullable)


class AuditLog(SQLModel, table=True):
    """One record per write, chained by sha256 over every field (ledger audit verify walks it).

    `actor` is the authenticated identity (the PostgreSQL login, enforced by a trigger there; the OS account on
    SQLite). Records of mutable tables (users, tools, pending items, banks, firms) carry the row's full state, so
    verify compares every such row with its latest record (ix_audit_log_entity finds them without a full scan)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    recorded_at: str = Field(max_length=40)  # ISO 8601 UTC, text so the hash never depends on a driver
    actor: str = Field(max_length=100)
    action: str = Field(max_length=40, index=True)
    entity: str = Field(max_length=40)
    entity_id: str = Field(default="", max_length=100)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    rows_digest: str = Field(default="", max_length=64)  # sha256 of the ledger rows this record created
    row_count: int = Field(default=0)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class ToolRecord(SQLModel, table=True):
    """The catalogue as loaded by `ledger init`, so auditors can join drawdowns to tool names and terms."""

    __tablename__ = "tool"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=60, unique=True)
    kind: str = Field(max_length=12)
    region: str = Field(max_length=8)
    target: str = Field(max_length=200)
    eligibility: str = Field(max_length=200)
    funding_share_ppm: int | None = Field(default=None)
    max_term_months: int | None = Field(default=None)
    tenors_months: str = Field(default="", max_length=40)
    max_rollovers: int = Field(default=0)
    lend_rate_cap_ppm: int | None = Field(default=None)
    valid_from: date | None = Field(default=None)
    valid_to: date | None = Field(default=None)
    annual_quota_fen: int | None = Field(default=None, sa_column=_money(nullable=True))
    balance_cap_fen: int | None = Field(default=None, sa_column=_money(nullable=True))
    rate_table: str = Field(max_length=40)
    inclusive_small_micro: bool = Field(default=False)


class ToolRate(SQLModel, table=True):
    __tablename__ = "tool_rate"
    __table_args__ = (
        UniqueConstraint("tool_code", "effective_on", "tenor_months", name="uq_tool_rate_point"),
    )
    id: int | None = Field(default=None, primary_key=True)
    tool_code: str = Field(foreign_key="tool.code", max_length=16)
    effective_on: date
    tenor_months: int = Field(default=0)  # 0: any tenor
    rate_ppm: int


class Institution(SQLModel, table=True):
    """A bank that draws central-bank money."""

    __tablename__ = "institution"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    type: str = Field(default="", max_length=40)
    # The PBOC office that handles its drawdowns by default (营业管理部 or a 中心支行); '' when not recorded.
    office: str = Field(default="", max_length=60, sa_column_kwargs={"server_default": ""})


class Enterprise(SQLModel, table=True):
    """An end borrower; its sci-tech statuses are dated rows in enterprise_status."""

    __tablename__ = "enterprise"
    id: int | None = Field(default=None, primary_key=True)
    uscc: str = Field(max_length=18, unique=True)
    name: str = Field(max_length=200, index=True)
    industry_code: str = Field(max_length=5)
    size: str = Field(max_length=8)  # large / medium / small / micro


class EnterpriseStatus(SQLModel, table=True):
    __tablename__ = "enterprise_status"
    __table_args__ = (Index("ix_enterprise_status_lookup", "enterprise_id", "status", "valid_from"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id")
    status: str = Field(max_length=40)
    valid_from: date
    valid_to: date | None = Field(default=None)
    source: str = Field(default="", max_length=200)
    audit_id: int = Field(sa_column_args=[_audit_fk()])


class Drawdown(SQLModel, table=True):
    """One booked drawdown: central-bank money drawn under a tool for one loan or one (sub-)bill. Never edited."""

    __tablename__ = "drawdown"
    __table_args__ = (
        # Covers the share rule and the month figures: the year's sums come from the index alone.
        Index(
            "ix_drawdown_share",
            "drawn_on",
            "tool_code",
            "key_area",
            "institution_id",
            "office",
            "measures",
            "amount_fen",
        ),
        Index("ix_drawdown_bill", "bill_no", "bill_range"),
        Index("ix_drawdown_ref", "institution_id", "ext_ref"),
        Index("ix_drawdown_enterprise", "enterprise_id", "drawn_on"),
        # Covers balances as of a date: what has not yet matured, with what is needed to sum it by tool.
        Index("ix_drawdown_maturity_cover", "maturity_on", "drawn_on", "tool_code", "amount_fen", "id"),
        Index("ix_drawdown_tool_day", "tool_code", "drawn_on"),
        Index("ix_drawdown_audit", "audit_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    tool_code: str = Field(foreign_key="tool.code", max_length=16)
    institution_id: int = Field(foreign_key="institution.id")
    enterprise_id: int = Field(foreign_key="enterprise.id")
    drawn_on: date
    maturity_on: date  # as booked; rollovers are events
    amount_fen: int = Field(sa_column=_money())  # central-bank amount
    principal_fen: int = Field(sa_column=_money())  # underlying loan principal or bill face
    interest_fen: int = Field(default=0, sa_column=_money())  # rediscount interest (face × rate × days / 360)
    cb_rate_ppm: int
    table_rate_ppm: int | None = Field(default=None)  # the rate table's rate on drawn_on; differs → flagged
    lend_rate_ppm: int | None = Field(default=None)  # end borrower's loan or discount rate
    bill_no: str | None = Field(default=None, max_length=30)
    bill_range: str | None = Field(default=None, max_length=30)
    batch_ref: str = Field(default="", max_length=60)
    ext_ref: str = Field(default="", max_length=60)
    key_area: bool
    key_area_reason: str = Field(max_length=200)
    override_reason: str = Field(default="", max_length=500)  # eligibility override, empty when none
    # The PBOC office that handled it (营业管理部, 中关村中心支行 …); '' for drawdowns booked before offices were kept.
    office: str = Field(default="", max_length=60, sa_column_kwargs={"server_default": ""})
    # The measures (other than key_area) its borrower met at booking, comma-joined ('' none); NULL for drawdowns
    # booked before measures were kept (ledger.domain.measures).
    measures: str | None = Field(default=None, max_length=200)
    audit_id: int = Field(sa_column_args=[_audit_fk()])


class DrawdownEvent(SQLModel, table=True):
    """What happens to a drawdown after booking: reversal (冲正), repayment (收回) or rollover (展期)."""

    __tablename__ = "drawdown_event"
    __table_args__ = (
        Index("ix_drawdown_event_drawdown", "drawdown_id", "kind"),
        Index("ix_drawdown_event_kind_day", "kind", "event_on"),
        # One reversal per drawdown, enforced by the database as well as the service.
        Index(
            "uq_drawdown_event_one_reversal",
            "drawdown_id",
            unique=True,
            sqlite_where=text("kind = 'reversal'"),
            postgresql_where=text("kind = 'reversal'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    drawdown_id: int = Field(foreign_key="drawdown.id")
    kind: str = Field(max_length=12)  # reversal / repayment / rollover
    event_on: date
    amount_fen: int | None = Field(default=None, sa_column=_money(nullable=True))  # repayment
    new_maturity_on: date | None = Field(default=None)  # rollover
    reason: str = Field(default="", max_length=500)
    audit_id: int = Field(sa_column_args=[_audit_fk()])


class ShareMonth(SQLModel, table=True):
    """The share rule's figures per month, tool, key-area flag, bank, office and measures: derived, not a ledger
    table.

    Kept in the same transaction as every drawdown and reversal written (ledger.services.share_tally), so a year's
    share reads at most 12 × tools × 2 × banks rows instead of every drawdown of the year. `drawdowns` and
    `amount_fen` are net of reversals; `reversed` and `reversed_fen` count what reversals took out. `ledger audit
    verify` recomputes it from drawdown and drawdown_event and names any group that differs."""

    __tablename__ = "share_month"
    year: int = Field(primary_key=True)
    month: int = Field(primary_key=True)
    tool_code: str = Field(primary_key=True, max_length=16)
    key_area: bool = Field(primary_key=True)
    institution_id: int = Field(primary_key=True)
    office: str = Field(primary_key=True, max_length=60)
    measures: str = Field(primary_key=True, max_length=200)  # as drawdown.measures; '?' for NULL (not kept)
    drawdowns: int
    amount_fen: int = Field(sa_column=_money())
    reversed: int
    reversed_fen: int = Field(sa_column=_money())


class MonthClose(SQLModel, table=True):
    """A closed month (月结): nothing may be booked, reversed or repaid with a date in it."""

    __tablename__ = "month_close"
    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    audit_id: int = Field(sa_column_args=[_audit_fk()])


class ReportRecord(SQLModel, table=True):
    """Every generated PDF with its sha256 and data fingerprint, so an archived copy can be verified."""

    __tablename__ = "report_record"
    id: int | None = Field(default=None, primary_key=True)
    tool_code: str | None = Field(default=None, max_length=16)  # None: the summary report
    period: str = Field(max_length=7)  # YYYY-MM
    file_name: str = Field(max_length=260)
    sha256: str = Field(max_length=64, index=True)
    data_fingerprint: str = Field(max_length=64)
    generated_at: str = Field(max_length=40)
    audit_id: int = Field(sa_column_args=[_audit_fk()])


class AppUser(SQLModel, table=True):
    """A named user and role (operator, checker, auditor, admin)."""

    __tablename__ = "app_user"
    name: str = Field(primary_key=True, max_length=100)
    role: str = Field(max_length=12)
    active: bool = Field(default=True)


class LedgerLock(SQLModel, table=True):
    """One row that every PostgreSQL write locks (`FOR UPDATE`) before it reads the chain's head: appends are
    serialised, and only logins with write grants can take it (a row lock needs UPDATE), so a read-only login can
    never stall bookings, as it could with an advisory lock. SQLite's BEGIN IMMEDIATE already serialises writers."""

    __tablename__ = "ledger_lock"
    id: int = Field(primary_key=True)


class PolicyRecord(SQLModel, table=True):
    """One effective-dated policy value (`ledger policy`): the value of `key` from `effective_from` on, until a
    later record of the same key. Append-only; the newest record wins for the same date. `value` is canonical JSON
    (decimals as text, lists, booleans, null for "not set")."""

    __tablename__ = "policy"
    __table_args__ = (Index("ix_policy_key", "key", "effective_from"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    value: str = Field(sa_column=Column(Text, nullable=False))
    effective_from: date
    reason: str = Field(default="", max_length=500)
    audit_id: int = Field(sa_column_args=[_audit_fk()])


class PendingCommand(SQLModel, table=True):
    """A write above an authority limit, waiting for a different user's approval; counts nowhere until then."""

    __tablename__ = "pending_command"
    __table_args__ = (Index("ix_pending_command_status", "status", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=40)  # book / reverse / import / policy
    payload: str = Field(sa_column=Column(Text, nullable=False))
    tool_code: str = Field(default="", max_length=16)
    amount_fen: int = Field(default=0, sa_column=_money())
    maker: str = Field(max_length=100)
    created_at: str = Field(max_length=40)
    status: str = Field(default="pending", max_length=12)  # pending / approved / rejected
    checker: str | None = Field(default=None, max_length=100)
    decided_at: str | None = Field(default=None, max_length=40)
    decision_reason: str = Field(default="", max_length=500)
    result_id: int | None = Field(default=None)
