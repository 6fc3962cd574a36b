"""Pending (复核): requests above an authority limit wait here for a second person (maker-checker, issue 7).

The checker sees what the maker asked for (the request as queued), approves it — the facade then books or reverses
it, re-running every rule — or rejects it with a reason. Role checks and "not your own request" are the
service's; a refusal is shown as a notification and the item stays pending.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Footer, Header, Input, Static

from ledger.tui.errors import describe
from ledger.tui.format import yuan
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerModal, LedgerScreen
from ledger.tui.widgets.money_table import FigureColumn, FigureTable


class ItemsLoaded(Message):
    def __init__(self, items: list[Any]) -> None:
        super().__init__()
        self.items = items


class Decided(Message):
    def __init__(self, text: str, ok: bool) -> None:
        super().__init__()
        self.text, self.ok = text, ok


class PendingScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "approve", t("pend.approve"), id="pending.approve"),
        Binding("n", "reject", t("pend.reject"), id="pending.reject"),
        Binding("a", "toggle_all", t("pend.all"), id="pending.all"),
        Binding("r", "reload", t("common.refresh"), id="pending.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, Any] = {}
        self.show_all = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="pend-status")
        with Horizontal(classes="split"):
            yield FigureTable(id="pend-table", classes="left")
            with VerticalScroll(classes="right"):
                yield Static("", id="pend-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#pend-table", FigureTable)
        table.set_columns(
            [
                FigureColumn(t("col.id"), "text"),
                FigureColumn(t("col.action"), "text"),
                FigureColumn(t("col.tool"), "name"),
                FigureColumn(t("col.amount_yuan"), "money"),
                FigureColumn(t("pend.maker"), "name"),
                FigureColumn(t("col.status"), "text"),
            ]
        )
        table.focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.action_reload()

    def action_reload(self) -> None:
        self.load(self.show_all)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.action_reload()

    @work(thread=True, exclusive=True, group="pend-load", exit_on_error=False)
    def load(self, show_all: bool) -> None:
        try:
            items = self.ledger.pending(None if show_all else "pending")
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(ItemsLoaded(items))

    @on(ItemsLoaded)
    def _loaded(self, message: ItemsLoaded) -> None:
        self.items = {str(item.id): item for item in message.items}
        names = {tool.code: tool.name for tool in self.ledger.catalogue}
        rows: list[tuple[str | None, list[Any]]] = [
            (
                str(item.id),
                [
                    Text(str(item.id), justify="right"),
                    t("pend.action.book") if item.action == "book" else t("dd.reverse"),
                    names.get(item.tool_code, item.tool_code or ""),
                    yuan(item.amount_fen),
                    item.maker,
                    item.status_label,
                ],
            )
            for item in message.items
        ]
        self.query_one("#pend-table", FigureTable).set_rows(rows)
        waiting = sum(1 for item in message.items if item.status == "pending")
        self.query_one("#pend-status", Static).update(t("pend.count", n=f"{waiting:,}"))
        if not message.items:
            self.query_one("#pend-detail", Static).update(t("common.none"))

    @on(DataTable.RowHighlighted, "#pend-table")
    def _show(self, event: DataTable.RowHighlighted) -> None:
        item = self.items.get(str(event.row_key.value))
        if item is None:
            return
        head = Text.assemble(
            (f"#{item.id}", "bold"), f" · {item.status_label} · {item.maker} · {str(item.created_at)[:19]}"
        )
        lines: list[str] = []
        if item.checker:
            lines.append(f"{t('pend.checker')}: {item.checker} · {str(item.decided_at or '')[:19]}")
        if item.decision_reason:
            lines.append(f"{t('ev.reason')}: {item.decision_reason}")
        lines.append("")
        lines.append(json.dumps(item.payload, ensure_ascii=False, indent=1))
        # Plain Text throughout: what the maker typed is shown as typed, never read as markup.
        self.query_one("#pend-detail", Static).update(head + Text("\n" + "\n".join(lines)))

    def _current(self) -> Any:
        table = self.query_one("#pend-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        item = self.items.get(str(key.value))
        return item if item is not None and item.status == "pending" else None

    def action_approve(self) -> None:
        item = self._current()
        if item is None:
            self.app.bell()
            return
        from ledger.tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.decide(item.id, None)

        question = t("pend.confirm", id=item.id, amount=yuan(item.amount_fen))
        self.app.push_screen(ConfirmScreen(question, t("pend.approve"), t("common.cancel")), answer)

    def action_reject(self) -> None:
        item = self._current()
        if item is None:
            self.app.bell()
            return

        def answer(reason: str | None) -> None:
            if reason:
                self.decide(item.id, reason)

        self.app.push_screen(ReasonDialog(t("pend.reject_title", id=item.id)), answer)

    @work(thread=True, exclusive=True, group="pend-decide", exit_on_error=False)
    def decide(self, pending_id: int, reject_reason: str | None) -> None:
        try:
            if reject_reason is None:
                _, result_id = self.ledger.approve(pending_id)
                text = t("pend.approved", id=pending_id, result=result_id)
            else:
                self.ledger.reject(pending_id, reject_reason)
                text = t("pend.rejected", id=pending_id)
        except Exception as exc:
            self.post_message(Decided(describe(exc), False))
            return
        self.post_message(Decided(text, True))

    @on(Decided)
    def _decided(self, message: Decided) -> None:
        self.app.notify(message.text, severity="information" if message.ok else "error", timeout=8)
        self.action_reload()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (t("pend.approve"), "y", self.action_approve),
            (t("pend.reject"), "n", self.action_reject),
            (t("pend.all"), "a", self.action_toggle_all),
        ]


class ReasonDialog(LedgerModal):
    """Asks for a reason (required); dismisses with it, or None when cancelled."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(t("ev.reason"), classes="field-label")
            yield Input(id="reason", compact=True)
            yield Static("", id="reason-msg", classes="error-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("common.cancel") + " (Esc)", id="reason-cancel")
                yield Button(t("common.confirm") + " (Enter)", id="reason-ok", variant="error")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Changed, "#reason")
    def _edited(self) -> None:
        self.query_one("#reason-msg", Static).update("")

    @on(Button.Pressed, "#reason-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#reason-ok")
    def _ok(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#reason-msg", Static).update(t("pend.reason_required"))
            return
        self.dismiss(reason)
