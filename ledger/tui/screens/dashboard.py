"""Dashboard, the opening screen: where the year stands, per tool and for the ≥50% key-area rule.

Each panel loads in its own thread worker, so the screen paints at once with "加载中…" and fills in as the
aggregates (SQL over integer fen, served by the drawdown indexes) come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from ledger.domain.money import yuan_to_fen
from ledger.services import queries
from ledger.services.queries import DrawdownRow, ToolFigures
from ledger.tui.format import iso, percent, ratio, wan, yuan
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerScreen
from ledger.tui.widgets.money_table import TOTAL_KEY, FigureColumn, FigureTable

BAR_WIDTH = 7


def quota_bar(used_fen: int, quota_fen: int | None) -> str:
    """'██████░░░░░░ 51.20%' of the annual quota; the text says so when no quota is configured."""
    if not quota_fen:
        return t("dash.no_quota")
    share = ratio(used_fen, quota_fen) or Decimal(0)
    filled = min(BAR_WIDTH, int(share * BAR_WIDTH))
    return "█" * filled + "░" * (BAR_WIDTH - filled) + " " + percent(share)


@dataclass(frozen=True)
class ToolLine:
    code: str
    name: str
    figures: ToolFigures | None
    outstanding_fen: int | None  # None: still being computed (a pass over the whole ledger)
    quota_fen: int | None


class FiguresLoaded(Message):
    def __init__(self, lines: list[ToolLine]) -> None:
        super().__init__()
        self.lines = lines


class MaturingLoaded(Message):
    def __init__(self, rows: list[DrawdownRow], total: int) -> None:
        super().__init__()
        self.rows, self.total = rows, total


class ShareLoaded(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class FindingsLoaded(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class DashboardScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", t("common.refresh"), id="dashboard.refresh")
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="dash-top"):
            with Vertical(id="dash-tools-box", classes="panel"):
                yield Static(t("dash.tools"), classes="panel-title")
                yield FigureTable(id="dash-tools")
            with Vertical(id="dash-side"):
                with Vertical(classes="panel", id="dash-share-box"):
                    yield Static(t("dash.share"), classes="panel-title")
                    yield Static(t("common.loading"), id="dash-share")
                with Vertical(classes="panel", id="dash-findings-box"):
                    yield Static(t("dash.findings"), classes="panel-title")
                    yield Static(t("common.loading"), id="dash-findings")
        with Vertical(classes="panel", id="dash-maturing-box"):
            yield Static(t("dash.maturing"), classes="panel-title", id="dash-maturing-title")
            yield FigureTable(id="dash-maturing")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#dash-tools", FigureTable).set_columns(
            [
                FigureColumn(t("col.tool"), "name", natural=16),
                FigureColumn(t("col.month_wan"), "money"),
                FigureColumn(t("col.ytd_wan"), "money"),
                FigureColumn(t("col.outstanding_wan"), "money"),
                FigureColumn(t("col.quota"), "text", optional=True),
            ]
        )
        self.query_one("#dash-maturing", FigureTable).set_columns(
            [
                FigureColumn(t("col.maturity_on"), "text"),
                FigureColumn(t("col.id"), "text"),
                FigureColumn(t("col.tool"), "name", minimum=4),
                FigureColumn(t("col.institution"), "name", minimum=4),
                FigureColumn(t("col.enterprise"), "name", minimum=6),
                FigureColumn(t("col.amount_yuan"), "money"),
            ]
        )
        self.action_reload()

    def on_resize(self) -> None:
        """On a narrow terminal the per-tool figures get three quarters of the width (the share panel wraps)."""
        self.query_one("#dash-tools-box").styles.width = "3fr" if self.size.width < 110 else "2fr"

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.action_reload()

    def action_reload(self) -> None:
        self.load_figures()
        self.load_maturing()
        self.load_share()
        self.load_findings()

    # -- workers -----------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="dash-figures", exit_on_error=False)
    def load_figures(self) -> None:
        """The year to date per tool from the share rule's monthly summary (share_month: a few hundred rows
        whatever the ledger's size) and this month from one month of drawdowns, both well under a second on a
        million drawdowns; then the outstanding balances, which need every live drawdown: the operator sees the
        year's figures while the balances are still coming (their column shows "…")."""
        try:
            year = self.ledger.share(self.today.year, as_of=self.today)
            with self.reader() as conn:
                month = queries.tool_month_figures(conn, self.today)
            figures = {
                row.key: ToolFigures(row.key, month.get(row.key, (0, 0))[0], row.total_fen, row.drawdowns)
                for row in year.by_tool
            }
            for code, (fen, _) in month.items():
                figures.setdefault(code, ToolFigures(code, fen, fen, 0))
            self.post_message(FiguresLoaded(self._lines(figures, None)))
            outstanding = {o.tool_code: o.amount_fen for o in self.ledger.outstanding(self.today)}
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(FiguresLoaded(self._lines(figures, outstanding)))

    def _lines(self, figures: dict[str, ToolFigures], outstanding: dict[str, int] | None) -> list[ToolLine]:
        lines = []
        for tool in self.ledger.catalogue:
            quota = yuan_to_fen(tool.annual_quota_yuan) if tool.annual_quota_yuan is not None else None
            balance = None if outstanding is None else outstanding.get(tool.code, 0)
            lines.append(ToolLine(tool.code, tool.name, figures.get(tool.code), balance, quota))
        return lines

    @work(thread=True, exclusive=True, group="dash-maturing", exit_on_error=False)
    def load_maturing(self) -> None:
        try:
            with self.reader() as conn:
                rows, total = queries.maturing_soon(conn, self.today, days=30, limit=50)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(MaturingLoaded(rows, total))

    @work(thread=True, exclusive=True, group="dash-share", exit_on_error=False)
    def load_share(self) -> None:
        share = getattr(self.ledger, "share", None)
        if share is None:
            self.post_message(ShareLoaded(t("common.unavailable")))
            return
        try:
            result = share(self.today.year, as_of=self.today)
        except Exception as exc:
            self.post_message(ShareLoaded(f"{t('common.error')}: {exc}"))
            return
        self.post_message(ShareLoaded(share_summary(result)))

    @work(thread=True, exclusive=True, group="dash-findings", exit_on_error=False)
    def load_findings(self) -> None:
        checks = getattr(self.ledger, "checks", None)
        if checks is None:
            self.post_message(FindingsLoaded(t("common.unavailable")))
            return
        try:
            findings = checks(self.today.year)
        except Exception as exc:
            self.post_message(FindingsLoaded(f"{t('common.error')}: {exc}"))
            return
        if not findings:
            self.post_message(FindingsLoaded(t("dash.no_findings")))
            return
        lines = [
            # No space after the mark: Chinese text then folds at any character, not leaving the bullet alone.
            f"[{'red' if f.severity == 'error' else 'yellow'}]●{escape(f.rule_name)}[/]:{escape(f.message)}"
            for f in findings[:12]
        ]
        if len(findings) > 12:
            lines.append(f"… +{len(findings) - 12}")
        self.post_message(FindingsLoaded("\n".join(lines)))

    # -- handlers ----------------------------------------------------------------------------------------------
    @on(FiguresLoaded)
    def _figures(self, message: FiguresLoaded) -> None:
        month = ytd = outstanding = 0
        pending = any(line.outstanding_fen is None for line in message.lines)
        rows: list[tuple[str | None, list[Any]]] = []
        for line in message.lines:
            f = line.figures
            month += f.month_fen if f else 0
            ytd += f.ytd_fen if f else 0
            outstanding += line.outstanding_fen or 0
            balance = (
                "…"
                if line.outstanding_fen is None
                else (wan(line.outstanding_fen) if line.outstanding_fen else "—")
            )
            rows.append(
                (
                    line.code,
                    [
                        line.name,
                        wan(f.month_fen) if f else "—",
                        wan(f.ytd_fen) if f else "—",
                        balance,
                        quota_bar(f.ytd_fen if f else 0, line.quota_fen),
                    ],
                )
            )
        total = [t("dash.total"), wan(month), wan(ytd), "…" if pending else wan(outstanding), ""]
        self.query_one("#dash-tools", FigureTable).set_rows(rows, total)

    @on(MaturingLoaded)
    def _maturing(self, message: MaturingLoaded) -> None:
        names = {tool.code: tool.name for tool in self.ledger.catalogue}
        rows: list[tuple[str | None, list[Any]]] = [
            (
                str(row.id),
                [
                    iso(row.maturity_on),
                    str(row.id),
                    names.get(row.tool_code, row.tool_code),
                    row.institution_name,
                    row.enterprise_name,
                    yuan(row.amount_fen),
                ],
            )
            for row in message.rows
        ]
        self.query_one("#dash-maturing", FigureTable).set_rows(rows)
        title = f"{t('dash.maturing')} · {t('dd.count', count=f'{message.total:,}')}"
        self.query_one("#dash-maturing-title", Static).update(title)

    @on(ShareLoaded)
    def _share(self, message: ShareLoaded) -> None:
        self.query_one("#dash-share", Static).update(message.text)

    @on(FindingsLoaded)
    def _findings(self, message: FindingsLoaded) -> None:
        self.query_one("#dash-findings", Static).update(message.text)

    @on(DataTable.RowSelected, "#dash-maturing")
    def _open_drawdown(self, event: DataTable.RowSelected) -> None:
        """Enter on a maturing drawdown opens it in the list, where repay and roll over are one key away."""
        if event.row_key.value and event.row_key.value != TOTAL_KEY:
            self.app.open_drawdown(int(str(event.row_key.value)))


def share_summary(result: Any) -> str:
    """The rules module's ShareResult as three lines: share vs threshold, the sums, and the headroom."""
    if not getattr(result, "total_fen", 0):
        # Nothing drawn in the year: there is no share to pass or fail (the CLI says the same).
        return t("rules.nothing_drawn", threshold=percent(result.threshold, 0))
    status = t(f"rules.{result.status}") if getattr(result, "status", "") in ("pass", "fail") else ""
    colour = "green" if result.status == "pass" else "red"
    headroom = ""
    if getattr(result, "headroom_kind", "none") != "none":
        headroom = t(f"rules.headroom.{result.headroom_kind}", amount=wan(result.headroom_fen))
    return "\n".join(
        line
        for line in (
            f"[b {colour}]{percent(result.share)}[/] ({status}, ≥{percent(result.threshold, 0)})",
            f"{t('rules.key_wan')} {wan(result.key_area_fen)} / {t('rules.total_wan')} {wan(result.total_fen)}",
            headroom,
        )
        if line
    )
