"""The tool catalogue: every tool the branch runs, looked up by code or by its exact Chinese name."""

from __future__ import annotations

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


__all__ = ["BUILT_IN", "KIND_NAMES", "RATE_TABLES", "Catalogue", "Kind", "RatePoint", "RateTable", "Tool"]
