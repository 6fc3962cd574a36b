"""The new-drawdown form: fields follow the tool's kind, every field is checked as typed, the share preview shows
before saving, and nothing typed is lost by a stray key.

The form holds no rule: it builds a `BookingRequest` from what was typed and asks `Ledger.preview` (the same rules
`book` runs) in a worker; each `FieldProblem` is shown beside its field. A field's message appears once the
operator has touched it (or tried to save), so a fresh form is not a wall of red. The central-bank rate is filled
from the tool's rate table for the drawdown date and tenor unless the operator typed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Footer, Header, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from ledger.domain.dates import add_months, parse_date
from ledger.domain.errors import ValidationError
from ledger.domain.money import fen_to_yuan, format_yuan, ppm_to_rate
from ledger.domain.uscc import uscc_check_char, uscc_problem
from ledger.services import queries
from ledger.services.drawdown_rules import BookingRequest, PreparedDrawdown, tenor_for
from ledger.services.queries import EnterpriseRow
from ledger.tools import Tool
from ledger.tui.errors import describe, field_messages, localise
from ledger.tui.format import percent, yuan
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerScreen

# form field id → (BookingRequest attribute, label key, shown for kinds)
FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("drawn_on", "form.drawn_on", ("relending", "rediscount")),
    ("maturity_on", "form.maturity_on", ("relending", "rediscount")),
    ("bill_no", "form.bill_no", ("rediscount",)),
    ("bill_range", "form.bill_range", ("rediscount",)),
    ("principal", "form.principal.{kind}", ("relending", "rediscount")),
    ("amount", "form.amount", ("relending",)),
    ("cb_rate", "form.cb_rate", ("relending", "rediscount")),
    ("lend_rate", "form.lend_rate.{kind}", ("relending", "rediscount")),
    ("ext_ref", "form.ext_ref", ("relending", "rediscount")),
    ("override_reason", "form.override_reason", ("relending", "rediscount")),
)
TEXT_FIELDS = ("enterprise_uscc", *(name for name, _, _ in FIELDS))


@dataclass(frozen=True)
class Checked:
    """The answer to one preview: either the prepared row (and share before/after) or the problems by field."""

    request: BookingRequest
    prepared: PreparedDrawdown | None
    problems: dict[str, str]
    general: str = ""
    share: tuple[Any, Any] | None = None


class PreviewReady(Message):
    def __init__(self, checked: Checked) -> None:
        super().__init__()
        self.checked = checked


class SuggestionsReady(Message):
    def __init__(self, text: str, rows: list[EnterpriseRow]) -> None:
        super().__init__()
        self.text, self.rows = text, rows


class Saved(Message):
    def __init__(self, text: str, ok: bool, problems: dict[str, str] | None = None) -> None:
        super().__init__()
        self.text, self.ok, self.problems = text, ok, problems or {}


class FormRow(Horizontal):
    """Label | input | the message for that field, side by side."""

    def __init__(self, name: str, label: str, widget: Input | Select[Any]) -> None:
        super().__init__(classes="form-row", id=f"row-{name}")
        self.field_name, self.label_text, self.widget = name, label, widget

    def compose(self) -> ComposeResult:
        yield Static(self.label_text, classes="form-label", id=f"label-{self.field_name}")
        yield self.widget
        yield Static("", classes="form-msg", id=f"msg-{self.field_name}")


class NewDrawdownScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", t("common.save"), id="form.save", priority=True),
        Binding("ctrl+n", "new_enterprise", t("form.new_enterprise"), id="form.new_enterprise"),
        Binding("escape", "discard", t("form.clear"), id="form.discard"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.touched: set[str] = set()
        self.show_all = False
        self._auto_rate = ""  # the rate the form filled itself: a Changed event carrying it is not typing
        self._auto_maturity = ""  # likewise the maturity it defaulted from the tool's term
        self.picked: dict[str, str] = {}  # USCC → name of an enterprise picked from the suggestions
        self._check_timer: Timer | None = None
        self._suggest_timer: Timer | None = None
        self._last: Checked | None = None
        self._filling = False

    # -- layout ------------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="split"):
            with VerticalScroll(id="form-scroll"):
                yield Static(t("form.title"), classes="panel-title")
                yield FormRow(
                    "tool",
                    t("form.tool"),
                    Select(
                        [(f"{tool.name} · {tool.kind_name}", tool.code) for tool in self.ledger.catalogue],
                        prompt=t("form.tool"),
                        id="f-tool",
                        compact=True,
                    ),
                )
                yield FormRow(
                    "institution_code",
                    t("form.institution"),
                    Select([], prompt=t("form.institution"), id="f-institution_code", compact=True),
                )
                yield FormRow(
                    "enterprise_uscc", t("form.enterprise"), Input(id="f-enterprise_uscc", compact=True)
                )
                yield OptionList(id="suggestions", classes="empty")
                for name, label, _ in FIELDS:
                    placeholder = "YYYY-MM-DD" if name.endswith("_on") else ""
                    yield FormRow(
                        name,
                        t(label.format(kind="relending")),
                        Input(placeholder=placeholder, id=f"f-{name}", compact=True),
                    )
                with Horizontal(id="form-buttons"):
                    yield Button(t("common.save") + " (Ctrl+S)", id="form-save", variant="primary")
                    yield Button(t("form.new_enterprise") + " (Ctrl+N)", id="form-new-enterprise")
            with VerticalScroll(id="form-side"):
                yield Static(t("form.preview"), classes="panel-title")
                yield Static("", id="form-preview")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        with self.prevent(Input.Changed):
            self.query_one("#f-drawn_on", Input).value = self.today.isoformat()
        self._adapt(None)
        self.load_institutions()
        self.query_one("#f-tool", Select).focus()

    def _set_institutions(self, banks: list[tuple[str, str, str]]) -> None:
        select = self.query_one("#f-institution_code", Select)
        current = select.value
        with self.prevent(Select.Changed):
            select.set_options([(name, code) for code, name, _ in banks])
            if current is not Select.NULL and any(code == current for code, _, _ in banks):
                select.value = current

    # -- state -------------------------------------------------------------------------------------------------
    @property
    def tool(self) -> Tool | None:
        value = self.query_one("#f-tool", Select).value
        return None if value is Select.NULL else self.ledger.catalogue.find(str(value))

    @property
    def rate_typed(self) -> bool:
        """The operator typed a rate: the box holds something other than what the form last filled in."""
        value = self.query_one("#f-cb_rate", Input).value
        return bool(value.strip()) and value != self._auto_rate

    @property
    def is_dirty(self) -> bool:
        """Anything typed beyond the defaults the form fills itself."""
        if self.query_one("#f-tool", Select).value is not Select.NULL:
            return True
        if self.query_one("#f-institution_code", Select).value is not Select.NULL:
            return True
        for name in TEXT_FIELDS:
            value = self.query_one(f"#f-{name}", Input).value.strip()
            if name == "drawn_on" and value == self.today.isoformat():
                continue
            if value:
                return True
        return False

    def request(self) -> BookingRequest:
        def text(name: str) -> str:
            return self.query_one(f"#f-{name}", Input).value.strip()

        tool = self.tool
        institution = self.query_one("#f-institution_code", Select).value
        kind = tool.kind if tool else "relending"
        return BookingRequest(
            tool=tool.code if tool else "",
            institution_code="" if institution is Select.NULL else str(institution),
            enterprise_uscc=text("enterprise_uscc"),
            drawn_on=text("drawn_on"),
            maturity_on=text("maturity_on"),
            amount=(text("amount") or None) if kind == "relending" else None,
            principal=text("principal") or None,
            cb_rate=text("cb_rate") or None,
            lend_rate=text("lend_rate"),
            bill_no=(text("bill_no") or None) if kind == "rediscount" else None,
            bill_range=(text("bill_range") or "0") if kind == "rediscount" else None,
            ext_ref=text("ext_ref"),
            override_reason=text("override_reason"),
        )

    def _adapt(self, tool: Tool | None) -> None:
        """Fields follow the tool's kind: bill number and range for rediscount, principal and amount for
        relending, with the labels an operator of that tool uses."""
        kind = tool.kind if tool else "relending"
        for name, label, kinds in FIELDS:
            row = self.query_one(f"#row-{name}", FormRow)
            row.set_class(kind not in kinds, "hidden")
            self.query_one(f"#label-{name}", Static).update(t(label.format(kind=kind)))
        hint = ""
        if tool is not None and kind == "relending" and tool.funding_share is not None:
            hint = f"= {t('form.principal.relending')} × {percent(tool.funding_share, 0)}"
        self._set_message("amount", hint, hint=True)

    def _fill_maturity(self) -> None:
        """Default the maturity to the drawdown date plus the tool's term (relending), unless the operator typed
        one; rediscount maturities follow the bill, so none is guessed."""
        tool = self.tool
        box = self.query_one("#f-maturity_on", Input)
        if box.value.strip() and box.value != self._auto_maturity:
            return
        value = ""
        if tool is not None and tool.kind == "relending" and tool.max_term_months:
            try:
                drawn_on = parse_date(self.query_one("#f-drawn_on", Input).value)
            except ValueError:
                return
            value = add_months(drawn_on, tool.max_term_months).isoformat()
        if value != box.value:
            self._auto_maturity = value
            box.value = value

    def _fill_rate(self) -> None:
        """Default the central-bank rate from the tool's table for drawn_on and the tenor, unless typed; it is
        recomputed whenever the tool, the date or the term changes."""
        tool = self.tool
        if tool is None or self.rate_typed:
            return  # judged on the box's value now, not on events, which may arrive after a later fill
        try:
            drawn_on = parse_date(self.query_one("#f-drawn_on", Input).value)
        except ValueError:
            return
        maturity_text = self.query_one("#f-maturity_on", Input).value
        tenor = 0
        try:
            tenor = tenor_for(tool, drawn_on, parse_date(maturity_text)) if maturity_text.strip() else 0
        except ValueError:
            tenor = 0
        rate = tool.rate_table.rate_on(drawn_on, tenor)
        box = self.query_one("#f-cb_rate", Input)
        self._auto_rate = "" if rate is None else str(rate)
        if box.value != self._auto_rate:
            box.value = self._auto_rate
        self._set_message("cb_rate", t("form.rate_default", rate=rate) if rate is not None else "", hint=True)

    # -- events ------------------------------------------------------------------------------------------------
    @on(Select.Changed, "#f-tool")
    def _tool_changed(self) -> None:
        self.touched.add("tool")
        self._adapt(self.tool)
        self._fill_maturity()
        self._fill_rate()
        self._schedule_check()

    @on(Select.Changed, "#f-institution_code")
    def _institution_changed(self) -> None:
        self.touched.add("institution_code")
        self._schedule_check()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("f-")
        if name not in TEXT_FIELDS:
            return
        auto = (name == "cb_rate" and event.value == self._auto_rate) or (
            name == "maturity_on" and event.value == self._auto_maturity
        )
        if name == "drawn_on":
            self._fill_maturity()
        if name in ("drawn_on", "maturity_on"):
            self._fill_rate()
        if name == "enterprise_uscc":
            self._schedule_suggestions(event.value)
        if not self._filling and not auto:
            self.touched.add(name)
        self._schedule_check()

    def on_key(self, event: events.Key) -> None:
        """Down from the enterprise field walks into its suggestions, as in any search box."""
        focused = self.focused
        if event.key == "down" and isinstance(focused, Input) and focused.id == "f-enterprise_uscc":
            suggestions = self.query_one("#suggestions", OptionList)
            if suggestions.option_count and not suggestions.has_class("empty"):
                suggestions.focus()
                suggestions.highlighted = 0
                event.stop()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "f-enterprise_uscc":
            suggestions = self.query_one("#suggestions", OptionList)
            if suggestions.option_count and not suggestions.has_class("empty"):
                suggestions.focus()
                suggestions.highlighted = 0
                return
        self.focus_next()

    def _schedule_check(self, delay: float = 0.3) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(delay, lambda: self.check(self.request()))

    def _schedule_suggestions(self, text: str) -> None:
        if self._suggest_timer is not None:
            self._suggest_timer.stop()
        if len(text.strip()) < 2 or self._is_picked(text):
            self.query_one("#suggestions", OptionList).add_class("empty")
            return
        self._suggest_timer = self.set_timer(0.25, lambda: self.suggest(text))

    def _is_picked(self, text: str) -> bool:
        return len(text.strip()) == 18 and text.strip().upper() == text.strip()

    # -- workers -----------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="form-check", exit_on_error=False)
    def check(self, request: BookingRequest) -> None:
        try:
            prepared = self.ledger.preview(request)
        except ValidationError as exc:
            self.post_message(PreviewReady(Checked(request, None, field_messages(exc))))
            return
        except Exception as exc:
            self.post_message(PreviewReady(Checked(request, None, {}, describe(exc))))
            return
        share = None
        share_preview = getattr(self.ledger, "share_preview", None)
        if share_preview is not None:
            try:
                share = share_preview(request)
            except Exception:
                share = None
        self.post_message(PreviewReady(Checked(request, prepared, {}, share=share)))

    @work(thread=True, exclusive=True, group="form-suggest", exit_on_error=False)
    def suggest(self, text: str) -> None:
        try:
            with self.reader() as conn:
                rows = queries.search_enterprises(conn, text, limit=8)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(SuggestionsReady(text, rows))

    @work(thread=True, exclusive=True, group="form-save", exit_on_error=False)
    def save(self, request: BookingRequest) -> None:
        try:
            result = self.ledger.book(request)
        except ValidationError as exc:
            self.post_message(Saved(describe(exc), False, field_messages(exc)))
            return
        except Exception as exc:
            self.post_message(Saved(describe(exc), False))
            return
        if hasattr(result, "pending_id"):
            self.post_message(Saved(t("form.queued", id=result.pending_id), True))
        else:
            self.post_message(Saved(t("form.booked", id=result.id), True))

    # -- results -----------------------------------------------------------------------------------------------
    @on(PreviewReady)
    def _preview_ready(self, message: PreviewReady) -> None:
        checked = message.checked
        if checked.request != self.request():
            return  # typed on since; a newer check is on its way
        self._last = checked
        self._show_problems(checked.problems)
        self.query_one("#form-preview", Static).update(preview_text(checked, self.tool))

    def _show_problems(self, problems: dict[str, str]) -> None:
        for name in ("tool", "institution_code", *TEXT_FIELDS):
            if name == "amount" and name not in problems:
                self._adapt_hint_only()
                continue
            if name == "cb_rate" and name not in problems:
                continue
            shown = name in self.touched or self.show_all
            text = problems.get(name, "") if shown else ""
            if name == "enterprise_uscc":
                self._show_enterprise(text)
                continue
            self._set_message(name, text)

    def _show_enterprise(self, problem: str) -> None:
        """Beside the enterprise field: a wrong check character named as such (not "unknown enterprise"), the
        picked company's name while the USCC is the one picked, else the problem."""
        value = self.query_one("#f-enterprise_uscc", Input).value.strip().upper()
        if problem and len(value) == 18 and (why := uscc_problem(value)) is not None:
            expected = uscc_check_char(value[:17]) if why.startswith("校验码") else None
            self._set_message(
                "enterprise_uscc",
                t("form.uscc_check", expected=expected, got=value[17]) if expected else localise(why),
            )
        elif not problem and value in self.picked:
            self._set_message("enterprise_uscc", self.picked[value], hint=True)
        else:
            self._set_message("enterprise_uscc", problem)

    def _adapt_hint_only(self) -> None:
        tool = self.tool
        hint = ""
        if tool is not None and tool.kind == "relending" and tool.funding_share is not None:
            hint = f"= {t('form.principal.relending')} × {percent(tool.funding_share, 0)}"
        self._set_message("amount", hint, hint=True)

    def _set_message(self, name: str, text: str, hint: bool = False) -> None:
        found = self.query(f"#msg-{name}")
        if found:
            msg = found.first(Static)
            msg.update(text)
            msg.set_class(hint, "hint")

    @on(SuggestionsReady)
    def _suggestions_ready(self, message: SuggestionsReady) -> None:
        box = self.query_one("#suggestions", OptionList)
        if message.text != self.query_one("#f-enterprise_uscc", Input).value:
            return
        box.clear_options()
        for row in message.rows:
            box.add_option(Option(f"{row.name}  {row.uscc}  {row.industry_code}", id=row.uscc))
        box.set_class(not message.rows, "empty")

    @on(OptionList.OptionSelected, "#suggestions")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        uscc = event.option.id or ""
        self.picked[uscc] = str(event.option.prompt).split("  ")[0]
        self.query_one("#f-enterprise_uscc", Input).value = uscc
        self.query_one("#suggestions", OptionList).add_class("empty")
        self._set_message("enterprise_uscc", self.picked[uscc], hint=True)
        self.query_one("#f-drawn_on", Input).focus()

    # -- actions -----------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#form-save")
    def action_save(self) -> None:
        self.show_all = True
        checked = self._last
        request = self.request()
        if checked is None or checked.request != request or checked.prepared is None:
            self.check(request)
            self.app.notify(t("form.invalid"), severity="warning")
            return
        self.query_one("#form-save", Button).disabled = True
        self.save(request)

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        self.query_one("#form-save", Button).disabled = False
        if not message.ok:
            self.show_all = True
            self._show_problems(message.problems)
            self.app.notify(message.text, severity="error", timeout=8)
            return
        self.app.notify(message.text)
        self.reset_form(keep_context=True)

    def reset_form(self, keep_context: bool = False) -> None:
        """After a booking the tool, bank and date stay (the next application is usually the same bank's);
        everything about the loan or bill is cleared."""
        keep = {"drawn_on"} if keep_context else set()
        with self.prevent(Input.Changed, Select.Changed):
            for name in TEXT_FIELDS:
                if name not in keep:
                    self.query_one(f"#f-{name}", Input).value = ""
            if not keep_context:
                self.query_one("#f-tool", Select).clear()
                self.query_one("#f-institution_code", Select).clear()
                self.query_one("#f-drawn_on", Input).value = self.today.isoformat()
        self.touched.clear()
        self.show_all = False
        self._auto_rate = self._auto_maturity = ""
        self._last = None
        for name in ("tool", "institution_code", *TEXT_FIELDS):
            self._set_message(name, "")
        self._adapt(self.tool)
        self._fill_maturity()
        self._fill_rate()
        self.query_one("#form-preview", Static).update("")
        self.query_one("#suggestions", OptionList).add_class("empty")
        self.query_one("#f-enterprise_uscc" if keep_context else "#f-tool").focus()

    def action_discard(self) -> None:
        """Escape closes the innermost thing first: the enterprise suggestions, then (asking when something was
        typed) the form."""
        suggestions = self.query_one("#suggestions", OptionList)
        if not suggestions.has_class("empty"):
            suggestions.add_class("empty")
            self.query_one("#f-enterprise_uscc", Input).focus()
            return
        if not self.is_dirty:
            return
        from ledger.tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.reset_form()

        self.app.push_screen(
            ConfirmScreen(t("confirm.discard"), t("confirm.discard_button"), t("confirm.keep_button")), answer
        )

    def action_new_enterprise(self) -> None:
        from ledger.tui.screens.reference_dialogs import EnterpriseDialog

        typed = self.query_one("#f-enterprise_uscc", Input).value.strip()

        def created(uscc: str | None) -> None:
            if uscc:
                self.query_one("#f-enterprise_uscc", Input).value = uscc
                self.query_one("#suggestions", OptionList).add_class("empty")

        self.app.push_screen(EnterpriseDialog(typed), created)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (t("common.save"), "ctrl+s", self.action_save),
            (t("form.new_enterprise"), "ctrl+n", self.action_new_enterprise),
            (t("form.clear"), "escape", self.action_discard),
        ]


def preview_text(checked: Checked, tool: Tool | None) -> str:
    """What the booking would be: amounts, rate and interest, why it counts as key area, and the year's share."""
    if checked.general:
        return f"[red]{checked.general}[/]"
    if checked.prepared is None:
        count = len(checked.problems)
        return f"[dim]{t('form.invalid')} ({count})[/dim]" if count else ""
    values = checked.prepared.values
    lines = [
        t(
            "form.computed",
            amount=yuan(values["amount_fen"]),
            rate=ppm_to_rate(values["cb_rate_ppm"]),
            interest=format_yuan(fen_to_yuan(values["interest_fen"])),
        ),
        t(
            "form.key_area",
            answer=t("common.yes") if values["key_area"] else t("common.no"),
            reason=values["key_area_reason"] or "—",
        ),
    ]
    for warning in checked.prepared.warnings:
        lines.append(f"[yellow]! {warning}[/]")
    if checked.share is not None:
        before, after = checked.share
        lines.append("")
        lines.append(t("form.share_before_after", before=percent(before.share), after=percent(after.share)))
        from ledger.tui.screens.dashboard import share_summary

        lines.append(share_summary(after))
    return "\n".join(lines)
