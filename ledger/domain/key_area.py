"""Whether a borrower falls in a measure's group on a date, and why: the ≥50% rule's key areas and every other
measure (sci-tech, green, agriculture, private/small-micro …) are one shape of definition, held as policy.

The rule's key-area decision is made once, at booking, from what was true of the borrower on drawn_on, and stored
with the drawdown with its reason, so a year's reported share never changes when a certificate later lapses; the
other measures are decided at the same time (ledger.domain.measures) and stored beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ledger.domain.enterprise import SCI_TECH_STATUSES, SIZES, EnterpriseFacts
from ledger.domain.industry import high_tech_group, is_manufacturing

KEY_AREA = "key_area"


@dataclass(frozen=True)
class KeyAreaDefinition:
    """Which statuses, industries and sizes make a borrower part of a measure's group; configuration, not code.

    The default is the rule's own (银管发〔2022〕98号 "科技创新、先进制造等重点领域"): a valid sci-tech status,
    high-tech manufacturing, or an industry on the configured advanced-manufacturing list — not every division of
    section C (`manufacturing` counts all of C13–C43 and is off by default)."""

    statuses: tuple[str, ...] = tuple(SCI_TECH_STATUSES)
    manufacturing: bool = False
    high_tech_manufacturing: bool = True
    industry_prefixes: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    name: str = KEY_AREA
    label: str = "重点领域"
    industry_label: str = "重点行业"
    source: str = ""
    # Decisions already made under this definition, by (statuses held, industry code, size): a bulk load of a
    # million drawdowns meets a few hundred distinct triples. Kept here rather than in an lru_cache keyed on the
    # definition too, which re-hashed all its fields for every drawdown.
    _decisions: dict[tuple[tuple[str, ...], str, str], KeyAreaDecision] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def describe(self) -> str:
        """The definition in one line, as docs and `check share --json` state it."""
        parts = []
        if self.statuses:
            parts.append("有效资质:" + "、".join(self.statuses))
        if self.high_tech_manufacturing:
            parts.append("高技术制造业")
        if self.manufacturing:
            parts.append("制造业(C13–C43)")
        if self.industry_prefixes:
            parts.append(f"{self.industry_label}:" + "、".join(self.industry_prefixes))
        if self.sizes:
            parts.append("规模:" + "、".join(SIZES.get(s, s) for s in self.sizes))
        return ";".join(parts) or "(空定义:无借款人计入)"


@dataclass(frozen=True)
class KeyAreaDecision:
    key_area: bool
    reason: str


def classify(facts: EnterpriseFacts, on: date, definition: KeyAreaDefinition) -> KeyAreaDecision:
    """Statuses first (they are the stronger evidence), then industry, then size; the reason names what matched."""
    key = (facts.statuses_on(on), facts.industry_code, facts.size if definition.sizes else "")
    decision = definition._decisions.get(key)
    if decision is None:
        if len(definition._decisions) >= 8192:  # bounded, like the lru_cache it replaces
            definition._decisions.clear()
        decision = definition._decisions[key] = _decide(*key, definition)
    return decision


def _decide(held: tuple[str, ...], code: str, size: str, definition: KeyAreaDefinition) -> KeyAreaDecision:
    """The decision depends only on the statuses held that day, the industry and the size, so it is memoised by
    classify (decisions are immutable)."""
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
            return KeyAreaDecision(True, f"{definition.industry_label}:{prefix}({code})")
    if size and size in definition.sizes:
        return KeyAreaDecision(True, f"规模:{SIZES.get(size, size)}")
    if definition.name == KEY_AREA:
        return KeyAreaDecision(False, f"非重点领域:无有效科创资质,行业{code}")
    return KeyAreaDecision(False, f"不属于{definition.label}:行业{code}")
