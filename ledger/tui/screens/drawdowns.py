"""The ledger as a list: filters run in SQL, rows arrive a page at a time, a detail pane, and the three events.

Every filter change starts one exclusive worker that counts (capped, "≥10,000" when a broad filter would make an
exact count slow) and fetches the first page; later pages are fetched as the list scrolls to them. A reply for
filters the operator has already changed is dropped by generation number, so the list never shows stale rows.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Select, Static

from ledger.services import queries
from ledger.services.queries import SORTS, STATUSES, DrawdownFilter, DrawdownRow
from ledger.tui.format import count, iso, yuan
from ledger.tui.i18n import language, t
from ledger.tui.screens.base import LedgerScreen
from ledger.tui.widgets.drawdown_list import PAGE_SIZE, DrawdownList, header_text, total_text

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DRAWDOWN_ID = re.compile(r"^#\s*(\d{1,18})$")


class ListReady(Message):
    def __init__(
        self, flt: DrawdownFilter, total: int, exact: bool, rows: list[DrawdownRow], cursor: int
    ) -> None:
        super().__init__()
        self.flt, self.total, self.exact, self.rows, self.cursor = flt, total, exact, rows, cursor


class TotalReady(Message):
    def __init__(self, flt: DrawdownFilter, count: int, amount_fen: int) -> None:
        super().__init__()
        self.flt, self.count, self.amount_fen = flt, count, amount_fen


class PageReady(Message):
    def __init__(self, generation: int, page: int, rows: list[DrawdownRow]) -> None:
        super().__init__()
        self.generation, self.page, self.rows = generation, page, rows


class DetailReady(Message):
    def __init__(self, drawdown_id: int, detail: dict[str, Any] | None) -> None:
        super().__init__()
        self.drawdown_id, self.detail = drawdown_id, detail


class DrawdownsScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", t("dd.filter"), id="drawdowns.filter", key_display="/"),
        Binding("ctrl+l", "focus_list", t("nav.drawdowns"), show=False, id="drawdowns.list"),
        Binding("s", "sort", t("dd.sort"), id="drawdowns.sort"),
        Binding("S", "direction", t("dd.direction"), id="drawdowns.direction", key_display="S", show=False),
        Binding("x", "event('reverse')", t("dd.reverse"), id="drawdowns.reverse"),
        Binding("p", "event('repay')", t("dd.repay"), id="drawdowns.repay"),
        Binding("o", "event('rollover')", t("dd.rollover"), id="drawdowns.rollover"),
        Binding("c", "clear_filters", t("dd.clear"), id="drawdowns.clear", show=False),
        Binding("escape", "focus_list", show=False, id="drawdowns.escape"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = DrawdownFilter()
        self._debounce: Timer | None = None
        self._detail_timer: Timer | None = None
        self._institutions_loaded = False
        self.total_fen: int | None = None

    @property
    def tool_names(self) -> dict[str, str]:
        return {tool.code: tool.name for tool in self.ledger.catalogue}

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="dd-filters"):
            yield Select(
                [(f"{tool.name}", tool.code) for tool in self.ledger.catalogue],
                prompt=t("dd.filter.tool"),
                id="f-tool",
                compact=True,
            )
            yield Select([], prompt=t("dd.filter.institution"), id="f-inst", compact=True)
            yield Input(placeholder=t("dd.filter.month"), id="f-month", compact=True)
            yield Select(
                [(t("common.yes"), True), (t("common.no"), False)],
                prompt=t("dd.filter.key"),
                id="f-key",
                compact=True,
            )
            yield Select(
                [(t(f"status.{s}"), s) for s in STATUSES],
                prompt=t("dd.filter.status"),
                id="f-status",
                compact=True,
            )
            yield Input(placeholder=t("dd.filter.text"), id="f-text", compact=True)
        with Horizontal(id="dd-body"):
            with Vertical(id="dd-main"):
                yield Static(header_text(), id="dd-header")
                yield DrawdownList(self.tool_names, id="dd-list")
                yield Static("", id="dd-total")
                yield Static(t("common.loading"), id="dd-status")
            with VerticalScroll(id="dd-detail-box"):
                yield Static(t("dd.detail"), classes="panel-title")
                yield Static(t("dd.no_selection"), id="dd-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(DrawdownList).focus()
        self.load_institutions()
        self.reload()

    def on_resize(self) -> None:
        """Below 100 columns the detail pane gives its room to the list, so amounts are not squeezed off screen;
        it returns on a wider terminal."""
        self.query_one("#dd-detail-box").display = self.size.width >= 100

    def on_screen_resume(self) -> None:
        if self.is_mounted and self._institutions_loaded:
            self.reload(keep=True)

    # -- filters -----------------------------------------------------------------------------------------------
    def _read_filters(self) -> DrawdownFilter | None:
        def value(selector: str) -> Any:
            v = self.query_one(selector, Select).value
            return None if v is Select.NULL else v

        month = self.query_one("#f-month", Input).value.strip()
        if month and not MONTH.match(month):
            self.query_one("#dd-status", Static).update(f"[red]{t('dd.bad_month')}[/]")
            return None
        text = self.query_one("#f-text", Input).value
        if jump := DRAWDOWN_ID.match(text.strip()):
            # "#20001" in the search box: that drawdown, whatever the other filters say.
            return DrawdownFilter(
                sort=self.filter.sort, descending=self.filter.descending, drawdown_id=int(jump.group(1))
            )
        return DrawdownFilter(
            tool_code=value("#f-tool"),
            institution_code=value("#f-inst"),
            month=month or None,
            key_area=value("#f-key"),
            status=value("#f-status"),
            text=text,
            sort=self.filter.sort,
            descending=self.filter.descending,
        )

    @on(Select.Changed)
    def _select_changed(self) -> None:
        self._schedule()

    @on(Input.Changed, "#f-month, #f-text")
    def _input_changed(self) -> None:
        self._schedule(0.35)

    @on(Input.Submitted, "#f-month, #f-text")
    def _input_submitted(self) -> None:
        self._schedule(0.01)
        self.query_one(DrawdownList).focus()

    def _schedule(self, delay: float = 0.05) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(delay, self._apply_filters)

    def _apply_filters(self) -> None:
        flt = self._read_filters()
        if flt is not None and flt != self.filter:
            self.filter = flt
            self.reload()

    def _clear_filter_boxes(self) -> None:
        with self.prevent(Select.Changed, Input.Changed):
            for select in self.query("#dd-filters Select"):
                if isinstance(select, Select):
                    select.clear()
            for box in self.query("#dd-filters Input"):
                if isinstance(box, Input):
                    box.value = ""

    def action_clear_filters(self) -> None:
        self._clear_filter_boxes()
        self.filter = DrawdownFilter(sort=self.filter.sort, descending=self.filter.descending)
        self.reload()

    def show_drawdown(self, drawdown_id: int) -> None:
        """Opened from elsewhere (a maturing drawdown, a drill-down row, Ctrl+G): the list narrowed to that one,
        so its actions are one key away; the filter boxes are emptied so they do not claim another filter; `c`
        clears it."""
        self.filter = DrawdownFilter(
            sort=self.filter.sort, descending=self.filter.descending, drawdown_id=drawdown_id
        )
        if self.is_mounted:
            self._clear_filter_boxes()
            self.reload()
            self.query_one(DrawdownList).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#f-text", Input).focus()

    def action_focus_list(self) -> None:
        self.query_one(DrawdownList).focus()

    def action_sort(self) -> None:
        following = SORTS[(SORTS.index(self.filter.sort) + 1) % len(SORTS)]
        self.filter = DrawdownFilter(**{**self.filter.__dict__, "sort": following})
        self.reload()

    def action_direction(self) -> None:
        self.filter = DrawdownFilter(**{**self.filter.__dict__, "descending": not self.filter.descending})
        self.reload()

    # -- loading -----------------------------------------------------------------------------------------------
    def reload(self, keep: bool = False) -> None:
        cursor = self.query_one(DrawdownList).cursor if keep else 0
        self.query_one("#dd-status", Static).update(t("common.loading"))
        self.total_fen = None
        self._show_total("…")
        self.load_list(self.filter, cursor)
        self.load_total(self.filter)

    def _show_total(self, amount: str) -> None:
        columns = self.query_one(DrawdownList).columns
        self.query_one("#dd-total", Static).update(total_text(columns, t("dd.sum"), amount))

    @work(thread=True, exclusive=True, group="dd-total", exit_on_error=False)
    def load_total(self, flt: DrawdownFilter) -> None:
        """The 合计 of the whole filter, in its own worker: the first page shows while the sum is still running."""
        try:
            with self.reader() as conn:
                n, amount = queries.sum_drawdowns(conn, flt, self.today)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(TotalReady(flt, n, amount))

    @on(TotalReady)
    def _total_ready(self, message: TotalReady) -> None:
        if message.flt != self.filter:
            return
        self.total_fen = message.amount_fen
        self.query_one(DrawdownList).set_money_width(len(yuan(message.amount_fen)))
        self._show_total(yuan(message.amount_fen))

    @work(thread=True, exclusive=True, group="dd-list", exit_on_error=False)
    def load_list(self, flt: DrawdownFilter, cursor: int) -> None:
        try:
            with self.reader() as conn:
                total, exact = queries.count_drawdowns(conn, flt, self.today)
                page = min(cursor, max(total - 1, 0)) // PAGE_SIZE
                rows = queries.drawdown_page(
                    conn, flt, self.today, page * PAGE_SIZE, PAGE_SIZE, total if exact else None
                )
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(ListReady(flt, total, exact, rows, cursor))

    @on(ListReady)
    def _list_ready(self, message: ListReady) -> None:
        if message.flt != self.filter:
            return
        listing = self.query_one(DrawdownList)
        generation = listing.reset(message.total, message.exact, message.cursor)
        listing.add_page(
            generation, min(message.cursor, max(message.total - 1, 0)) // PAGE_SIZE, message.rows
        )
        self._update_status()

    @on(DrawdownList.ScrolledSideways)
    def _sideways(self, message: DrawdownList.ScrolledSideways) -> None:
        listing = self.query_one(DrawdownList)
        self.query_one("#dd-header", Static).update(header_text(listing.columns, message.offset))

    @on(DrawdownList.ColumnsChanged)
    def _columns(self, message: DrawdownList.ColumnsChanged) -> None:
        offset = round(self.query_one(DrawdownList).scroll_x)
        self.query_one("#dd-header", Static).update(header_text(message.columns, offset))
        self._show_total("…" if self.total_fen is None else yuan(self.total_fen))

    @on(DrawdownList.NeedPage)
    def _need_page(self, message: DrawdownList.NeedPage) -> None:
        listing = self.query_one(DrawdownList)
        total = listing.total if listing.exact else None
        self.load_page(self.filter, message.generation, message.page, total)

    @work(thread=True, group="dd-pages", exit_on_error=False)
    def load_page(self, flt: DrawdownFilter, generation: int, page: int, total: int | None = None) -> None:
        try:
            with self.reader() as conn:
                rows = queries.drawdown_page(conn, flt, self.today, page * PAGE_SIZE, PAGE_SIZE, total)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(PageReady(generation, page, rows))

    @on(PageReady)
    def _page_ready(self, message: PageReady) -> None:
        self.query_one(DrawdownList).add_page(message.generation, message.page, message.rows)
        self._update_status()

    def _update_status(self) -> None:
        listing = self.query_one(DrawdownList)
        column = t(f"dd.sort.{self.filter.sort}")
        direction = "↓" if self.filter.descending else "↑"
        position = f"{listing.cursor + 1:,}/" if listing.total else ""
        if self.filter.drawdown_id is not None:
            position = f"{t('col.id')} {self.filter.drawdown_id} · "
        # One line of fixed height: repaint only, no layout pass on every cursor move.
        self.query_one("#dd-status", Static).update(
            f"{position}{t('dd.count', count=count(listing.total, listing.exact))} · "
            f"{t('dd.sorted', column=column, direction=direction)} · {t('unit.yuan')}",
            layout=False,
        )

    def _set_institutions(self, banks: list[tuple[str, str, str]]) -> None:
        with self.prevent(Select.Changed):
            self.query_one("#f-inst", Select).set_options([(name, code) for code, name, _ in banks])
        self._institutions_loaded = True

    # -- detail ------------------------------------------------------------------------------------------------
    @on(DrawdownList.Highlighted)
    def _highlighted(self, message: DrawdownList.Highlighted) -> None:
        self._update_status()
        if self._detail_timer is not None:
            self._detail_timer.stop()
        row = message.row
        if row is None:
            self.query_one("#dd-detail", Static).update(t("dd.no_selection"))
            return
        self._detail_timer = self.set_timer(0.12, lambda: self.load_detail(row.id))

    @work(thread=True, exclusive=True, group="dd-detail", exit_on_error=False)
    def load_detail(self, drawdown_id: int) -> None:
        try:
            with self.reader() as conn:
                detail = queries.drawdown_detail(conn, drawdown_id, self.today)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(DetailReady(drawdown_id, detail))

    @on(DetailReady)
    def _detail_ready(self, message: DetailReady) -> None:
        current = self.query_one(DrawdownList).current
        if current is None or current.id != message.drawdown_id or message.detail is None:
            return
        self.query_one("#dd-detail", Static).update(detail_text(message.detail))

    # -- events ------------------------------------------------------------------------------------------------
    def action_event(self, kind: str) -> None:
        row = self.query_one(DrawdownList).current
        if row is None:
            self.app.bell()
            return
        from ledger.tui.screens.event_dialog import EventDialog

        def done(event_id: int | None) -> None:
            if event_id is not None:
                self.reload(keep=True)

        self.app.push_screen(EventDialog(kind, row, self.tool_names.get(row.tool_code, row.tool_code)), done)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (t("dd.reverse"), "x", lambda: self.action_event("reverse")),
            (t("dd.repay"), "p", lambda: self.action_event("repay")),
            (t("dd.rollover"), "o", lambda: self.action_event("rollover")),
            (t("dd.sort"), "s", self.action_sort),
            (t("dd.clear"), "c", self.action_clear_filters),
        ]


def size_label(size: str) -> str:
    from ledger.domain.enterprise import SIZES

    return SIZES.get(size, size) if language() == "zh" else size


def detail_text(d: dict[str, Any]) -> str:
    """The detail pane: who, what, how much, why it counts as key area, and every event."""
    from ledger.domain.money import ppm_to_rate

    status = t("status." + d["status"])
    lines = [
        f"[b]{t('col.id')} {d['id']}[/b] · {status}",
        f"{d['tool_name']} ({d['tool_code']})",
        f"{t('col.institution')}: {d['institution_name']} ({d['institution_code']})",
        f"{t('col.enterprise')}: {d['enterprise_name']}",
        f"  {d['uscc']} · {d['industry_code']} · {size_label(d['size'])}",
        f"{t('col.drawn_on')}: {iso(d['drawn_on'])}",
        f"{t('col.maturity_on')}: {iso(d['current_maturity_on'])}"
        + (f" ({iso(d['maturity_on'])})" if d["current_maturity_on"] != d["maturity_on"] else ""),
        f"{t('col.amount_yuan')}: {yuan(d['amount_fen'])}",
        f"{t('form.principal.' + d['tool_kind'])}: {yuan(d['principal_fen'])}",
        f"{t('form.cb_rate')}: {ppm_to_rate(d['cb_rate_ppm'])}"
        + (
            f" ≠ {ppm_to_rate(d['table_rate_ppm'])}"
            if d["table_rate_ppm"] not in (None, d["cb_rate_ppm"])
            else ""
        ),
    ]
    if d.get("lend_rate_ppm") is not None:
        lines.append(f"{t('form.lend_rate.' + d['tool_kind'])}: {ppm_to_rate(d['lend_rate_ppm'])}")
    if d.get("interest_fen"):
        lines.append(f"{t('col.interest')}: {yuan(d['interest_fen'])}")
    if d.get("bill_no"):
        lines.append(f"{t('col.bill_no')}: {d['bill_no']} [{d['bill_range']}]")
    if d.get("repaid_fen"):
        lines.append(f"{t('status.repaid')}: {yuan(d['repaid_fen'])}")
    answer = t("common.yes") if d["key_area"] else t("common.no")
    lines.append(t("form.key_area", answer=answer, reason=d["key_area_reason"] or "—"))
    if d.get("override_reason"):
        lines.append(f"{t('form.override_reason')}: {d['override_reason']}")
    if d.get("ext_ref") or d.get("batch_ref"):
        lines.append(f"{t('form.ext_ref')}: {d.get('ext_ref') or ''} {d.get('batch_ref') or ''}".rstrip())
    lines.append(f"[dim]{d['booked_by']} · {str(d['booked_at'])[:19]}[/dim]")
    for event in d["events"]:
        what = {"reversal": t("dd.reverse"), "repayment": t("dd.repay"), "rollover": t("dd.rollover")}[
            event["kind"]
        ]
        extra = yuan(event["amount_fen"]) if event["amount_fen"] else iso(event["new_maturity_on"])
        lines.append(f"• {iso(event['event_on'])} {what} {extra} {event['reason']}".rstrip())
    return "\n".join(lines)
