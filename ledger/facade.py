"""`Ledger`: the one object every face talks to (Fava's FavaLedger shape).

It owns the engine and the authenticated acting user (ledger.services.identity), opens a transaction per write,
reads the policy in force from the ledger (ledger.services.policy), and delegates to the service modules. The CLI,
the TUI and the report batch call the same methods, so no face holds business logic — and none chooses a control:
there is no way to hand a Ledger a policy of one's own.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from ledger.config import Config
from ledger.db.engine import make_engine, resolve_url, schema_ready, upgrade
from ledger.domain.errors import LedgerError, RuleViolation
from ledger.rules import checks as rule_checks
from ledger.rules import share as share_rules
from ledger.services import (
    approval,
    audit,
    audit_verify,
    balances,
    booking,
    closing,
    console_role,
    events,
    identity,
    policy,
    reference,
    safe_output,
    sqlconsole,
    staff_roles,
    users,
)
from ledger.services import backup as backups
from ledger.services.catalogue_sync import sync_catalogue
from ledger.services.drawdown_rules import BookingRequest, PreparedDrawdown
from ledger.tools import Tool


class SchemaMissing(LedgerError):
    """The database has no ledger schema yet (or an older one): run `ledger init`."""


@dataclass(frozen=True)
class InitResult:
    url: str
    tools_changed: list[str]
    policy_loaded: bool = False
    training: bool = False
    notes: tuple[str, ...] = ()


class Ledger:
    def __init__(self, db: str | None = None, actor: str | None = None, engine: Engine | None = None) -> None:
        """`actor`: --user / $LEDGER_USER. It is checked against the authenticated identity on first use (a
        mismatch is refused), except on a training-mode SQLite ledger, where it names the trainee."""
        import os

        self.url = resolve_url(db) if engine is None else engine.url.render_as_string(hide_password=False)
        self.engine = engine or make_engine(self.url)
        self._requested_actor = actor if actor is not None else (os.environ.get("LEDGER_USER") or None)
        self._actor: str | None = None
        self._training: bool | None = None
        self._policies = policy.PolicyCache()
        self._ro_engine: Engine | None = None

    # -- identity and policy ---------------------------------------------------------------------------------------
    @property
    def training_mode(self) -> bool:
        """A SQLite ledger created with `ledger init --training` (identities are labels, not authenticated)."""
        if self._training is None:
            try:  # SQLite: through the read-only handle, which never waits for (or takes) the write lock
                if not schema_ready(self.read_only_engine):
                    return False
            except FileNotFoundError:  # no ledger file yet
                return False
            with self.read() as conn:
                self._training = identity.ledger_mode(conn) == identity.TRAINING
        return self._training

    @property
    def actor(self) -> str:
        """The authenticated user: the PostgreSQL login or the OS account (a trainee's name in training mode)."""
        if self._actor is None:
            training = self.training_mode
            with self.read() as conn:
                self._actor = identity.resolve(conn, self._requested_actor, training)
        return self._actor

    @property
    def policy(self) -> policy.PolicyBook:
        """Every policy record (cached for this object; writes read it afresh inside their transaction)."""
        with self.read() as conn:
            return self._policies.get(conn)

    def refresh(self) -> None:
        """Forget the cached policy (a long-running face calls this when it reloads its screens)."""
        self._policies.clear()

    def config_on(self, day: date) -> Config:
        return self.policy.config_on(day)

    @property
    def config(self) -> Config:
        """The policy in force today."""
        return self.policy.config_on(date.today())

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
        """For reads (screens, reports, exports): SQLite opened with mode=ro; PostgreSQL the ordinary engine. The SQL
        console does not use it: ledger.services.sqlconsole opens its own locked-down connection per query."""
        if self._ro_engine is None:
            self._ro_engine = (
                make_engine(self.url, read_only=True) if self.url.startswith("sqlite") else self.engine
            )
        return self._ro_engine

    @property
    def own_files(self) -> list[Any]:
        """The files no output may overwrite: on SQLite the database and its -wal/-shm/-journal (safe_output)."""
        if self.engine.dialect.name != "sqlite":
            return []
        return safe_output.ledger_files(self.engine.url.database)

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
    def write(self, action: str | None, detail: str = "") -> Iterator[Connection]:
        """A write transaction for `action` (users.PERMISSIONS), checked inside it; a refusal is audited apart.
        `action=None`: the service checks the role itself (approval, where it depends on the item).

        The refused write rolls back, so the refusal's audit record is appended in a transaction of its own."""
        actor = self.actor
        try:
            try:
                with self.engine.begin() as conn:
                    if action is not None:
                        users.require(conn, actor, action)
                    yield conn
            except DBAPIError as exc:
                # PostgreSQL refused a login without write grants (an auditor): the same refusal as the app's own
                if getattr(exc.orig, "sqlstate", None) != "42501":
                    raise
                raise users.Refused(
                    f"用户 {actor!r} 的数据库登录无写入权限 (this login may not write: {str(exc.orig).splitlines()[0]})",
                    actor,
                    action or "write",
                ) from None
        except users.Refused as exc:
            try:
                with self.engine.begin() as conn:
                    users.log_refusal(conn, exc.actor, exc.action, str(exc), detail)
            except (
                DBAPIError
            ):  # a read-only login (auditor) on PostgreSQL: the database refuses its writes too
                pass
            raise

    def require_schema(self) -> None:
        if not schema_ready(self.engine):
            raise SchemaMissing(f"数据库未初始化,请先运行 ledger init ({self.url})")
        with self.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        from ledger.db.engine import head_revision

        if version != head_revision():
            raise SchemaMissing(
                f"数据库结构需要升级,请运行 ledger init (schema {version}, this version needs {head_revision()})"
            )

    def init(
        self,
        *,
        training: bool = False,
        policy_overlay: Mapping[str, Any] | None = None,
        policy_source: str = "packaged defaults",
    ) -> InitResult:
        """Creates or upgrades the schema; on a new ledger records its mode (training: SQLite only) as the chain's
        first record and loads the initial policy (defaults overlaid once by `policy_overlay`); loads the catalogue;
        sets up the PostgreSQL group roles. Idempotent."""
        upgrade(self.engine)
        notes: list[str] = []
        with self.engine.begin() as conn:
            empty = audit.chain_head(conn)[0] == 0
            if training and not empty and identity.ledger_mode(conn) != identity.TRAINING:
                raise RuleViolation(
                    "培训模式只能在新建台账时设定 (training mode is chosen when a ledger is created)"
                )
            if training and conn.dialect.name != "sqlite":
                raise RuleViolation(
                    "培训模式仅用于SQLite台账;PostgreSQL以登录名认证 (training mode is for SQLite: PostgreSQL "
                    "authenticates logins)"
                )
            if empty:
                account = (
                    identity.session_login(conn) if conn.dialect.name != "sqlite" else identity.os_account()
                )
                mode = identity.TRAINING if training else identity.NORMAL
                audit.append_audit(
                    conn, account, "init", "ledger", "", {"mode": mode, "backend": conn.dialect.name}
                )
        self._training = None
        self._actor = None
        actor = self.actor
        with self.engine.begin() as conn:
            if conn.execute(text("SELECT COUNT(*) FROM ledger_lock WHERE id = 1")).scalar_one() == 0:
                conn.execute(text("INSERT INTO ledger_lock (id) VALUES (1)"))
            loaded = policy.initial_load(conn, actor, policy_overlay or {}, policy_source)
            policy.add_new_keys(conn, actor)
            book = self._policies.get(conn)
            changed = sync_catalogue(conn, book.config_on(date.today()).catalogue, actor)
            note = staff_roles.ensure_roles(conn)
            if note:
                notes.append(note)
            else:
                note = console_role.ensure_console_role(conn)
                if note:
                    notes.append(note)
        self._policies.clear()
        return InitResult(self.url, changed, loaded, self.training_mode, tuple(notes))

    def dispose(self) -> None:
        # Readers first: on SQLite the last connection to close checkpoints the WAL into the file, and only a
        # writable one can (a file copied after dispose must hold everything).
        if self._ro_engine is not None and self._ro_engine is not self.engine:
            self._ro_engine.dispose()
        self.engine.dispose()

    # -- reference data ----------------------------------------------------------------------------------------
    def add_institution(self, code: str, name: str, type_: str = "", office: str = "") -> int:
        """`office`: the PBOC office (营业管理部, 中关村中心支行 …) that handles the bank's drawdowns by default."""
        with self.write("reference", code) as conn:
            return reference.add_institution(conn, self.actor, code, name, type_, office)

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
            return booking.prepare(conn, self._policies.get(conn), request)

    def book(self, request: BookingRequest) -> booking.Booked | approval.Queued:
        """Books, or (above the tool's authority limit) queues for a checker: see services/approval.py."""
        with self.write("book") as conn:
            return approval.book_or_queue(conn, self._policies.get(conn), self.actor, request)

    def reverse(self, drawdown_id: int, reason: str, on: date | None = None) -> int | approval.Queued:
        """The reversal event id, or a Queued item when the drawdown is above the authority limit. `on`: the
        effective date (default today), on or after the drawdown's, in an open month."""
        with self.write("event", str(drawdown_id)) as conn:
            return approval.reverse_or_queue(
                conn, self._policies.get(conn), self.actor, drawdown_id, reason, on
            )

    def repay(self, drawdown_id: int, on: Any, amount: Any = None, reason: str = "") -> int:
        with self.write("event", str(drawdown_id)) as conn:
            return events.repay(conn, self.actor, drawdown_id, on, amount, reason)

    def rollover(self, drawdown_id: int, to: Any, reason: str = "") -> int:
        with self.write("event", str(drawdown_id)) as conn:
            return events.rollover(conn, self._policies.get(conn), self.actor, drawdown_id, to, reason)

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

    # -- four eyes, users, policy, backup (services/approval.py, users.py, policy.py, backup.py) ------------------
    def pending(self, status: str | None = "pending") -> list[approval.PendingItem]:
        with self.read() as conn:
            return approval.list_pending(conn, status)

    def pending_item(self, pending_id: int) -> approval.PendingItem:
        """One item with its payload, checked against what the chain recorded (what a checker reads before
        approving)."""
        with self.read() as conn:
            return approval.get_pending(conn, pending_id)

    def approve(self, pending_id: int) -> tuple[approval.PendingItem, int]:
        """Books (reverses, imports, changes the policy) the maker's request as the checker; a rule failing now
        leaves the item pending and is audited."""
        try:
            with self.write(None, str(pending_id)) as conn:
                result = approval.approve(conn, self._policies.get(conn), self.actor, pending_id)
                if (
                    result[0].action == "policy"
                ):  # the tool table shows the catalogue as the policy has it today
                    sync_catalogue(
                        conn, self._policies.get(conn).config_on(date.today()).catalogue, self.actor
                    )
                return result
        except users.Refused:
            raise
        except LedgerError as exc:
            with self.transaction() as conn:
                approval.log_failed_approval(conn, self.actor, pending_id, str(exc))
            raise

    def reject(self, pending_id: int, reason: str) -> approval.PendingItem:
        with self.write(None, str(pending_id)) as conn:
            return approval.reject(conn, self.actor, pending_id, reason)

    def set_policy(self, key: str, value: str, effective_from: date, reason: str) -> approval.Queued:
        """Proposes a policy change (an admin); it applies once a checker or another admin approves it."""
        with self.write("policy", key) as conn:
            return approval.submit_policy(
                conn, self._policies.get(conn), self.actor, key, value, effective_from, reason
            )

    def authorize(self, action: str, detail: str = "") -> None:
        """Checks `action` for the acting user now, auditing a refusal: for writers that run their own transaction
        (the importer: `ledger.authorize("import", path)` before it opens one)."""
        with self.write(action, detail):
            pass

    def list_users(self) -> list[users.User]:
        with self.read() as conn:
            return users.list_users(conn)

    def add_user(self, name: str, role: str) -> users.User:
        training = self.training_mode
        with self.write("users", name) as conn:
            return users.add_user(conn, self.actor, name, role, training=training)

    def disable_user(self, name: str) -> None:
        with self.write("users", name) as conn:
            users.disable_user(conn, self.actor, name)

    def backup(self, out: str) -> backups.BackupResult:
        """A consistent copy while others keep writing; the permission check and the audit record bracket it."""
        with self.write("backup", out):
            pass
        result = backups.backup(self.engine, out, self.own_files)
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
    def verify_audit(
        self, expect_heads: Sequence[tuple[int, str]] = (), since_anchor: bool = False
    ) -> audit_verify.VerifyResult:
        with self.read() as conn:
            return audit_verify.verify(conn, expect_heads, since_anchor)

    def audit_head(self) -> tuple[int, str]:
        with self.read() as conn:
            return audit.chain_head(conn)

    def sql(
        self, query: str, limit: int | None = 500, timeout: float | None = None
    ) -> sqlconsole.QueryResult:
        """The auditors' console: one read-only query, enforced by the database (ledger.services.sqlconsole)."""
        return sqlconsole.run_query(self.engine, query, limit, timeout)

    def sql_rows(self, query: str, timeout: float | None = None) -> Generator[tuple[Any, ...], None, None]:
        """The console's query streamed without a row cap: the header, then every row (CSV export to a file)."""
        return sqlconsole.stream_query(self.engine, query, timeout)

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
            _refuse_demo_unless_empty(conn)
            return load_demo(
                conn,
                self._policies.get(conn),
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
        year: int | None = None,
        as_of: date | None = None,
        *,
        kind: str | None = None,
        tool: str | None = None,
        institution: str | None = None,
        start: date | None = None,
        end: date | None = None,
        office: str | None = None,
        measure: str | None = None,
        basis: str | None = None,
        by_institution: bool = True,
    ) -> share_rules.ShareResult:
        """The share of `year` up to `as_of` (default the year's end), or of `start`…`end`; `tool` is a code or
        Chinese name; `office` the PBOC office that handled the drawdowns; `measure` a measure's name (default
        the rule's); `basis` 'booked' or 'known' (default: known for the year in progress)."""
        code = self.tool(tool).code if tool else None
        _first, last = share_rules.period(year, as_of, start=start, end=end)
        with self.read() as conn:
            return share_rules.compute_share(
                conn,
                self.config_on(last),
                year,
                as_of,
                kind=kind,
                tool_code=code,
                institution_code=institution,
                start=start,
                end=end,
                office=office,
                measure=measure,
                basis=basis,
                config_on=self.config_on,
                by_institution=by_institution,
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
            prepared = booking.prepare(conn, self._policies.get(conn), request)
            return share_rules.preview_share(
                conn,
                self.config_on(prepared.drawn_on),
                prepared,
                as_of,
                kind=kind,
                tool_code=code,
                institution_code=institution,
            )

    def share_drilldown(
        self,
        year: int | None,
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
        start: date | None = None,
        end: date | None = None,
        office: str | None = None,
    ) -> list[dict[str, Any]]:
        """The drawdowns behind a share figure, a page at a time, each with why it counted or did not."""
        code = self.tool(tool).code if tool else None
        with self.read() as conn:
            return share_rules.drilldown(
                conn,
                year,
                as_of,
                start=start,
                end=end,
                office=office,
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
            return rule_checks.run_checks(conn, self.config_on(as_of or date(year, 12, 31)), year, as_of)


def _refuse_demo_unless_empty(conn: Connection) -> None:
    """Demo data is for an empty ledger: never mixed into real entries, never into a closed month."""
    drawdowns = conn.execute(text("SELECT COUNT(*) FROM drawdown")).scalar_one()
    closed = conn.execute(text("SELECT COUNT(*) FROM month_close")).scalar_one()
    pending = conn.execute(text("SELECT COUNT(*) FROM pending_command")).scalar_one()
    if drawdowns or closed or pending:
        raise RuleViolation(
            f"演示数据只能载入空台账:已有 {drawdowns} 笔发放、{closed} 个已月结月份、{pending} 个待复核事项 "
            f"(demo data is for an empty ledger; use a new file or database)"
        )
