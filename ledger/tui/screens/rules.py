"""Rules: the year's key-area share by tool, bank and month, the checks' findings, and a drill-down into the
drawdowns behind any figure (Ledger.share / Ledger.checks / Ledger.share_drilldown, computed in SQL)."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Select, Static, TabbedContent, TabPane

from ledger.domain.dates import parse_date
from ledger.domain.measures import ORDER
from ledger.rules.share import quarter_period
from ledger.tui.format import iso, percent, wan, yuan
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerModal, LedgerScreen
from ledger.tui.screens.dashboard import share_summary
from ledger.tui.widgets.money_table import TOTAL_KEY, FigureColumn, FigureTable

TABS = (("tool", "rules.by_tool"), ("institution", "rules.by_institution"), ("month", "rules.by_month"))


def parse_period(text: str) -> tuple[int, date | None, date | None]:
    """What the period box holds: a year ('2023'), a quarter ('2023Q1') or two dates joined by '~' (or '..').
    Returns (year, start, end); start and end are None for a whole year. Raises ValueError."""
    raw = text.strip()
    if raw.isdigit() and len(raw) == 4:
        return int(raw), None, None
    if "q" in raw.lower():
        try:
            start, end = quarter_period(raw)
        except Exception as exc:
            raise ValueError(str(exc)) from None
        return start.year, start, end
    for sep in ("~", "..", "～"):
        if sep in raw:
            first, _, last = raw.partition(sep)
            start, end = parse_date(first.strip()), parse_date(last.strip())
            if end < start:
                raise ValueError("end before start")
            return start.year, start, end
    raise ValueError(raw)


class ShareReady(Message):
    def __init__(self, result: Any, findings: list[Any] | None, error: str = "") -> None:
        super().__init__()
        self.result, self.findings, self.error = result, findings, error


class FindingsReady(Message):
    def __init__(self, findings: list[Any] | None) -> None:
        super().__init__()
        self.findings = findings


class RulesScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "focus_year", t("rules.period"), id="rules.year"),
        Binding("m", "focus_measure", t("rules.measure"), id="rules.measure"),
        Binding("o", "focus_office", t("rules.office"), id="rules.office"),
        Binding("r", "reload", t("common.refresh"), id="rules.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.year = 0
        self.start: date | None = None
        self.end: date | None = None
        self.measure: str | None = None  # None: the rule's own (share.measure)
        self.office: str | None = None  # None: every office
        self.rows: dict[str, Any] = {}
        self.result: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="toolbar"):
            yield Static(t("rules.period") + " ", classes="toolbar-label")
            yield Input(id="rules-year", compact=True, max_length=25, placeholder=t("rules.period_help"))
            yield Static(" " + t("rules.measure") + " ", classes="toolbar-label")
            names = [n for n in ORDER if n in self.ledger.config.measure_names()]
            yield Select(
                [(n, n) for n in names], id="rules-measure", compact=True, allow_blank=False, value=names[0]
            )
            yield Static(" " + t("rules.office") + " ", classes="toolbar-label")
            yield Input(id="rules-office", compact=True, max_length=60, placeholder=t("rules.all_offices"))
        with Horizontal(classes="split"):
            with Vertical(classes="left"):
                yield Static(t("common.loading"), id="rules-status")
                with TabbedContent(id="rules-tabs"):
                    for key, label in TABS:
                        with TabPane(t(label), id=f"tab-{key}"):
                            yield FigureTable(id=f"share-{key}")
            with VerticalScroll(classes="right"):
                yield Static(t("rules.findings"), classes="panel-title")
                yield Static(t("common.loading"), id="rules-findings")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.year = self.today.year
        with self.prevent(Input.Changed):
            self.query_one("#rules-year", Input).value = str(self.year)
        for key, _ in TABS:
            first = t("rules.by_month") if key == "month" else t(f"col.{key}")
            self.query_one(f"#share-{key}", FigureTable).set_columns(
                [
                    FigureColumn(first, "text" if key == "month" else "name", natural=16),
                    FigureColumn(t("rules.key_wan"), "money"),
                    FigureColumn(t("rules.total_wan"), "money"),
                    FigureColumn(t("rules.share"), "text"),
                    FigureColumn(t("col.count"), "text"),
                ]
            )
        self.query_one("#share-tool", DataTable).focus()
        self.action_reload()

    def action_focus_year(self) -> None:
        self.query_one("#rules-year", Input).focus()

    def action_focus_measure(self) -> None:
        self.query_one("#rules-measure", Select).focus()

    def action_focus_office(self) -> None:
        self.query_one("#rules-office", Input).focus()

    @on(Input.Submitted, "#rules-year")
    def _year(self, event: Input.Submitted) -> None:
        try:
            self.year, self.start, self.end = parse_period(event.value)
        except ValueError:
            self.query_one("#rules-status", Static).update(f"[red]{t('rules.bad_period')}[/]")
            return
        self.action_reload()
        self.query_one("#share-tool", DataTable).focus()

    @on(Select.Changed, "#rules-measure")
    def _measure(self, event: Select.Changed) -> None:
        chosen = str(event.value)
        if chosen != (self.measure or self.ledger.config.share_measure):
            self.measure = chosen
            self.action_reload()

    @on(Input.Submitted, "#rules-office")
    def _office(self, event: Input.Submitted) -> None:
        self.office = event.value.strip() or None
        self.action_reload()
        self.query_one("#share-tool", DataTable).focus()

    def action_reload(self) -> None:
        self.query_one("#rules-status", Static).update(t("common.loading"))
        self.query_one("#rules-findings", Static).update(t("common.loading"))
        self.load(self.year)

    def _period_args(self, year: int) -> dict[str, Any]:
        """share()'s period: the chosen dates, or the year (up to today for the year in progress)."""
        if self.start is not None:
            return {"start": self.start, "end": self.end}
        return {"year": year, "as_of": self.today if year == self.today.year else None}

    @work(thread=True, exclusive=True, group="rules", exit_on_error=False)
    def load(self, year: int) -> None:
        as_of = self.today if year == self.today.year else None
        try:
            result = self.ledger.share(**self._period_args(year), measure=self.measure, office=self.office)
        except Exception as exc:
            from ledger.tui.errors import describe

            self.post_message(ShareReady(None, None, describe(exc)))
            return
        # The share first (from share_month: instant); the checks, which read every drawdown of the year, after.
        self.post_message(ShareReady(result, None))
        try:
            findings = self.ledger.checks(year, as_of=as_of)
        except Exception:
            findings = None
        self.post_message(FindingsReady(findings))

    @on(ShareReady)
    def _ready(self, message: ShareReady) -> None:
        status = self.query_one("#rules-status", Static)
        if message.result is None:
            status.update(f"[red]{message.error}[/]")
            return
        result = message.result
        self.result = result
        period = f"{iso(result.period_start)}~{iso(result.as_of)}"
        scope = f" · {result.scope_label}" if result.scope else ""
        head = f"{result.measure_label} · {period}{scope}"
        if result.reclassified:
            head += " · " + t("rules.reclassified", count=len(result.reclassified))
        status.update(f"{head}\n{share_summary(result)}")
        self.rows = {}
        for key, rows in (
            ("tool", result.by_tool),
            ("institution", result.by_institution),
            ("month", result.by_month),
        ):
            lines: list[tuple[str | None, list[Any]]] = []
            for row in rows:
                colour = "green" if row.share is not None and row.share >= result.threshold else "red"
                self.rows[f"{key}:{row.key}"] = row
                lines.append(
                    (
                        f"{key}:{row.key}",
                        [
                            row.label,
                            wan(row.key_area_fen),
                            wan(row.total_fen),
                            Text(percent(row.share), style=colour, justify="right"),
                            Text(f"{row.drawdowns:,}", justify="right"),
                        ],
                    )
                )
            total = [
                t("dash.total"),
                wan(result.key_area_fen),
                wan(result.total_fen),
                Text(percent(result.share), justify="right"),
                Text(f"{sum(row.drawdowns for row in rows):,}", justify="right"),
            ]
            self.query_one(f"#share-{key}", FigureTable).set_rows(lines, total)

    @on(FindingsReady)
    def _findings(self, message: FindingsReady) -> None:
        # Wrapped text, not a table: findings are sentences; no space after the mark so Chinese folds cleanly.
        found = [
            f"[{'red' if f.severity == 'error' else 'yellow'}]●{escape(f.rule_name)}[/]:{escape(f.message)}"
            for f in message.findings or []
        ]
        text = "\n".join(found) or (
            t("dash.no_findings") if message.findings is not None else t("common.error")
        )
        self.query_one("#rules-findings", Static).update(text)

    @on(DataTable.RowSelected, "#share-tool, #share-institution, #share-month")
    def _drill(self, event: DataTable.RowSelected) -> None:
        value = str(event.row_key.value)
        row = self.rows.get(value)
        kind, _, key = value.partition(":")
        if value == TOTAL_KEY:
            kind, key = "all", ""
        result = self.result
        label = row.label if row is not None else t("dash.total")
        totals = (
            (row.key_area_fen, row.total_fen, row.drawdowns)
            if row is not None
            else (result.key_area_fen, result.total_fen, None)
            if result is not None
            else None
        )
        self.app.push_screen(
            DrilldownScreen(
                self.year, kind, key, label, totals, start=self.start, end=self.end, office=self.office
            )
        )

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (t("rules.period"), "y", self.action_focus_year),
            (t("rules.measure"), "m", self.action_focus_measure),
            (t("rules.office"), "o", self.action_focus_office),
            (t("common.refresh"), "r", self.action_reload),
        ]


class DrillReady(Message):
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows


class DrilldownScreen(LedgerModal):
    """The first 500 drawdowns behind one figure, each with why it counted as key area or not, under the
    figure's own totals (合计 of the whole figure, not only of the rows shown)."""

    def __init__(
        self,
        year: int,
        kind: str,
        key: str,
        label: str = "",
        totals: tuple[int, int, int | None] | None = None,
        *,
        start: date | None = None,
        end: date | None = None,
        office: str | None = None,
    ) -> None:
        super().__init__()
        self.year, self.kind, self.key = year, kind, key
        self.label = label or key
        self.totals = totals
        self.start, self.end, self.office = start, end, office

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(f"{t('rules.drill')} · {self.year} · {self.label}", classes="dialog-title")
            yield FigureTable(id="drill")

    def on_mount(self) -> None:
        table = self.query_one("#drill", FigureTable)
        table.set_columns(
            [
                FigureColumn(t("col.id"), "text"),
                FigureColumn(t("col.drawn_on"), "text"),
                FigureColumn(t("col.enterprise"), "name", minimum=6),
                FigureColumn(t("col.amount_yuan"), "money"),
                FigureColumn(t("col.key_area"), "text"),
                FigureColumn(t("rules.why"), "name", minimum=8),
            ]
        )
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="drill", exit_on_error=False)
    def load(self) -> None:
        as_of = self.today if self.year == self.today.year and self.start is None else None
        scope: dict[str, Any] = {self.kind: self.key} if self.kind in ("tool", "institution", "month") else {}
        if self.start is not None:
            scope.update(start=self.start, end=self.end)
        try:
            year = None if self.start is not None else self.year
            rows = self.ledger.share_drilldown(year, as_of, limit=500, office=self.office, **scope)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(DrillReady(rows))

    @on(DataTable.RowSelected, "#drill")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value == TOTAL_KEY:
            return
        drawdown_id = int(str(event.row_key.value))
        self.dismiss(None)
        self.app.open_drawdown(drawdown_id)

    @on(DrillReady)
    def _ready(self, message: DrillReady) -> None:
        lines: list[tuple[str | None, list[Any]]] = [
            (
                str(row["id"]),
                [
                    Text(str(row["id"]), justify="right"),
                    iso(row["drawn_on"]),
                    row["enterprise_name"],
                    yuan(row["amount_fen"]),
                    t("common.yes") if row["key_area"] else t("common.no"),
                    row.get("explanation") or "",
                ],
            )
            for row in message.rows
        ]
        total: list[Any] | None = None
        if self.totals is not None:
            key_fen, total_fen, n = self.totals
            shown = f"{len(lines):,}" + (f"/{n:,}" if n is not None else "")
            total = [
                t("dash.total"),
                shown,
                "",
                yuan(total_fen),
                "",
                f"{t('rules.key_area_part')} {yuan(key_fen)}",
            ]
        self.query_one("#drill", FigureTable).set_rows(lines, total)
