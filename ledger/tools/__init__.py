"""The tool catalogue: every tool the branch runs, looked up by code or by its exact Chinese name."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date

from ledger.tools.beijing import BEIJING_TOOLS
from ledger.tools.model import KIND_NAMES, Kind, RatePoint, RateTable, Tool
from ledger.tools.national import NATIONAL_TOOLS
from ledger.tools.rates import RATE_TABLES

BUILT_IN: tuple[Tool, ...] = BEIJING_TOOLS + NATIONAL_TOOLS


class Catalogue:
    """The built-in definitions with configuration (quotas, Beijing rates) applied; immutable once built."""

    def __init__(self, tools: tuple[Tool, ...] = BUILT_IN) -> None:
        codes = [t.code for t in tools]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate tool code in catalogue")
        self._tools = tools
        self._by_key: dict[str, Tool] = {}
        for tool in tools:
            for key in (tool.code, tool.code.lower(), tool.name, *tool.aliases):
                self._by_key[key] = tool

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def find(self, code_or_name: str) -> Tool | None:
        return self._by_key.get(code_or_name.strip())

    def get(self, code_or_name: str) -> Tool:
        tool = self.find(code_or_name)
        if tool is None:
            raise KeyError(code_or_name)
        return tool

    def names(self) -> list[str]:
        return [f"{t.code} {t.name}" for t in self._tools]

    def on(self, day: date) -> Catalogue:
        """The catalogue as configured on `day` (a plain catalogue is the same every day)."""
        return self


class DatedCatalogue(Catalogue):
    """Catalogues by the date their configuration (rate tables, caps) took effect: a file's rows are judged by
    the one in force on each row's date. `find` answers from the latest (a tool's identity never changes)."""

    def __init__(self, versions: list[tuple[date, Catalogue]]) -> None:
        ordered = sorted(versions, key=lambda v: v[0])
        super().__init__(tuple(ordered[-1][1]))
        self._starts = [d for d, _ in ordered]
        self._versions = [c for _, c in ordered]

    def on(self, day: date) -> Catalogue:
        return self._versions[max(0, bisect_right(self._starts, day) - 1)]


__all__ = [
    "BUILT_IN",
    "KIND_NAMES",
    "RATE_TABLES",
    "Catalogue",
    "DatedCatalogue",
    "Kind",
    "RatePoint",
    "RateTable",
    "Tool",
]
