"""Audit log: browse the chained records newest first, a page at a time, and verify the whole chain in a worker
(Ledger.verify_audit recomputes every hash and every ledger row's digest)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from ledger.services import queries
from ledger.tui.errors import describe
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerScreen

PAGE = 200


class PageLoaded(Message):
    def __init__(self, offset: int, rows: list[dict[str, Any]], total: int) -> None:
        super().__init__()
        self.page_start, self.rows, self.total = offset, rows, total


class Verified(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class AuditLogScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "verify", t("audit.verify"), id="audit.verify"),
        Binding("n", "page(1)", t("audit.next"), id="audit.next"),
        Binding("b", "page(-1)", t("audit.prev"), id="audit.prev"),
        Binding("r", "reload", t("common.refresh"), id="audit.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page_start = 0
        self.total = 0
        self.rows: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="audit-status"):
            yield Static("", id="audit-page")
            yield Static("", id="audit-verify")
        with Horizontal(classes="split"):
            yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True, classes="left")
            with VerticalScroll(classes="right"):
                yield Static("", id="audit-payload")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        # The hash and the payload are in the pane beside: the table keeps what an auditor scans for.
        for key, width in (
            ("col.id", 6),
            ("col.recorded_at", 16),
            ("col.actor", 8),
            ("col.action", 12),
            ("col.entity", 20),
        ):
            table.add_column(t(key), width=width)
        table.focus()
        self.load(0)

    def action_reload(self) -> None:
        self.load(self.page_start)

    def action_page(self, direction: int) -> None:
        target = self.page_start + direction * PAGE
        if 0 <= target < max(self.total, 1):
            self.load(target)

    @work(thread=True, exclusive=True, group="audit-page", exit_on_error=False)
    def load(self, offset: int) -> None:
        try:
            with self.reader() as conn:
                rows, total = queries.audit_page(conn, offset, PAGE)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(PageLoaded(offset, rows, total))

    @on(PageLoaded)
    def _page(self, message: PageLoaded) -> None:
        self.page_start, self.total = message.page_start, message.total
        table = self.query_one("#audit-table", DataTable)
        table.clear()
        self.rows = {}
        for row in message.rows:
            key = str(row["id"])
            self.rows[key] = row
            table.add_row(
                key,
                str(row["recorded_at"])[:16],
                row["actor"],
                row["action"],
                f"{row['entity']} {row['entity_id']}".strip(),
                key=key,
            )
        last = message.page_start + len(message.rows)
        self.query_one("#audit-page", Static).update(
            t(
                "audit.page",
                first=f"{message.page_start + 1 if message.rows else 0:,}",
                last=f"{last:,}",
                total=f"{message.total:,}",
            )
        )

    @on(DataTable.RowHighlighted, "#audit-table")
    def _show(self, event: DataTable.RowHighlighted) -> None:
        row = self.rows.get(str(event.row_key.value))
        if row is not None:
            payload = row["payload"] if len(row["payload"]) < 4000 else row["payload"][:4000] + " …"
            self.query_one("#audit-payload", Static).update(
                f"[b]{row['hash']}[/b]\n{t('col.rows')}: {row['row_count']:,}\n{payload}"
            )

    def action_verify(self) -> None:
        self.query_one("#audit-verify", Static).update(t("common.loading"))
        self.verify()

    @work(thread=True, exclusive=True, group="audit-verify", exit_on_error=False)
    def verify(self) -> None:
        try:
            result = self.ledger.verify_audit()
        except Exception as exc:
            self.post_message(Verified(f"[red]{describe(exc)}[/]"))
            return
        if result.ok:
            text = f"[green]{t('audit.ok', n=f'{result.records:,}')}[/]"
        else:
            where = f" (#{result.bad_record})" if result.bad_record is not None else ""
            text = f"[red]{t('audit.broken', problem=result.problem + where)}[/]"
        self.post_message(Verified(text))

    @on(Verified)
    def _verified(self, message: Verified) -> None:
        self.query_one("#audit-verify", Static).update(message.text)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (t("audit.verify"), "v", self.action_verify),
            (t("audit.next"), "n", lambda: self.action_page(1)),
            (t("audit.prev"), "b", lambda: self.action_page(-1)),
        ]
