"""The one table every screen uses for figures: money is never clipped, names give way first.

A `FigureTable` is a DataTable whose columns are declared by kind:

- ``money``: right-aligned, exactly as wide as the widest figure in view (totals row and header included), so a
  figure is never cut, at any terminal size;
- ``text``: short codes, dates, counts, percentages — as wide as their widest value;
- ``name``: enterprise, bank and tool names — they share what room is left and are shortened with "…".

Rows are kept as given and the columns re-fitted whenever the table is resized or its rows change. A totals row
(合计) can be set apart at the bottom. Only small result sets belong here (tens to a few hundred rows); the
million-row ledger list is the Line-API `DrawdownList`, which applies the same rule with its own column fitter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.widgets import DataTable

Kind = Literal["money", "text", "name"]
TOTAL_KEY = "__total__"
PADDING = 2  # DataTable's cell padding, one cell each side


@dataclass(frozen=True)
class FigureColumn:
    label: str
    kind: Kind = "text"
    minimum: int = 4  # names: never narrower than this
    natural: int = 0  # names: a width they would like even when short values are shown (0: the widest value)


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def shorten(text: str, width: int) -> str:
    """`text` in at most `width` cells (CJK counts two), cut with "…"."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    return set_cell_size(text, width - 1).rstrip() + "…"


def fit_widths(columns: Sequence[FigureColumn], rows: Sequence[Sequence[Any]], room: int) -> list[int]:
    """Column widths for `room` cells: money and text columns at their widest value (never less), names sharing
    the rest, each at least its minimum. When even the minimums do not fit the table scrolls sideways — still
    without cutting a figure."""
    widest = [cell_len(c.label) for c in columns]
    for row in rows:
        for i, cell in enumerate(row):
            widest[i] = max(widest[i], cell_len(_plain(cell)))
    widths = list(widest)
    names = [i for i, c in enumerate(columns) if c.kind == "name"]
    if not names:
        return widths
    fixed = sum(widths[i] for i in range(len(columns)) if i not in names)
    spare = room - fixed - PADDING * len(columns)
    for i in names:
        widths[i] = max(widest[i], columns[i].natural)
    if sum(widths[i] for i in names) <= spare:
        return widths
    # Water-filling: the shortest names keep their width, the longest share what is left equally.
    left = max(spare, 0)
    order = sorted(names, key=lambda i: widths[i])
    for n, i in enumerate(order):
        share = left // (len(order) - n)
        widths[i] = max(columns[i].minimum, min(widths[i], share))
        left -= widths[i]
    return widths


class FigureTable(DataTable[Any]):
    """A DataTable that fits its columns to its rows and its width (see the module docstring)."""

    def __init__(self, columns: Sequence[FigureColumn] = (), **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self.figure_columns: list[FigureColumn] = list(columns)
        self._rows: list[tuple[str | None, list[Any]]] = []
        self._total: list[Any] | None = None
        self._widths: list[int] = []

    def set_columns(self, columns: Sequence[FigureColumn]) -> None:
        self.figure_columns = list(columns)
        self._widths = []
        self._rebuild()

    def set_rows(
        self, rows: Sequence[tuple[str | None, Sequence[Any]]], total: Sequence[Any] | None = None
    ) -> None:
        """(key, cells) per row, and an optional totals row shown last in bold."""
        self._rows = [(key, list(cells)) for key, cells in rows]
        self._total = list(total) if total is not None else None
        self._widths = []
        self._rebuild()

    @property
    def all_rows(self) -> list[list[Any]]:
        cells = [cells for _, cells in self._rows]
        return cells + ([self._total] if self._total is not None else [])

    def _room(self) -> int:
        width = self.size.width or (self.parent.size.width if self.parent is not None else 0)  # type: ignore[attr-defined]
        if not width:
            width = self.app.size.width
        return max(width - self.styles.scrollbar_size_vertical - 1, 10)

    def _rebuild(self) -> None:
        if not self.figure_columns:
            return
        widths = fit_widths(self.figure_columns, self.all_rows, self._room())
        if widths == self._widths and self.row_count == len(self.all_rows):
            return
        self._widths = widths
        cursor = self.cursor_row
        self.clear(columns=True)
        for column, width in zip(self.figure_columns, widths, strict=True):
            label: Any = Text(column.label, justify="right") if column.kind == "money" else column.label
            self.add_column(label, width=width)
        for key, cells in self._rows:
            self.add_row(*self._fitted(cells, widths), key=key)
        if self._total is not None:
            self.add_row(*self._fitted(self._total, widths, bold=True), key=TOTAL_KEY)
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1), animate=False)

    def _fitted(self, cells: Sequence[Any], widths: Sequence[int], bold: bool = False) -> list[Any]:
        out: list[Any] = []
        for cell, column, width in zip(cells, self.figure_columns, widths, strict=True):
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            if column.kind == "name" and text.cell_len > width:
                text = Text(shorten(text.plain, width), style=text.style)
            if column.kind == "money" or (column.kind == "text" and text.justify == "right"):
                text.justify = "right"
            if bold:
                text.stylize("bold")
            out.append(text)
        return out

    def on_resize(self) -> None:
        self._rebuild()
