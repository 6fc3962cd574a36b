"""Loads the tool catalogue (with configuration applied) into the tool tables, so auditors can join on it.

Idempotent: running `ledger init` twice changes nothing and writes no audit record the second time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlmodel import col

from ledger.db.models import ToolRate, ToolRecord
from ledger.domain.money import rate_to_ppm, yuan_to_fen
from ledger.services.audit import append_audit
from ledger.tools import Catalogue, Tool


def tool_row(tool: Tool) -> dict[str, Any]:
    return {
        "code": tool.code,
        "name": tool.name,
        "kind": tool.kind,
        "region": tool.region,
        "target": tool.target,
        "eligibility": tool.eligibility.description,
        "funding_share_ppm": int(tool.funding_share * 1_000_000) if tool.funding_share is not None else None,
        "max_term_months": tool.max_term_months,
        "tenors_months": ",".join(str(t) for t in tool.tenors_months),
        "max_rollovers": tool.max_rollovers,
        "lend_rate_cap_ppm": rate_to_ppm(tool.lend_rate_cap) if tool.lend_rate_cap is not None else None,
        "valid_from": tool.valid_from,
        "valid_to": tool.valid_to,
        "annual_quota_fen": yuan_to_fen(tool.annual_quota_yuan)
        if tool.annual_quota_yuan is not None
        else None,
        "balance_cap_fen": yuan_to_fen(tool.balance_cap_yuan) if tool.balance_cap_yuan is not None else None,
        "rate_table": tool.rate_table.name,
        "inclusive_small_micro": tool.inclusive_small_micro,
    }


def rate_rows(tool: Tool) -> set[tuple[Any, ...]]:
    return {(tool.code, p.effective_on, p.tenor_months, rate_to_ppm(p.rate)) for p in tool.rate_table.points}


def sync_catalogue(conn: Connection, catalogue: Catalogue, actor: str) -> list[str]:
    """Upserts tools and rate points; returns the codes that changed (each change is audited)."""
    existing = {r.code: dict(r._mapping) for r in conn.execute(select(ToolRecord))}
    changed: list[str] = []
    for tool in catalogue:
        row = tool_row(tool)
        current = existing.get(tool.code)
        have_rates = {
            (r.tool_code, r.effective_on, r.tenor_months, r.rate_ppm)
            for r in conn.execute(select(ToolRate).where(col(ToolRate.tool_code) == tool.code))
        }
        want_rates = rate_rows(tool)
        if current is not None and _same(current, row) and _rate_text(have_rates) == _rate_text(want_rates):
            continue
        if current is None:
            conn.execute(insert(ToolRecord).values(**row))
        else:
            conn.execute(update(ToolRecord).where(col(ToolRecord.code) == tool.code).values(**row))
        conn.execute(delete(ToolRate).where(col(ToolRate.tool_code) == tool.code))
        for code, effective_on, tenor, ppm in sorted(want_rates):
            conn.execute(
                insert(ToolRate).values(
                    tool_code=code, effective_on=effective_on, tenor_months=tenor, rate_ppm=ppm
                )
            )
        append_audit(
            conn,
            actor,
            "create" if current is None else "update",
            "tool",
            tool.code,
            {**row, "rates": sorted(want_rates)},
        )
        changed.append(tool.code)
    return changed


def _same(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(_plain(current[k]) == _plain(v) for k, v in wanted.items())


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _rate_text(rates: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    return {(code, _plain(day), tenor, ppm) for code, day, tenor, ppm in rates}
