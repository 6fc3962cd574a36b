"""The shape of a tool definition and its dated rate table.

A tool is data: adding one is adding one definition in `beijing.py` or `national.py`; nothing else in the code
names a specific tool. Drawdowns reference a tool by code and never copy its terms (Fineract's products/accounts).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from ledger.domain.eligibility import Eligibility

Kind = Literal["relending", "rediscount"]
KIND_NAMES: dict[str, str] = {"relending": "再贷款", "rediscount": "再贴现"}


@dataclass(frozen=True)
class RatePoint:
    effective_on: date
    tenor_months: int  # 0: any tenor
    rate: Decimal  # percent per year


@dataclass(frozen=True)
class RateTable:
    """Published central-bank rates by effective date and tenor; a booking takes the latest point on drawn_on."""

    name: str
    points: tuple[RatePoint, ...]
    # rate_on's answers: a bulk load asks once per row, of a few thousand distinct (date, tenor) pairs.
    _memo: dict[tuple[date, int], Decimal | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def rate_on(self, on: date, tenor_months: int = 0) -> Decimal | None:
        key = (on, tenor_months)
        try:
            return self._memo[key]
        except KeyError:
            rate = self._memo[key] = self._lookup(on, tenor_months)
            return rate

    def _lookup(self, on: date, tenor_months: int) -> Decimal | None:
        best: RatePoint | None = None
        tenors = {p.tenor_months for p in self.points}
        wanted = 0 if tenors == {0} else min((t for t in tenors if t >= tenor_months), default=max(tenors))
        for point in self.points:
            if (
                point.tenor_months == wanted
                and point.effective_on <= on
                and (best is None or point.effective_on > best.effective_on)
            ):
                best = point
        return best.rate if best else None

    @property
    def tenors(self) -> tuple[int, ...]:
        return tuple(sorted({p.tenor_months for p in self.points}))


@dataclass(frozen=True)
class Tool:
    code: str
    name: str
    kind: Kind
    region: str  # 北京 / 全国
    target: str
    eligibility: Eligibility
    rate_table: RateTable
    funding_share: Decimal | None = None  # central-bank amount = share × principal; None: quota or face based
    max_term_months: int | None = 12  # relending term; None for rediscount (the bill decides)
    tenors_months: tuple[int, ...] = ()  # allowed tenors, e.g. (3, 6, 12) for 支农支小
    max_rollovers: int = 0
    lend_rate_cap: Decimal | None = None  # end-borrower rate cap in percent, e.g. 3.2 for 设备更新改造
    valid_from: date | None = None
    valid_to: date | None = None
    inclusive_small_micro: bool = False  # 普惠小微: one borrower's total ≤ 10 million yuan
    annual_quota_yuan: Decimal | None = None  # configuration (ledger.toml), unset by default
    balance_cap_yuan: Decimal | None = None
    notes: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    def available_on(self, on: date) -> bool:
        return (self.valid_from is None or on >= self.valid_from) and (
            self.valid_to is None or on <= self.valid_to
        )

    def configured(self, **changes: object) -> Tool:
        return replace(self, **changes)  # type: ignore[arg-type]
