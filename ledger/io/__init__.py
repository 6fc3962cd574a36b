"""Bulk import and export of drawdowns and the enterprise directory (CSV and XLSX).

Sits above the facade: functions here take a `Ledger` and use its transaction and the service modules, so every
row goes through the same booking rules as `ledger book`, and faces (CLI, TUI) call `ledger.io` directly.
"""

from __future__ import annotations
