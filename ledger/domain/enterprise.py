"""End borrowers: size classes, sci-tech statuses and the facts a booking is judged on."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta

SIZES: dict[str, str] = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}
_SIZE_BY_ANY = {
    **{k: k for k in SIZES},
    **{v: k for k, v in SIZES.items()},
    **{v[0]: k for k, v in SIZES.items()},
}

# 科创企业名录: status → default validity in years (None: until withdrawn).
SCI_TECH_STATUSES: dict[str, int | None] = {
    "高新技术企业": 3,
    "专精特新中小企业": 3,
    '专精特新"小巨人"': 3,
    "国家技术创新示范企业": 3,
    "制造业单项冠军企业": 3,
    "隐形冠军企业": 3,
    "中关村高新技术企业": 2,
    "科技型中小企业": 1,
}
# Designations other tools target; same dated-entry shape, not sci-tech.
OTHER_DESIGNATIONS: dict[str, int | None] = {
    "绿色企业": 3,
    "文化企业": 3,
    "涉农企业": None,
    "民营企业": None,
    "普惠养老机构": None,
}
ALL_STATUSES: dict[str, int | None] = {**SCI_TECH_STATUSES, **OTHER_DESIGNATIONS}
_STATUS_ALIASES = {"专精特新小巨人": '专精特新"小巨人"', "专精特新“小巨人”": '专精特新"小巨人"'}


def normalise_size(text: str) -> str:
    """'小型', 'small' or '小' → 'small'; raises ValueError naming the accepted words."""
    key = text.strip().lower()
    if key not in _SIZE_BY_ANY:
        raise ValueError("企业规模应为 大型/中型/小型/微型 或 large/medium/small/micro")
    return _SIZE_BY_ANY[key]


def normalise_status(text: str) -> str:
    name = _STATUS_ALIASES.get(text.strip(), text.strip())
    if name not in ALL_STATUSES:
        raise ValueError(f"未知资质 {text!r} (known: {', '.join(ALL_STATUSES)})")
    return name


@dataclass(frozen=True)
class StatusEntry:
    status: str
    valid_from: date
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class EnterpriseFacts:
    """What is known of a borrower on one date: the input to key-area and eligibility decisions."""

    uscc: str
    industry_code: str
    size: str
    statuses: tuple[StatusEntry, ...] = field(default_factory=tuple)
    # statuses_on is piecewise constant in the day: the statuses held change only on a day an entry starts or the
    # day after one ends. Eligibility and the key-area decision ask it for every drawdown of a bulk load, so the
    # pieces are worked out once per borrower (on first use) and each answer is then a bisection.
    _pieces: list[tuple[list[date], list[tuple[str, ...]]]] = field(
        default_factory=list, init=False, repr=False, compare=False, hash=False
    )

    def statuses_on(self, day: date) -> tuple[str, ...]:
        if not self._pieces:
            self._pieces.append(_pieces(self.statuses))
        starts, held = self._pieces[0]
        return held[bisect_right(starts, day) - 1]


def _pieces(statuses: tuple[StatusEntry, ...]) -> tuple[list[date], list[tuple[str, ...]]]:
    """The days on which the statuses held change (from date.min) and what is held from each until the next."""
    changes = {date.min}
    for s in statuses:
        changes.add(s.valid_from)
        if s.valid_to is not None and s.valid_to < date.max:
            changes.add(s.valid_to + timedelta(days=1))
    starts = sorted(changes)
    return starts, [tuple(sorted({s.status for s in statuses if s.valid_on(day)})) for day in starts]


def size_from_figures(employees: int, revenue_yuan: int) -> str:
    """工信部联企业〔2011〕300号 thresholds for industry (工业), the commonest case; others are configured."""
    if employees >= 1000 and revenue_yuan >= 400_000_000:
        return "large"
    if employees >= 300 and revenue_yuan >= 20_000_000:
        return "medium"
    if employees >= 20 and revenue_yuan >= 3_000_000:
        return "small"
    return "micro"
