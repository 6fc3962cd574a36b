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
    optional: bool = False  # dropped (with its cells) when the figures would not fit otherwise


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
    the rest, each at least its minimum. When that is still too wide, a money column's title gives way to its
    figures (the title is shortened, never a figure). Only if even that does not fit does the table scroll
    sideways (FigureTable first drops its optional columns)."""
    widest = [cell_len(c.label) for c in columns]
    values = [0] * len(columns)
    for row in rows:
        for i, cell in enumerate(row):
            values[i] = max(values[i], cell_len(_plain(cell)))
            widest[i] = max(widest[i], values[i])
    widths = list(widest)
    names = [i for i, c in enumerate(columns) if c.kind == "name"]
    for i in names:
        widths[i] = max(widest[i], columns[i].natural)
    fixed = sum(widths[i] for i in range(len(columns)) if i not in names)
    spare = room - fixed - PADDING * len(columns)
    if names and sum(widths[i] for i in names) > spare:
        # Water-filling: the shortest names keep their width, the longest share what is left equally.
        left = max(spare, 0)
        order = sorted(names, key=lambda i: widths[i])
        for n, i in enumerate(order):
            share = left // (len(order) - n)
            widths[i] = max(columns[i].minimum, min(widths[i], share))
            left -= widths[i]
    over = sum(widths) + PADDING * len(columns) - room
    for i, column in enumerate(columns):
        if over <= 0:
            break
        if column.kind == "money" and widths[i] > max(values[i], 4):
            give = min(over, widths[i] - max(values[i], 4))
            widths[i] -= give
            over -= give
    return widths


def needed(columns: Sequence[FigureColumn], widths: Sequence[int]) -> int:
    return sum(widths) + PADDING * len(columns)


class FigureTable(DataTable[Any]):
    """A DataTable that fits its columns to its rows and its width (see the module docstring)."""

    def __init__(self, columns: Sequence[FigureColumn] = (), **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self.figure_columns: list[FigureColumn] = list(columns)
        self._rows: list[tuple[str | None, list[Any]]] = []
        self._total: list[Any] | None = None
        self._plan: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())

    def set_columns(self, columns: Sequence[FigureColumn]) -> None:
        self.figure_columns = list(columns)
        self._plan = ((), ())
        self._rebuild()

    def set_rows(
        self, rows: Sequence[tuple[str | None, Sequence[Any]]], total: Sequence[Any] | None = None
    ) -> None:
        """(key, cells) per row, and an optional totals row shown last in bold."""
        self._rows = [(key, list(cells)) for key, cells in rows]
        self._total = list(total) if total is not None else None
        self._plan = ((), ())
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
        room = self._room()
        keep = list(range(len(self.figure_columns)))
        columns = self.figure_columns
        rows = self.all_rows
        widths = fit_widths(columns, rows, room)
        while needed([columns[i] for i in keep], [widths[i] for i in keep]) > room:
            optional = [i for i in keep if columns[i].optional]
            if not optional:
                break
            keep.remove(optional[-1])
            kept = [columns[i] for i in keep]
            fitted = fit_widths(kept, [[row[i] for i in keep] for row in rows], room)
            widths = list(widths)
            for i, width in zip(keep, fitted, strict=True):
                widths[i] = width
        plan = (tuple(keep), tuple(widths[i] for i in keep))
        if plan == self._plan and self.row_count == len(rows):
            return
        self._plan = plan
        cursor = self.cursor_row
        self.clear(columns=True)
        for i in keep:
            column, width = columns[i], widths[i]
            label = shorten(column.label, width)
            self.add_column(Text(label, justify="right") if column.kind == "money" else label, width=width)
        for key, cells in self._rows:
            self.add_row(*self._fitted(cells, keep, widths), key=key)
        if self._total is not None:
            self.add_row(*self._fitted(self._total, keep, widths, bold=True), key=TOTAL_KEY)
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1), animate=False)

    def _fitted(
        self, cells: Sequence[Any], keep: Sequence[int], widths: Sequence[int], bold: bool = False
    ) -> list[Any]:
        out: list[Any] = []
        for i in keep:
            cell, column, width = cells[i], self.figure_columns[i], widths[i]
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
