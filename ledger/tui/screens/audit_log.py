"""Audit log: browse the chained records newest first, a page at a time, filter them, and verify the whole chain
in a worker (Ledger.verify_audit recomputes every hash and every ledger row's digest).

The filter box (`/`) takes space-separated terms: `action=book`, `actor=alice`, `entity=drawdown`, `id=20001`
(the object's id), a day `2025-06-30` or a month `2025-06`, `#123` for one record, or a bare word matched against
action, actor, object and object id."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Static

from ledger.domain.dates import add_months
from ledger.services import queries
from ledger.services.queries import AuditFilter
from ledger.tui.errors import describe
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerScreen

PAGE = 200
DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_audit_filter(text: str) -> AuditFilter | None:
    """The filter box's terms as an AuditFilter; None when a term is not understood (the box says so)."""
    fields: dict[str, Any] = {}
    for term in text.split():
        key, sep, value = term.partition("=")
        if sep and key in ("action", "actor", "entity", "id") and value:
            fields["entity_id" if key == "id" else key] = value
        elif term.startswith("#") and term[1:].isdigit():
            fields["record_id"] = int(term[1:])
        elif m := DAY.match(term):
            try:
                day = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
            fields["day_from"], fields["day_to"] = day.isoformat(), (day + timedelta(days=1)).isoformat()
        elif m := MONTH.match(term):
            if not 1 <= int(m[2]) <= 12:
                return None
            first = date(int(m[1]), int(m[2]), 1)
            fields["day_from"], fields["day_to"] = first.isoformat(), add_months(first, 1).isoformat()
        elif sep:
            return None
        else:
            fields["word"] = term
    return AuditFilter(**fields)


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
        Binding("slash", "focus_filter", t("dd.filter"), id="audit.filter", key_display="/"),
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
        self.filter: AuditFilter | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder=t("audit.filter_hint"), id="audit-filter", compact=True)
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

    def action_focus_filter(self) -> None:
        self.query_one("#audit-filter", Input).focus()

    @on(Input.Submitted, "#audit-filter")
    def _filter(self, event: Input.Submitted) -> None:
        flt = parse_audit_filter(event.value)
        if flt is None:
            self.query_one("#audit-page", Static).update(f"[red]{t('audit.bad_filter')}[/]")
            return
        self.filter = flt if event.value.strip() else None
        self.load(0)
        self.query_one("#audit-table", DataTable).focus()

    def action_page(self, direction: int) -> None:
        target = self.page_start + direction * PAGE
        if 0 <= target < max(self.total, 1):
            self.load(target)

    @work(thread=True, exclusive=True, group="audit-page", exit_on_error=False)
    def load(self, offset: int) -> None:
        try:
            with self.reader() as conn:
                rows, total = queries.audit_page(conn, offset, PAGE, self.filter)
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
                Text.assemble((row["hash"], "bold"), f"\n{t('col.rows')}: {row['row_count']:,}\n{payload}")
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
