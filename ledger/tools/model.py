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


UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class RatePoint:
    effective_on: date
    tenor_months: int  # 0: any tenor
    rate: Decimal  # percent per year
    source: str = UNCONFIRMED  # where the date and rate come from, or "unconfirmed: why"


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
        """The point of the shortest tabled tenor that covers `tenor_months` (the longest when none does), latest
        effective on `on`. The caller passes the drawdown's own term (drawdown_rules.tenor_for): a 12-month loan of
        a tool with no tenors of its own, following the 支农支小 table, takes the 1-year rate, not the 3-month one."""
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
    # Which national tool's quota, rates and tenors a Beijing product draws on (its code); None for a national tool.
    funding_basis: str | None = None
    # Where each dated or inferred fact comes from (valid_from, valid_to, funding_basis …), or "unconfirmed: why".
    sources: tuple[tuple[str, str], ...] = ()

    def source_of(self, fact: str) -> str:
        """The source of one fact of the definition; a fact no source gives reads "unconfirmed"."""
        return dict(self.sources).get(fact, UNCONFIRMED)

    def fact_sources(self) -> dict[str, str]:
        """The source of every dated or inferred fact this tool states (what `ledger tools --json` shows)."""
        facts = [name for name in ("valid_from", "valid_to") if getattr(self, name) is not None]
        if self.funding_basis is not None:
            facts.append("funding_basis")
        return {name: self.source_of(name) for name in facts}

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    def available_on(self, on: date) -> bool:
        return (self.valid_from is None or on >= self.valid_from) and (
            self.valid_to is None or on <= self.valid_to
        )

    def configured(self, **changes: object) -> Tool:
        return replace(self, **changes)  # type: ignore[arg-type]

    def drawing_on(self, basis: Tool, source: str) -> Tool:
        """This product with the quota basis, rates, tenors, term and rollovers of the national tool it draws on
        (its funding basis); `source` says where that is known from, or "unconfirmed: …"."""
        if basis.kind != self.kind:
            raise ValueError(
                f"{self.code}: funding basis {basis.code} is {basis.kind_name}, not {self.kind_name}"
            )
        sources = dict(self.sources)
        sources["funding_basis"] = source
        return replace(
            self,
            funding_basis=basis.code,
            rate_table=basis.rate_table,
            tenors_months=basis.tenors_months,
            max_term_months=basis.max_term_months,
            max_rollovers=basis.max_rollovers,
            funding_share=basis.funding_share,
            sources=tuple(sorted(sources.items())),
        )
