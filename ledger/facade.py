"""`Ledger`: the one object every face talks to (Fava's FavaLedger shape).

It owns the engine, the configuration and the acting user, opens a transaction per write, and delegates to the
service modules. The CLI, the TUI and the report batch call the same methods, so no face holds business logic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine

from ledger.config import Config, load_config
from ledger.db.engine import make_engine, resolve_url, schema_ready, upgrade
from ledger.domain.errors import LedgerError
from ledger.rules import checks as rule_checks
from ledger.rules import share as share_rules
from ledger.services import approval, audit, balances, booking, closing, events, reference, sqlconsole, users
from ledger.services import backup as backups
from ledger.services.catalogue_sync import sync_catalogue
from ledger.services.drawdown_rules import BookingRequest, PreparedDrawdown
from ledger.tools import Tool


class SchemaMissing(LedgerError):
    """The database has no ledger schema yet: run `ledger init`."""


@dataclass(frozen=True)
class InitResult:
    url: str
    tools_changed: list[str]


class Ledger:
    def __init__(
        self,
        db: str | None = None,
        actor: str | None = None,
        config: Config | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.url = resolve_url(db) if engine is None else engine.url.render_as_string(hide_password=False)
        self.engine = engine or make_engine(self.url)
        self.config = config or load_config()
        self.actor = audit.current_actor(actor)
        self._ro_engine: Engine | None = None

    # -- plumbing ----------------------------------------------------------------------------------------------
    @property
    def catalogue(self):  # type: ignore[no-untyped-def]
        return self.config.catalogue

    def tool(self, code_or_name: str) -> Tool:
        found = self.config.catalogue.find(code_or_name)
        if found is None:
            raise LedgerError(f"tool={code_or_name!r}: 未知工具 (unknown tool; `ledger tools` lists them)")
        return found

    @property
    def read_only_engine(self) -> Engine:
        """For the SQL console: SQLite opened with mode=ro; PostgreSQL as is, with READ ONLY transactions."""
        if self._ro_engine is None:
            self._ro_engine = (
                make_engine(self.url, read_only=True) if self.url.startswith("sqlite") else self.engine
            )
        return self._ro_engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection: on SQLite a deferred snapshot that never takes the write lock."""
        with self.read_only_engine.connect() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection that may write inside an explicit `conn.begin()` (the importer's one transaction)."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def write(self, action: str, detail: str = "") -> Iterator[Connection]:
        """A write transaction for `action` (users.PERMISSIONS), checked inside it; a refusal is audited apart.

        The refused write rolls back, so the refusal's audit record is appended in a transaction of its own.
        """
        try:
            with self.engine.begin() as conn:
                users.require(conn, self.actor, action)
                yield conn
        except users.Refused as exc:
            with self.engine.begin() as conn:
                users.log_refusal(conn, exc.actor, exc.action, str(exc), detail)
            raise

    def require_schema(self) -> None:
        if not schema_ready(self.engine):
            raise SchemaMissing(f"数据库未初始化,请先运行 ledger init ({self.url})")

    def init(self) -> InitResult:
        upgrade(self.engine)
        with self.transaction() as conn:
            changed = sync_catalogue(conn, self.config.catalogue, self.actor)
            users.ensure_auditor_db_role(conn)
        return InitResult(self.url, changed)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._ro_engine is not None and self._ro_engine is not self.engine:
            self._ro_engine.dispose()

    # -- reference data ----------------------------------------------------------------------------------------
    def add_institution(self, code: str, name: str, type_: str = "") -> int:
        with self.write("reference", code) as conn:
            return reference.add_institution(conn, self.actor, code, name, type_)

    def add_enterprise(self, uscc: str, name: str, industry_code: str, size: str) -> int:
        with self.write("reference", uscc) as conn:
            return reference.add_enterprise(
                conn, self.actor, reference.EnterpriseInput(uscc, name, industry_code, size)
            )

    def update_enterprise(self, uscc: str, name: str, industry_code: str, size: str) -> None:
        with self.write("reference", uscc) as conn:
            reference.update_enterprise(
                conn, self.actor, reference.EnterpriseInput(uscc, name, industry_code, size)
            )

    def add_status(
        self, uscc: str, status: str, valid_from: date, valid_to: date | None = None, source: str = ""
    ) -> int:
        with self.write("reference", uscc) as conn:
            return reference.add_status(conn, self.actor, uscc, status, valid_from, valid_to, source)

    # -- drawdowns ---------------------------------------------------------------------------------------------
    def preview(self, request: BookingRequest) -> PreparedDrawdown:
        """Runs every booking rule without writing: the TUI form validates and previews with this."""
        with self.read() as conn:
            return booking.prepare(conn, self.config, request)

    def book(self, request: BookingRequest) -> booking.Booked | approval.Queued:
        """Books, or (above the tool's authority limit) queues for a checker: see services/approval.py."""
        with self.write("book") as conn:
            return approval.book_or_queue(conn, self.config, self.actor, request)

    def reverse(self, drawdown_id: int, reason: str, on: date | None = None) -> int | approval.Queued:
        """The reversal event id, or a Queued item when the drawdown is above the authority limit."""
        with self.write("event", str(drawdown_id)) as conn:
            return approval.reverse_or_queue(conn, self.config, self.actor, drawdown_id, reason, on)

    def repay(self, drawdown_id: int, on: Any, amount: Any = None, reason: str = "") -> int:
        with self.write("event", str(drawdown_id)) as conn:
            return events.repay(conn, self.actor, drawdown_id, on, amount, reason)

    def rollover(self, drawdown_id: int, to: Any, reason: str = "") -> int:
        with self.write("event", str(drawdown_id)) as conn:
            return events.rollover(conn, self.config, self.actor, drawdown_id, to, reason)

    def state(self, drawdown_id: int) -> events.DrawdownState:
        with self.read() as conn:
            return events.drawdown_state(conn, drawdown_id)

    def close_month(self, month: str) -> None:
        with self.write("close", month) as conn:
            closing.close_month(conn, self.actor, month)

    def closed_months(self) -> set[str]:
        with self.read() as conn:
            return closing.closed_months(conn)

    def outstanding(self, as_of: date, tool: str | None = None) -> list[balances.Outstanding]:
        code = self.tool(tool).code if tool else None
        with self.read() as conn:
            return balances.outstanding(conn, as_of, code)

    # -- four eyes, users, backup (services/approval.py, users.py, backup.py) -------------------------------------
    def pending(self, status: str | None = "pending") -> list[approval.PendingItem]:
        with self.read() as conn:
            return approval.list_pending(conn, status)

    def approve(self, pending_id: int) -> tuple[approval.PendingItem, int]:
        """Books (or reverses) the maker's request as the checker; a rule failing now leaves the item pending."""
        try:
            with self.write("approve", str(pending_id)) as conn:
                return approval.approve(conn, self.config, self.actor, pending_id)
        except users.Refused:
            raise
        except LedgerError as exc:
            with self.transaction() as conn:
                approval.log_failed_approval(conn, self.actor, pending_id, str(exc))
            raise

    def reject(self, pending_id: int, reason: str) -> approval.PendingItem:
        with self.write("approve", str(pending_id)) as conn:
            return approval.reject(conn, self.actor, pending_id, reason)

    def authorize(self, action: str, detail: str = "") -> None:
        """Checks `action` for the acting user now, auditing a refusal: for writers that run their own transaction
        (the importer: `ledger.authorize("import", path)` before it opens one)."""
        with self.write(action, detail):
            pass

    def list_users(self) -> list[users.User]:
        with self.read() as conn:
            return users.list_users(conn)

    def add_user(self, name: str, role: str) -> users.User:
        with self.write("users", name) as conn:
            return users.add_user(conn, self.actor, name, role)

    def disable_user(self, name: str) -> None:
        with self.write("users", name) as conn:
            users.disable_user(conn, self.actor, name)

    def backup(self, out: str) -> backups.BackupResult:
        """A consistent copy while others keep writing; the permission check and the audit record bracket it."""
        with self.write("backup", out):
            pass
        result = backups.backup(self.engine, out)
        with self.write("backup", out) as conn:
            audit.append_audit(
                conn,
                self.actor,
                "backup",
                "database",
                str(result.path),
                {
                    "backend": result.backend,
                    "size": result.size,
                    "sha256": result.sha256,
                },
            )
        return result

    # -- audit -------------------------------------------------------------------------------------------------
    def verify_audit(self) -> audit.VerifyResult:
        with self.read() as conn:
            return audit.verify(conn)

    def sql(self, query: str, limit: int | None = 500) -> sqlconsole.QueryResult:
        return sqlconsole.run_query(self.read_only_engine, query, limit)

    # -- demo data ---------------------------------------------------------------------------------------------
    def load_demo(
        self,
        drawdowns: int = 5000,
        year: int | None = None,
        years: int = 1,
        seed: int = 2023,
        today: date | None = None,
    ) -> Any:
        from ledger.services.demo import load_demo

        with self.write("reference", "demo") as conn:  # demo data creates banks and firms: an admin's write
            return load_demo(
                conn,
                self.config,
                self.actor,
                drawdowns=drawdowns,
                year=year,
                years=years,
                seed=seed,
                today=today,
            )

    # -- rules (issue 3) ---------------------------------------------------------------------------------------
    def share(
        self,
        year: int,
        as_of: date | None = None,
        *,
        kind: str | None = None,
        tool: str | None = None,
        institution: str | None = None,
    ) -> share_rules.ShareResult:
        """The key-area share of `year` up to `as_of` (default the year's end); `tool` is a code or Chinese name."""
        code = self.tool(tool).code if tool else None
        with self.read() as conn:
            return share_rules.compute_share(
                conn, self.config, year, as_of, kind=kind, tool_code=code, institution_code=institution
            )

    def share_preview(
        self,
        request: BookingRequest,
        as_of: date | None = None,
        *,
        kind: str | None = None,
        tool: str | None = None,
        institution: str | None = None,
    ) -> tuple[share_rules.ShareResult, share_rules.ShareResult]:
        """(before, after) for the drawdown's year as if `request` were booked; raises ValidationError as book
        would. The TUI form shows this beside the preview."""
        code = self.tool(tool).code if tool else None
        with self.read() as conn:
            prepared = booking.prepare(conn, self.config, request)
            return share_rules.preview_share(
                conn, self.config, prepared, as_of, kind=kind, tool_code=code, institution_code=institution
            )

    def share_drilldown(
        self,
        year: int,
        as_of: date | None = None,
        *,
        key_area: bool | None = None,
        tool: str | None = None,
        institution: str | None = None,
        month: str | None = None,
        kind: str | None = None,
        include_reversed: bool = False,
        limit: int = 500,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The drawdowns behind a share figure, a page at a time, each with why it counted or did not."""
        code = self.tool(tool).code if tool else None
        with self.read() as conn:
            return share_rules.drilldown(
                conn,
                year,
                as_of,
                key_area=key_area,
                tool_code=code,
                institution_code=institution,
                month=month,
                kind=kind,
                include_reversed=include_reversed,
                limit=limit,
                offset=offset,
            )

    def checks(self, year: int, as_of: date | None = None) -> list[rule_checks.Finding]:
        """Every programme check over the year (share, quotas, terms, rates, eligibility, 普惠 limit)."""
        with self.read() as conn:
            return rule_checks.run_checks(conn, self.config, year, as_of)
