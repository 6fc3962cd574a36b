"""Which borrowers a tool may fund: a small rule that is data in the tool definition, checked here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.domain.enterprise import SIZES, EnterpriseFacts


@dataclass(frozen=True)
class Eligibility:
    """A borrower qualifies when any listed criterion holds on drawn_on; a rule with none listed admits anyone."""

    statuses: tuple[str, ...] = ()
    industry_prefixes: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    description: str = "不限"

    @property
    def open(self) -> bool:
        return not (self.statuses or self.industry_prefixes or self.sizes)


def eligibility_problem(rule: Eligibility, facts: EnterpriseFacts, on: date) -> str | None:
    """None when eligible, else a sentence naming the target the borrower misses."""
    if rule.open:
        return None
    if any(map(rule.statuses.__contains__, facts.statuses_on(on))):
        return None
    if rule.industry_prefixes and facts.industry_code.startswith(rule.industry_prefixes):
        return None
    if facts.size in rule.sizes:
        return None
    return (
        f"企业不符合工具支持对象({rule.description}):{on.isoformat()}无相应有效资质,"
        f"行业{facts.industry_code},规模{SIZES.get(facts.size, facts.size)}"
    )
