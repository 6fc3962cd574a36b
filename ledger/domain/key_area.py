"""Whether a drawdown counts toward the ≥50% key-area rule, and why.

Decided once, at booking, from what was true of the borrower on drawn_on, and stored with the drawdown with its
reason, so the year's share never changes when a certificate later lapses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ledger.domain.enterprise import SCI_TECH_STATUSES, EnterpriseFacts
from ledger.domain.industry import high_tech_group, is_manufacturing


@dataclass(frozen=True)
class KeyAreaDefinition:
    """Which statuses and industries make a key area (科技创新、先进制造); configuration, not code."""

    statuses: tuple[str, ...] = tuple(SCI_TECH_STATUSES)
    manufacturing: bool = True
    high_tech_manufacturing: bool = True
    industry_prefixes: tuple[str, ...] = ()
    # Decisions already made under this definition, by (statuses held, industry code): a bulk load of a million
    # drawdowns meets a few hundred distinct pairs. Kept here rather than in an lru_cache keyed on the
    # definition too, which re-hashed all its fields for every drawdown.
    _decisions: dict[tuple[tuple[str, ...], str], KeyAreaDecision] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )


@dataclass(frozen=True)
class KeyAreaDecision:
    key_area: bool
    reason: str


def classify(facts: EnterpriseFacts, on: date, definition: KeyAreaDefinition) -> KeyAreaDecision:
    """Statuses first (they are the stronger evidence), then industry; the reason names what matched."""
    key = (facts.statuses_on(on), facts.industry_code)
    decision = definition._decisions.get(key)
    if decision is None:
        if len(definition._decisions) >= 8192:  # bounded, like the lru_cache it replaces
            definition._decisions.clear()
        decision = definition._decisions[key] = _decide(*key, definition)
    return decision


def _decide(held: tuple[str, ...], code: str, definition: KeyAreaDefinition) -> KeyAreaDecision:
    """The decision depends only on the statuses held that day and the industry, so it is memoised by classify
    (decisions are immutable)."""
    valid = [s for s in held if s in definition.statuses]
    if valid:
        return KeyAreaDecision(True, "资质:" + "、".join(valid))
    if definition.high_tech_manufacturing:
        group = high_tech_group(code)
        if group:
            return KeyAreaDecision(True, f"高技术制造业:{group}({code})")
    if definition.manufacturing and is_manufacturing(code):
        return KeyAreaDecision(True, f"制造业({code})")
    for prefix in definition.industry_prefixes:
        if code.startswith(prefix):
            return KeyAreaDecision(True, f"重点行业:{prefix}({code})")
    return KeyAreaDecision(False, f"非重点领域:无有效科创资质,行业{code}")
