"""The drawdown list: a Line-API scroll view over a window of rows fetched from SQL as the user scrolls.

Why not DataTable: it builds every row up front (3.5 s at 10k rows, 30 s at 100k). Here the virtual height is the
row count, `render_line` draws only the visible lines from a small page cache, and a missing page is requested
from the owning screen (which fetches it in a thread worker with LIMIT/OFFSET and hands it back). Rows not yet
loaded show as "…" for the few milliseconds a page takes. Toolong's LogLines works the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ledger.services.queries import DrawdownRow
from ledger.tui.format import iso, yuan
from ledger.tui.i18n import language, t

PAGE_SIZE = 100


@dataclass(frozen=True)
class Column:
    key: str
    width: int
    right: bool = False


# Ordered by what an operator scans for: at 120 columns everything up to the status is visible beside the
# detail pane; wider terminals show the rest; left/right scrolls.
COLUMNS: tuple[Column, ...] = (
    Column("col.id", 7, right=True),
    Column("col.drawn_on", 10),
    Column("col.tool", 8),
    Column("col.institution", 14),
    Column("col.enterprise", 18),
    Column("col.amount_yuan", 16, right=True),
    Column("col.status", 6 if language() == "zh" else 11),  # 已冲正 / outstanding
    Column("col.maturity_on", 10),
    Column("col.key_area", 4),
    Column("col.bill_no", 30),
)
LINE_WIDTH = sum(c.width + 1 for c in COLUMNS)
# On a wide terminal the names get the room: (column key, most extra cells it takes), in this order.
GROWS = (("col.enterprise", 22), ("col.institution", 12), ("col.tool", 8))


# On a narrow terminal the names give way first, down to these widths, so the amount stays whole on screen.
SHRINKS = (("col.enterprise", 6), ("col.institution", 4), ("col.tool", 4))
AMOUNT = "col.amount_yuan"


def fit_columns(width: int, money: int = 0) -> tuple[Column, ...]:
    """COLUMNS fitted to a terminal `width` cells wide: the amount column as wide as the widest figure it can show
    (`money`: the cells of the filter's 合计, which no single amount exceeds), names widened where there is space
    and shortened with "…" where there is not, so the amount column is never cut."""
    base = tuple(Column(c.key, max(c.width, money) if c.key == AMOUNT else c.width, c.right) for c in COLUMNS)
    spare = width - sum(c.width + 1 for c in base)
    extra: dict[str, int] = {}
    if spare >= 0:
        for key, most in GROWS:
            extra[key] = min(spare, most)
            spare -= extra[key]
    else:
        # Everything up to and including the status must fit; the columns after it may scroll sideways.
        through = [c.key for c in base].index("col.status") + 1
        over = sum(c.width + 1 for c in base[:through]) - width
        widths = {c.key: c.width for c in base}
        for key, least in SHRINKS:
            if over <= 0:
                break
            give = min(over, widths[key] - least)
            extra[key] = -give
            over -= give
    return tuple(Column(c.key, c.width + extra.get(c.key, 0), c.right) for c in base)


def _fit(text: str, column: Column) -> str:
    """Exactly `column.width` cells (CJK counts two), cut with "…" or padded, then one space."""
    width = cell_len(text)
    if width > column.width:
        text = set_cell_size(text, column.width - 1) + "…"
    elif width < column.width:
        pad = " " * (column.width - width)
        text = pad + text if column.right else text + pad
    return text + " "


def _cell(text: str, column: Column) -> Text:
    cell = Text(text, no_wrap=True, overflow="ellipsis")
    cell.truncate(column.width, overflow="ellipsis")
    width = cell.cell_len
    if width < column.width:
        pad = " " * (column.width - width)
        cell = Text(pad) + cell if column.right else cell + Text(pad)
    return cell + Text(" ")


def header_text(columns: tuple[Column, ...] = COLUMNS, offset: int = 0) -> Text:
    """The column titles over the rows, starting `offset` cells in (the rows' sideways scroll)."""
    line = Text()
    for column in columns:
        line += _cell(t(column.key), column)
    return crop_left(line, offset) if offset else line


def crop_left(text: Text, cells: int) -> Text:
    """`text` without its first `cells` cells (a wide character cut in half becomes a space)."""
    taken = 0
    for index, char in enumerate(text.plain):
        if taken >= cells:
            return text[index:]
        width = cell_len(char)
        if taken + width > cells:
            return Text(" ") + text[index + 1 :]
        taken += width
    return Text()


def total_text(columns: tuple[Column, ...], label: str, amount: str) -> Text:
    """The 合计 line under the list: the label across the columns before the amount, the sum in the amount column."""
    before = 0
    for column in columns:
        if column.key == AMOUNT:
            return Text(_fit(label, Column("", before - 1)) + _fit(amount, column), style="bold")
        before += column.width + 1
    return Text(f"{label} {amount}", style="bold")


def row_cells(row: DrawdownRow, tool_names: dict[str, str]) -> list[str]:
    return [
        str(row.id),
        iso(row.drawn_on),
        tool_names.get(row.tool_code, row.tool_code),
        row.institution_name,
        row.enterprise_name,
        yuan(row.amount_fen),
        t(f"status.{row.status}"),
        iso(row.maturity_on),
        t("common.yes") if row.key_area else "",
        row.bill_no or "",
    ]


class DrawdownList(ScrollView, can_focus=True):
    """Shows `total` rows; asks for pages it lacks with `NeedPage`; reports the row under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", show=False, id="list.up"),
        Binding("down", "cursor(1)", show=False, id="list.down"),
        Binding("pageup", "page(-1)", show=False, id="list.pageup"),
        Binding("pagedown", "page(1)", show=False, id="list.pagedown"),
        Binding("home", "jump(0)", show=False, id="list.home"),
        Binding("end", "jump(-1)", show=False, id="list.end"),
        Binding("enter", "select", show=False, id="list.select"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "drawdown-list--cursor",
        "drawdown-list--reversed",
        "drawdown-list--key",
    }
    DEFAULT_CSS = """
    DrawdownList > .drawdown-list--cursor { background: $accent 40%; }
    DrawdownList:focus > .drawdown-list--cursor { background: $accent; color: $text; }
    DrawdownList > .drawdown-list--reversed { color: $text-muted; text-style: strike; }
    DrawdownList > .drawdown-list--key { color: $success; }
    """

    cursor: reactive[int] = reactive(0)

    class NeedPage(Message):
        def __init__(self, generation: int, page: int) -> None:
            super().__init__()
            self.generation = generation
            self.page = page

    class Highlighted(Message):
        def __init__(self, row: DrawdownRow | None) -> None:
            super().__init__()
            self.row = row

    class ColumnsChanged(Message):
        """The widths changed with the terminal: the screen redraws the header to match."""

        def __init__(self, columns: tuple[Column, ...]) -> None:
            super().__init__()
            self.columns = columns

    class ScrolledSideways(Message):
        """The rows moved left or right: the header above them moves with them."""

        def __init__(self, offset: int) -> None:
            super().__init__()
            self.offset = offset

    class Selected(Message):
        def __init__(self, row: DrawdownRow) -> None:
            super().__init__()
            self.row = row

    def __init__(self, tool_names: dict[str, str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tool_names = tool_names
        self.generation = 0
        self.total = 0
        self.exact = True
        self._pages: dict[int, list[DrawdownRow]] = {}
        self._pending: set[int] = set()
        self._strips: dict[int, Strip] = {}
        self.columns = COLUMNS  # rendered rows of this generation (rows never change within one)
        self.money_width = 0  # cells of the widest figure the amount column must show (the filter's 合计)

    # -- data --------------------------------------------------------------------------------------------------
    def reset(self, total: int, exact: bool, cursor: int = 0) -> int:
        """A new result set (filters or sort changed, or a write happened): drop the cache, keep nothing stale."""
        self.generation += 1
        self._pages.clear()
        self._pending.clear()
        self._strips.clear()
        self.total, self.exact = total, exact
        self.virtual_size = Size(self.line_width, total)
        self.set_reactive(DrawdownList.cursor, min(max(cursor, 0), max(total - 1, 0)))
        self._scroll_cursor_into_view(animate=False)
        self.refresh()
        self._post_highlight()
        return self.generation

    def add_page(self, generation: int, page: int, rows: list[DrawdownRow]) -> None:
        if generation != self.generation:
            return  # a late answer for filters the user has already changed
        self._pending.discard(page)
        self._pages[page] = rows
        start = page * PAGE_SIZE
        if not self.exact and start + len(rows) >= self.total:
            # Capped count: the list grows as the user reaches its end, and becomes exact at the last page.
            if len(rows) < PAGE_SIZE:
                self.total, self.exact = start + len(rows), True
            else:
                self.total = start + len(rows) + PAGE_SIZE
            self.virtual_size = Size(self.line_width, self.total)
        if len(self._pages) > 50:  # keep memory flat on long scrolls: forget pages far from the cursor
            here = self.cursor // PAGE_SIZE
            for far in sorted(self._pages, key=lambda p: -abs(p - here))[:10]:
                del self._pages[far]
                for index in range(far * PAGE_SIZE, (far + 1) * PAGE_SIZE):
                    self._strips.pop(index, None)
        self.refresh()
        if start <= self.cursor < start + PAGE_SIZE:
            self._post_highlight()

    def row_at(self, index: int) -> DrawdownRow | None:
        rows = self._pages.get(index // PAGE_SIZE)
        if rows is None:
            return None
        offset = index % PAGE_SIZE
        return rows[offset] if offset < len(rows) else None

    @property
    def current(self) -> DrawdownRow | None:
        return self.row_at(self.cursor) if self.total else None

    def _request(self, page: int) -> None:
        if page < 0 or page * PAGE_SIZE >= max(self.total, 1) or page in self._pages or page in self._pending:
            return
        self._pending.add(page)
        self.post_message(self.NeedPage(self.generation, page))

    # -- rendering ---------------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.row_at(index)
        if row is None:
            self._request(index // PAGE_SIZE)
            return Strip([Segment("  …", base)]).crop_extend(0, width, base)
        # Neighbouring pages are fetched before the user reaches them, so paging down rarely shows "…".
        page = index // PAGE_SIZE
        if index % PAGE_SIZE > PAGE_SIZE - 40:
            self._request(page + 1)
        elif index % PAGE_SIZE < 40:
            self._request(page - 1)
        strip = self._strips.get(index)
        if strip is None:
            strip = self._render_row(row)
            self._strips[index] = strip
        style = base
        if index == self.cursor:
            style = base + self.get_component_rich_style("drawdown-list--cursor")
            strip = strip.apply_style(style)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _render_row(self, row: DrawdownRow) -> Strip:
        """Built once per row and cached: scrolling repaints from the cache instead of re-measuring CJK text."""
        cells = [
            _fit(value, column)
            for value, column in zip(row_cells(row, self.tool_names), self.columns, strict=True)
        ]
        if row.status == "reversed":
            segments = [Segment("".join(cells), self.get_component_rich_style("drawdown-list--reversed"))]
        elif row.key_area:
            segments = [
                Segment(cells[0], self.get_component_rich_style("drawdown-list--key")),
                Segment("".join(cells[1:])),
            ]
        else:
            segments = [Segment("".join(cells))]
        return Strip(segments, self.line_width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.ScrolledSideways(round(new_value)))

    # -- cursor ------------------------------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        self._post_highlight()

    def _post_highlight(self) -> None:
        self.post_message(self.Highlighted(self.current))

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=animate, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=animate, immediate=True)

    def _move(self, index: int) -> None:
        if self.total:
            self.cursor = min(max(index, 0), self.total - 1)

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        """One screenful up or down: the rows and the cursor move together, so the cursor stays where it was on
        the screen (and always on it)."""
        if not self.total:
            return
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_offset.y)
        last_top = max(self.total - height, 0)
        new_top = min(max(top + direction * height, 0), last_top)
        row_on_screen = min(max(self.cursor - top, 0), height - 1)
        cursor = min(max(new_top + row_on_screen, 0), self.total - 1)
        if new_top == top:  # at either end: the cursor goes to the first or last row
            cursor = 0 if direction < 0 else self.total - 1
        self.scroll_to(y=new_top, animate=False, immediate=True)
        self.cursor = cursor

    def action_jump(self, where: int) -> None:
        self._move(self.total - 1 if where < 0 else where)

    def action_select(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Selected(row))

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", None)
        if isinstance(offset, int):
            self._move(int(self.scroll_offset.y) + offset)

    def set_money_width(self, cells: int) -> None:
        """The widest amount in this result set (its 合计) changed: refit the columns."""
        if cells != self.money_width:
            self.money_width = cells
            self.on_resize()

    def on_resize(self) -> None:
        # Leave room for the vertical scrollbar, which appears once the row count is known.
        columns = fit_columns(self.size.width - self.styles.scrollbar_size_vertical, self.money_width)
        if columns != self.columns:
            self.columns = columns
            self._strips.clear()
            self.post_message(self.ColumnsChanged(columns))
        self.virtual_size = Size(self.line_width, self.total)

    @property
    def line_width(self) -> int:
        return sum(c.width + 1 for c in self.columns)
