"""Dialogs that add reference data: an enterprise (also inline from the booking form), a bank, a dated status.

Each validates through the facade (the same rules as the CLI and the importer) and shows every problem beside its
field; the dialog stays open until the write succeeds or the operator cancels.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Select, Static

from ledger.domain.dates import parse_date
from ledger.domain.enterprise import ALL_STATUSES, SIZES
from ledger.domain.errors import ValidationError
from ledger.services.reference import INSTITUTION_TYPES
from ledger.tui.errors import describe, field_messages
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerModal


class WriteDone(Message):
    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result


class WriteFailed(Message):
    def __init__(self, text: str, fields: dict[str, str]) -> None:
        super().__init__()
        self.text, self.fields = text, fields


class ReferenceDialog(LedgerModal):
    """Fields are (problem field name, label, widget); subclasses say what to write. Enter on the last field or
    Ctrl+S saves, Esc cancels; a field's message goes as soon as the field is edited."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *LedgerModal.BINDINGS,
        Binding("ctrl+s", "save", t("common.save"), id="dialog.save", priority=True),
    ]
    title_key = ""

    def fields(self) -> list[tuple[str, str, Input | Select[Any]]]:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(t(self.title_key), classes="dialog-title")
            self._fields = self.fields()
            for name, label, widget in self._fields:
                yield Static(label, classes="field-label")
                yield widget
                yield Static("", id=f"msg-{name}", classes="error-text")
            yield Static("", id="msg-general", classes="error-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("common.cancel") + " (Esc)", id="dlg-cancel")
                yield Button(t("common.save") + " (Ctrl+S)", id="dlg-save", variant="primary")

    def on_mount(self) -> None:
        self.query("Input, Select").first().focus()

    def action_save(self) -> None:
        self._save()

    @on(Input.Changed)
    @on(Select.Changed)
    def _edited(self, event: Input.Changed | Select.Changed) -> None:
        name = getattr(event.control, "id", "") or ""
        for field, _, widget in self._fields:
            if widget.id == name:
                self.query_one(f"#msg-{field}", Static).update("")
        self.query_one("#msg-general", Static).update("")

    @on(Button.Pressed, "#dlg-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _next(self) -> None:
        if self.focused is self.query(Input).last():
            self._save()
        else:
            self.focus_next()

    @on(Button.Pressed, "#dlg-save")
    def _save(self) -> None:
        for msg in self.query(".error-text"):
            if isinstance(msg, Static):
                msg.update("")
        values: dict[str, Any] = {}
        for widget in self.query("Input, Select"):
            key = (widget.id or "").removeprefix("d-")
            if isinstance(widget, Input):
                values[key] = widget.value.strip()
            elif isinstance(widget, Select):
                values[key] = "" if widget.value is Select.NULL else widget.value
        self.query_one("#dlg-save", Button).disabled = True
        self.run_write(values)

    def write(self, values: dict[str, Any]) -> Any:
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="dlg-write", exit_on_error=False)
    def run_write(self, values: dict[str, Any]) -> None:
        try:
            result = self.write(values)
        except Exception as exc:
            fields = field_messages(exc) if isinstance(exc, ValidationError) else {}
            self.post_message(WriteFailed(describe(exc), fields))
            return
        self.post_message(WriteDone(result))

    @on(WriteDone)
    def _done(self, message: WriteDone) -> None:
        self.app.notify(t("ref.saved"))
        self.dismiss(message.result)

    @on(WriteFailed)
    def _failed(self, message: WriteFailed) -> None:
        self.query_one("#dlg-save", Button).disabled = False
        shown = False
        for field, text in message.fields.items():
            found = self.query(f"#msg-{field}")
            if found:
                found.first(Static).update(text)
                shown = True
        if not shown:
            self.query_one("#msg-general", Static).update(message.text)


class EnterpriseDialog(ReferenceDialog):
    """Dismisses with the new enterprise's USCC."""

    title_key = "ref.add_enterprise"

    def __init__(self, typed: str = "") -> None:
        super().__init__()
        self.typed = typed

    def fields(self) -> list[tuple[str, str, Input | Select[Any]]]:
        looks_like_code = (
            len(self.typed) >= 6 and self.typed.replace(" ", "").isalnum() and self.typed.isascii()
        )
        return [
            (
                "enterprise_uscc",
                t("ref.uscc"),
                Input(self.typed if looks_like_code else "", id="d-uscc", compact=True),
            ),
            (
                "enterprise_name",
                t("ref.name"),
                Input("" if looks_like_code else self.typed, id="d-name", compact=True),
            ),
            (
                "industry_code",
                t("ref.industry"),
                Input(placeholder=t("ref.industry_hint"), id="d-industry", compact=True),
            ),
            (
                "enterprise_size",
                t("ref.size"),
                Select(
                    [(label, key) for key, label in SIZES.items()],
                    prompt=t("ref.size"),
                    id="d-size",
                    compact=True,
                ),
            ),
        ]

    def write(self, values: dict[str, Any]) -> str:
        self.ledger.add_enterprise(values["uscc"], values["name"], values["industry"], str(values["size"]))
        return str(values["uscc"]).strip().upper()


class InstitutionDialog(ReferenceDialog):
    title_key = "ref.add_institution"

    def fields(self) -> list[tuple[str, str, Input | Select[Any]]]:
        return [
            ("institution_code", t("ref.inst_code"), Input(id="d-code", compact=True)),
            ("institution_name", t("ref.inst_name"), Input(id="d-name", compact=True)),
            (
                "institution_type",
                t("ref.inst_type"),
                Select(
                    [(x, x) for x in INSTITUTION_TYPES], prompt=t("ref.inst_type"), id="d-type", compact=True
                ),
            ),
        ]

    def write(self, values: dict[str, Any]) -> str:
        self.ledger.add_institution(values["code"], values["name"], str(values["type"]))
        return str(values["code"])


class StatusDialog(ReferenceDialog):
    """A certificate or list membership with its validity, for one enterprise."""

    title_key = "ref.add_status"

    def __init__(self, uscc: str, name: str) -> None:
        super().__init__()
        self.uscc, self.enterprise_name = uscc, name

    def fields(self) -> list[tuple[str, str, Input | Select[Any]]]:
        return [
            (
                "status",
                f"{t('ref.status')} · {self.enterprise_name}",
                Select([(x, x) for x in ALL_STATUSES], prompt=t("ref.status"), id="d-status", compact=True),
            ),
            ("valid_from", t("ref.valid_from"), Input(self.today.isoformat(), id="d-from")),
            ("valid_to", t("ref.valid_to"), Input(placeholder="YYYY-MM-DD", id="d-to", compact=True)),
            ("source", t("ref.source"), Input(id="d-source", compact=True)),
        ]

    def write(self, values: dict[str, Any]) -> int:
        valid_from = _date(values["from"], "valid_from")
        valid_to = _date(values["to"], "valid_to") if values["to"] else None
        return self.ledger.add_status(
            self.uscc, str(values["status"]), valid_from, valid_to, values["source"]
        )


def _date(text: str, field: str) -> date:
    try:
        return parse_date(text)
    except ValueError as exc:
        raise ValidationError.single(field, text, str(exc)) from exc
