"""Reverse / repay / roll over one drawdown: the dialog is the confirmation, and it asks for the reason.

The write goes through the facade (Ledger.reverse/repay/rollover) in a worker; a rule the service refuses (closed
month, already reversed, rollover limit) is shown in the dialog, which stays open so nothing typed is lost.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Static

from ledger.domain.errors import ValidationError
from ledger.services.queries import DrawdownRow
from ledger.tui.errors import describe, field_messages
from ledger.tui.format import iso, yuan
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerModal

KINDS = ("reverse", "repay", "rollover")


class EventDone(Message):
    def __init__(self, event_id: int) -> None:
        super().__init__()
        self.event_id = event_id


class EventFailed(Message):
    def __init__(self, text: str, fields: dict[str, str]) -> None:
        super().__init__()
        self.text, self.fields = text, fields


class EventDialog(LedgerModal):
    """Dismisses with the new event id, or None when cancelled."""

    def __init__(self, kind: str, row: DrawdownRow, tool_name: str) -> None:
        super().__init__()
        assert kind in KINDS
        self.kind, self.row, self.tool_name = kind, row, tool_name

    def compose(self) -> ComposeResult:
        row = self.row
        with VerticalScroll(classes="dialog", id="event-dialog"):
            yield Static(t(f"ev.title.{self.kind}", id=row.id), classes="dialog-title")
            yield Static(
                f"{self.tool_name} · {row.institution_name}\n{row.enterprise_name} ({row.uscc})\n"
                f"{iso(row.drawn_on)} → {iso(row.maturity_on)} · {yuan(row.amount_fen)} {t('unit.yuan')}",
                classes="muted",
            )
            if self.kind == "repay":
                yield Static(t("ev.on"), classes="field-label")
                yield Input(self.today.isoformat(), id="ev-on", compact=True)
                yield Static("", id="ev-on-msg", classes="error-text")
                yield Static(t("ev.amount"), classes="field-label")
                yield Input("", id="ev-amount", compact=True)
                yield Static("", id="ev-amount-msg", classes="error-text")
            if self.kind == "rollover":
                yield Static(t("ev.to"), classes="field-label")
                yield Input("", id="ev-to", placeholder="YYYY-MM-DD", compact=True)
                yield Static("", id="ev-to-msg", classes="error-text")
            yield Static(t("ev.reason"), classes="field-label")
            yield Input("", id="ev-reason", compact=True)
            yield Static("", id="ev-reason-msg", classes="error-text")
            yield Static("", id="ev-error", classes="error-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("common.cancel") + " (Esc)", id="ev-cancel")
                yield Button(
                    t(f"dd.{self.kind}") + " (Enter)",
                    id="ev-ok",
                    variant="error" if self.kind == "reverse" else "primary",
                )

    def on_mount(self) -> None:
        first = {"repay": "#ev-on", "rollover": "#ev-to"}.get(self.kind, "#ev-reason")
        self.query_one(first, Input).focus()

    @on(Button.Pressed, "#ev-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        if event.input.id == "ev-reason":
            self._submit()
        else:
            self.focus_next()

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        """A message about a field goes as soon as the field is edited: it described the old value."""
        found = self.query(f"#{event.input.id}-msg")
        if found:
            found.first(Static).update("")
        self.query_one("#ev-error", Static).update("")

    @on(Button.Pressed, "#ev-ok")
    def _submit(self) -> None:
        for msg in self.query(".error-text"):
            if isinstance(msg, Static):
                msg.update("")
        values = {i.id or "": i.value for i in self.query(Input)}
        self.query_one("#ev-ok", Button).disabled = True
        self.write(values)

    @work(thread=True, exclusive=True, group="event", exit_on_error=False)
    def write(self, values: dict[str, str]) -> None:
        reason = values.get("ev-reason", "")
        try:
            if self.kind == "reverse":
                new_id = self.ledger.reverse(self.row.id, reason, on=self.today)
            elif self.kind == "repay":
                new_id = self.ledger.repay(
                    self.row.id, values.get("ev-on", ""), values.get("ev-amount") or None, reason
                )
            else:
                new_id = self.ledger.rollover(self.row.id, values.get("ev-to", ""), reason)
        except Exception as exc:
            fields = field_messages(exc) if isinstance(exc, ValidationError) else {}
            self.post_message(EventFailed(describe(exc), fields))
            return
        if not isinstance(new_id, int):  # above the authority limit: queued for a checker (maker-checker)
            self.post_message(EventFailed(t("form.queued", id=new_id.pending_id), {}))
            return
        self.post_message(EventDone(new_id))

    @on(EventDone)
    def _done(self, message: EventDone) -> None:
        self.app.notify(t(f"ev.done.{self.kind}", id=self.row.id))
        self.dismiss(message.event_id)

    @on(EventFailed)
    def _failed(self, message: EventFailed) -> None:
        self.query_one("#ev-ok", Button).disabled = False
        targets = {
            "reason": "#ev-reason-msg",
            "on": "#ev-on-msg",
            "amount": "#ev-amount-msg",
            "to": "#ev-to-msg",
        }
        shown = False
        for field, text in message.fields.items():
            selector = targets.get(field)
            if selector and self.query(selector):
                self.query_one(selector, Static).update(text)
                shown = True
        if not shown:
            self.query_one("#ev-error", Static).update(message.text)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [(t(f"dd.{self.kind}"), "", self._submit)]
