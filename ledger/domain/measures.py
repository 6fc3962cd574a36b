"""Measures: named groups of borrowers whose share of central-bank money a branch publishes.

The ≥50% rule's key areas (银管发〔2022〕98号) are one measure; the 营业管理部's broader "科创、绿色、文化", sci-tech
only (科创企业), green, culture, agriculture and private/small-micro are others, each a KeyAreaDefinition held as
policy (`measures.NAME.*`, docs/rules.md). `target` is the drawdown's own tool's target group (its eligibility).

Every measure is decided at booking, from what was true of the borrower on drawn_on, and stored with the drawdown
(`key_area` for the rule's key areas; `measures` for the others, their names comma-joined), so a published figure
can always be rebuilt as booked; ledger.rules.share also gives it as now known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from ledger.domain.eligibility import Eligibility, eligibility_problem
from ledger.domain.enterprise import EnterpriseFacts
from ledger.domain.key_area import KEY_AREA, KeyAreaDefinition, classify

TARGET = "target"
TARGET_LABEL = "各工具支持对象"
# The order measures are listed in (a measure the policy does not define is not offered).
ORDER = (KEY_AREA, "broad", "sci_tech", "green", "culture", "agriculture", "private_small", TARGET)


def measures_met(
    facts: EnterpriseFacts,
    on: date,
    measures: Mapping[str, KeyAreaDefinition],
    target: Eligibility | None,
) -> tuple[str, ...]:
    """The measures other than the rule's key areas (stored in its own column) whose group the borrower is in on
    `on`, in ORDER; `target` when it meets the tool's own eligibility rule."""
    met = [
        name
        for name, definition in measures.items()
        if name != KEY_AREA and classify(facts, on, definition).key_area
    ]
    if target is not None and eligibility_problem(target, facts, on) is None:
        met.append(TARGET)
    return tuple(sorted(met, key=_rank))


def _rank(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def measures_text(names: Iterable[str]) -> str:
    """The stored form: names comma-joined in ORDER ('' when none)."""
    return ",".join(sorted(set(names), key=_rank))


def parse_measures(text: str | None) -> frozenset[str]:
    return frozenset(n for n in (text or "").split(",") if n)
