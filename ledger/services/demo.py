"""Deterministic, realistic demo data: real Beijing banks, Chinese firm names with valid USCCs, statuses with
validity (some lapsing mid-year), bills for rediscount, and a history of reversals, repayments and rollovers.

Rows go through the same pure booking rules as `book` (prepare_drawdown) and are written in bulk under one audit
record per kind of write, so a million drawdowns load in well under two minutes and `audit verify` passes on them.
The mix is tuned so a year's key-area share lands near, and not always above, 50%.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, insert, select
from sqlmodel import col

from ledger.config import Config
from ledger.db.engine import streamed
from ledger.db.models import Drawdown, Enterprise, Institution
from ledger.domain.bills import make_bill_number
from ledger.domain.dates import add_months
from ledger.domain.enterprise import EnterpriseFacts, StatusEntry
from ledger.domain.uscc import make_uscc
from ledger.services.audit import append_many, begin_audit, reference_payload
from ledger.services.bulk import insert_drawdowns, insert_events, insert_statuses
from ledger.services.controls import Controls
from ledger.services.drawdown_rules import BookingRequest, prepare_drawdown, tenor_for
from ledger.services.policy import PolicyBook
from ledger.services.reference import EnterpriseInput, default_valid_to
from ledger.tools import Tool


def demo_office(bank_code: str) -> str:
    """The PBOC office handling a demo bank's drawdowns: every third bank 中关村中心支行, the rest 营业管理部."""
    return "中关村中心支行" if [b[0] for b in BANKS].index(bank_code) % 3 == 2 else "营业管理部"


BANKS: tuple[tuple[str, str, str, str], ...] = (
    # code (CNAPS-style), name, type, bank code used in bill numbers
    ("102100099996", "中国工商银行北京市分行", "国有大型商业银行", "102100000030"),
    ("103100000026", "中国农业银行北京市分行", "国有大型商业银行", "103100000026"),
    ("104100000004", "中国银行北京市分行", "国有大型商业银行", "104100000004"),
    ("105100000017", "中国建设银行北京市分行", "国有大型商业银行", "105100000017"),
    ("301100000015", "交通银行北京市分行", "国有大型商业银行", "301100000015"),
    ("403100000004", "中国邮政储蓄银行北京分行", "国有大型商业银行", "403100000004"),
    ("302100011000", "中信银行总行营业部", "股份制商业银行", "302100011000"),
    ("303100000006", "中国光大银行北京分行", "股份制商业银行", "303100000006"),
    ("304100040000", "华夏银行北京分行", "股份制商业银行", "304100040000"),
    ("305100000013", "中国民生银行北京分行", "股份制商业银行", "305100000013"),
    ("306100004015", "广发银行北京分行", "股份制商业银行", "306100004015"),
    ("308100005019", "招商银行北京分行", "股份制商业银行", "308100005019"),
    ("309100000011", "兴业银行北京分行", "股份制商业银行", "309100000011"),
    ("310100000013", "上海浦东发展银行北京分行", "股份制商业银行", "310100000013"),
    ("307100003019", "平安银行北京分行", "股份制商业银行", "307100003019"),
    ("313100000013", "北京银行", "城市商业银行", "313100000013"),
    ("402100000018", "北京农村商业银行", "农村商业银行", "402100000018"),
    ("323100000019", "北京中关村银行", "民营银行", "323100000019"),
)

DISTRICTS = (
    "0101",
    "0102",
    "0105",
    "0106",
    "0107",
    "0108",
    "0109",
    "0111",
    "0112",
    "0113",
    "0114",
    "0115",
    "0116",
)
PLACES = (
    "北京",
    "中关村",
    "京",
    "北京亦庄",
    "首都",
    "燕京",
    "京华",
    "海淀",
    "朝阳",
    "顺义",
    "昌平",
    "大兴",
    "通州",
)
WORDS = (
    "华信",
    "博睿",
    "启明",
    "中科",
    "天成",
    "恒达",
    "智云",
    "蓝海",
    "星辰",
    "同创",
    "康瑞",
    "鼎新",
    "汇通",
    "泰和",
    "瑞丰",
    "远航",
    "金桥",
    "万嘉",
    "融创",
    "清源",
    "宏图",
    "嘉禾",
    "润泽",
    "旭日",
    "长青",
    "安信",
    "正元",
    "联众",
    "卓越",
    "新锐",
)
# Industry code → (weight, business word); manufacturing and high-tech weigh about a third.
INDUSTRIES: tuple[tuple[str, int, str], ...] = (
    ("C3911", 5, "计算机制造"),
    ("C3922", 3, "通信设备"),
    ("C2710", 3, "医药"),
    ("C4014", 2, "仪器仪表"),
    ("C3425", 3, "机械制造"),
    ("C3670", 2, "汽车零部件"),
    ("C3825", 2, "光伏设备"),
    ("C1390", 2, "食品加工"),
    ("C2320", 1, "印刷"),
    ("I6510", 10, "软件"),
    ("I6421", 4, "网络科技"),
    ("M7320", 6, "技术研究"),
    ("M7520", 4, "科技推广"),
    ("F5176", 8, "商贸"),
    ("F5212", 4, "零售"),
    ("A0111", 3, "农业"),
    ("A0311", 2, "养殖"),
    ("R8610", 3, "文化传媒"),
    ("R8730", 2, "影视"),
    ("D4415", 2, "新能源"),
    ("D4416", 1, "风电"),
    ("N7722", 2, "环保"),
    ("Q8514", 1, "养老服务"),
    ("B0610", 1, "煤业"),
    ("D4411", 1, "热电"),
    ("L7212", 4, "商务服务"),
    ("E4710", 3, "建设"),
    ("G5430", 3, "物流"),
    ("H6210", 2, "餐饮"),
)
SIZE_WEIGHTS = (("micro", 30), ("small", 40), ("medium", 22), ("large", 8))
SCI_TECH = (
    "高新技术企业",
    "专精特新中小企业",
    '专精特新"小巨人"',
    "中关村高新技术企业",
    "科技型中小企业",
    "制造业单项冠军企业",
)


@dataclass(frozen=True)
class DemoResult:
    institutions: int
    enterprises: int
    drawdowns: int
    events: int
    rejected: int  # generated rows the booking rules refused (and were left out)


@dataclass
class _Firm:
    id: int
    facts: EnterpriseFacts


def _weighted(rng: random.Random, items: tuple[tuple[Any, int], ...] | list[tuple[Any, int]]) -> Any:
    total = sum(w for _, w in items)
    pick = rng.uniform(0, total)
    for item, weight in items:
        pick -= weight
        if pick <= 0:
            return item
    return items[-1][0]


def _firm_statuses(rng: random.Random, industry: str, size: str, first_year: int) -> list[StatusEntry]:
    statuses: list[StatusEntry] = []
    techy = industry[:3] in ("C39", "C27", "C40", "I65", "I64", "M73", "M75") or industry.startswith("C38")
    if rng.random() < (0.55 if techy else 0.06):
        name = rng.choice(SCI_TECH)
        start = date(first_year - rng.randint(0, 3), rng.randint(1, 12), rng.randint(1, 28))
        end = default_valid_to(name, start)
        statuses.append(StatusEntry(name, start, end))
    for designation, chance, match in (
        ("绿色企业", 0.6, ("D441", "N77", "C3825")),
        ("文化企业", 0.6, ("R8", "C232")),
        ("涉农企业", 0.7, ("A", "C13")),
    ):
        if industry.startswith(match) and rng.random() < chance:
            statuses.append(StatusEntry(designation, date(first_year - 2, 1, 1), None))
    if size in ("small", "micro", "medium") and rng.random() < 0.6:
        statuses.append(StatusEntry("民营企业", date(first_year - 5, 1, 1), None))
    if industry.startswith("Q851") and rng.random() < 0.8:
        statuses.append(StatusEntry("普惠养老机构", date(first_year - 1, 1, 1), None))
    return statuses


def _create_reference(
    conn: Connection, config: Config, actor: str, rng: random.Random, firms: int, first_year: int
) -> tuple[list[tuple[int, str, str]], list[_Firm]]:
    existing_banks = {r[0]: r[1] for r in conn.execute(select(col(Institution.code), col(Institution.id)))}
    new_banks = [b for b in BANKS if b[0] not in existing_banks]
    if new_banks:
        rows = [{"code": c, "name": n, "type": t, "office": demo_office(c)} for c, n, t, _ in new_banks]
        conn.execute(insert(Institution), rows)
        append_many(conn, actor, [("create", "institution", r["code"], r) for r in rows])
    ids = {r[0]: r[1] for r in conn.execute(select(col(Institution.code), col(Institution.id)))}
    offices = {r[0]: r[1] for r in conn.execute(select(col(Institution.code), col(Institution.office)))}
    banks = [(cast(int, ids[c]), bill_bank, offices[c]) for c, _n, _t, bill_bank in BANKS]

    taken = {r[0] for r in conn.execute(select(col(Enterprise.uscc)))}
    industries = [(code, weight) for code, weight, _ in INDUSTRIES]
    words = {code: word for code, _, word in INDUSTRIES}
    inputs: list[EnterpriseInput] = []
    statuses: list[list[StatusEntry]] = []
    serial = 0
    while len(inputs) < firms:
        serial += 1
        org = f"{rng.randint(10_000_000, 99_999_999)}"
        code = make_uscc("9111" + rng.choice(DISTRICTS), org)
        if code in taken:
            continue
        taken.add(code)
        industry = _weighted(rng, industries)
        size = _weighted(rng, SIZE_WEIGHTS)
        suffix = "股份有限公司" if size == "large" else "有限公司"
        name = f"{rng.choice(PLACES)}{rng.choice(WORDS)}{rng.choice(WORDS)}{words[industry]}{suffix}"
        inputs.append(EnterpriseInput(code, name, industry, size))
        statuses.append(_firm_statuses(rng, industry, size, first_year))
    for start in range(0, len(inputs), 5000):
        chunk = inputs[start : start + 5000]
        conn.execute(
            insert(Enterprise),
            [
                {"uscc": e.uscc, "name": e.name, "industry_code": e.industry_code, "size": e.size}
                for e in chunk
            ],
        )
    append_many(
        conn, actor, [("create", "enterprise", e.uscc, reference_payload("enterprise", e)) for e in inputs]
    )
    id_of = {r[0]: r[1] for r in conn.execute(select(col(Enterprise.uscc), col(Enterprise.id)))}
    audit = begin_audit(conn, actor, "demo_statuses", "enterprise_status", "", {"enterprises": len(inputs)})
    insert_statuses(
        conn,
        audit,
        (
            {
                "enterprise_id": id_of[e.uscc],
                "status": s.status,
                "valid_from": s.valid_from,
                "valid_to": s.valid_to,
                "source": "演示数据",
            }
            for e, entries in zip(inputs, statuses, strict=True)
            for s in entries
        ),
    )
    audit.commit(conn)
    firms_out = [
        _Firm(cast(int, id_of[e.uscc]), EnterpriseFacts(e.uscc, e.industry_code, e.size, tuple(entries)))
        for e, entries in zip(inputs, statuses, strict=True)
    ]
    return banks, firms_out


def _candidate_tools(config: Config, facts: EnterpriseFacts) -> tuple[Tool, ...]:
    """Tools whose target the firm could meet at some date (any of its statuses, ignoring validity). Whether it
    does on the drawdown date is left to the booking rules, which refuse a lapsed status as they would a clerk's."""
    names = {s.status for s in facts.statuses}
    return tuple(
        t
        for t in config.catalogue
        if t.eligibility.open
        or names & set(t.eligibility.statuses)
        or facts.industry_code.startswith(t.eligibility.industry_prefixes)
        or facts.size in t.eligibility.sizes
    )


def _request(
    rng: random.Random, tool: Tool, firm: _Firm, bank: tuple[int, str, str], on: date, serial: int
) -> BookingRequest:
    if tool.kind == "rediscount":
        issued = on - timedelta(days=rng.randint(0, 60))
        maturity = add_months(issued, rng.choice((3, 4, 5, 6)))
        if maturity <= on:
            maturity = on + timedelta(days=30)
            issued = max(issued, add_months(maturity, -6))
        # 普惠 tools stay within the 10-million-yuan-per-borrower rule most of the time, as real books do.
        face = Decimal(rng.randint(10, 300 if tool.inclusive_small_micro else 2000) * 5000)
        split = rng.random() < 0.3
        bill_range = f"1-{int(face * 100)}" if split else "0"
        bill_type = "1" if rng.random() < 0.8 else "2"
        rate = tool.rate_table.rate_on(on) or Decimal("2")
        return BookingRequest(
            tool.code,
            "",
            firm.facts.uscc,
            on,
            maturity,
            amount=face,
            principal=face,
            lend_rate=rate + Decimal(rng.randint(5, 80)) / 100,
            bill_no=make_bill_number(bill_type, bank[1], issued, serial),
            bill_range=bill_range,
            ext_ref=f"D{serial:09d}",
        )
    months = rng.choice(tool.tenors_months) if tool.tenors_months else 12
    maturity = add_months(on, months)
    principal = Decimal(rng.randint(10, 150 if tool.inclusive_small_micro else 5000) * 10000)
    rate = tool.rate_table.rate_on(on, tenor_for(tool, on, maturity)) or Decimal("2")
    lend = rate + Decimal(rng.randint(120, 260)) / 100
    if tool.lend_rate_cap is not None:
        lend = min(lend, tool.lend_rate_cap)
    return BookingRequest(
        tool.code,
        "",
        firm.facts.uscc,
        on,
        maturity,
        principal=principal,
        lend_rate=lend,
        batch_ref=f"SQ{on:%Y%m}{bank[0]:03d}",
        ext_ref=f"D{serial:09d}",
    )


def _drawdowns(
    rng: random.Random,
    policy: PolicyBook,
    controls: Controls,
    banks: list[tuple[int, str, str]],
    firms: list[_Firm],
    count: int,
    first: date,
    last: date,
    stats: dict[str, int],
) -> Iterator[dict[str, Any]]:
    span = (last - first).days
    serial = 0
    config = policy.config_on(last)
    firm_tools: dict[int, tuple[Tool, ...]] = {}
    while stats["drawdowns"] < count:
        serial += 1
        firm = firms[rng.randrange(len(firms))]
        on = first + timedelta(days=rng.randint(0, span))
        choices = firm_tools.get(firm.id)
        if choices is None:
            choices = firm_tools[firm.id] = _candidate_tools(config, firm.facts)
        tool = rng.choice(choices) if choices else None
        if tool is None or not tool.available_on(on) or tool.rate_table.rate_on(on) is None:
            continue
        bank = banks[rng.randrange(len(banks))]
        request = _request(rng, tool, firm, bank, on, serial)
        rules = policy.config_on(on)
        try:
            prepared = prepare_drawdown(
                request, rules.catalogue, firm.facts, rules.key_areas, rules.definitions()
            )
        except Exception:
            stats["rejected"] += 1
            continue
        values = dict(prepared.values)
        if (
            controls.admit(tool.code, values["drawn_on"], values["maturity_on"], values["amount_fen"])
            is not None
            or controls.above_limit
        ):
            controls.above_limit.clear()
            stats["rejected"] += 1
            continue
        values["institution_id"], values["enterprise_id"] = bank[0], firm.id
        values["office"] = bank[2]  # the bank's office, as a booking defaults it
        stats["drawdowns"] += 1
        yield values


def _history(
    rng: random.Random, config: Config, rows: Iterable[tuple[int, str, date, date, int]], today: date
) -> Iterator[dict[str, Any]]:
    """Some reversals (1%), early repayments (4%) and rollovers of special relending (3%), all valid."""
    for drawdown_id, tool_code, drawn_on, maturity_on, amount_fen in rows:
        roll = rng.random()
        tool = config.catalogue.get(tool_code)
        if roll < 0.01:
            yield {
                "drawdown_id": drawdown_id,
                "kind": "reversal",
                "event_on": min(drawn_on + timedelta(days=rng.randint(0, 20)), today),
                "amount_fen": None,
                "new_maturity_on": None,
                "reason": "演示:录入错误冲正",
            }
        elif roll < 0.05:
            day = drawn_on + timedelta(days=rng.randint(1, max(1, (maturity_on - drawn_on).days - 1)))
            if day <= today:
                part = amount_fen if rng.random() < 0.5 else amount_fen // 2
                yield {
                    "drawdown_id": drawdown_id,
                    "kind": "repayment",
                    "event_on": day,
                    "amount_fen": part,
                    "new_maturity_on": None,
                    "reason": "演示:提前收回",
                }
        elif roll < 0.08 and tool.max_rollovers > 0 and maturity_on <= today:
            yield {
                "drawdown_id": drawdown_id,
                "kind": "rollover",
                "event_on": maturity_on,
                "amount_fen": None,
                "new_maturity_on": add_months(maturity_on, 12),
                "reason": "演示:展期",
            }


def load_demo(
    conn: Connection,
    policy: PolicyBook,
    actor: str,
    *,
    drawdowns: int = 5000,
    year: int | None = None,
    years: int = 1,
    seed: int = 2023,
    today: date | None = None,
) -> DemoResult:
    """Adds demo data in the caller's transaction. Dates run from Jan 1 of the first year to the last year's end
    (or `today` if earlier); the same arguments always give the same ledger. Every drawdown passes the booking
    rules and the controls (quotas, caps) of the policy in force on its date; one the authority limit would send
    to a checker is not generated (demo data is booked at once, so it stays within what the policy allows)."""
    today = today or date.today()
    config = policy.config_on(today)
    last_year = year or today.year
    first = date(last_year - years + 1, 1, 1)
    last = min(date(last_year, 12, 31), today) if last_year >= today.year else date(last_year, 12, 31)
    rng = random.Random(seed)
    firms_wanted = max(60, min(60_000, drawdowns // 15))
    banks, firms = _create_reference(conn, config, actor, rng, firms_wanted, first.year)
    stats = {"drawdowns": 0, "rejected": 0}
    audit = begin_audit(
        conn,
        actor,
        "demo",
        "drawdown",
        "",
        {"drawdowns": drawdowns, "year": last_year, "years": years, "seed": seed},
    )
    first_id = conn.execute(select(col(Drawdown.id)).order_by(col(Drawdown.id).desc()).limit(1)).scalar() or 0
    controls = Controls(conn, policy)
    insert_drawdowns(
        conn, audit, _drawdowns(rng, policy, controls, banks, firms, drawdowns, first, last, stats)
    )
    audit.commit(conn)
    # Streamed, so memory stays flat however many drawdowns were generated.
    rows = (
        (cast(int, r[0]), str(r[1]), _as_date(r[2]), _as_date(r[3]), int(r[4]))
        for r in streamed(
            conn,
            5000,
            select(
                col(Drawdown.id),
                col(Drawdown.tool_code),
                col(Drawdown.drawn_on),
                col(Drawdown.maturity_on),
                col(Drawdown.amount_fen),
            )
            .where(col(Drawdown.id) > first_id, col(Drawdown.audit_id) == audit.id)
            .order_by(col(Drawdown.id)),
        )
    )
    history = begin_audit(conn, actor, "demo_events", "drawdown_event", "", {"seed": seed})
    events = insert_events(conn, history, _history(rng, config, rows, today))
    history.commit(conn)
    if conn.dialect.name == "postgresql":
        # Fresh statistics, or the planner guesses ~100 rows and sorts the year on disk for the share rule.
        conn.exec_driver_sql("ANALYZE drawdown")
        conn.exec_driver_sql("ANALYZE drawdown_event")
    return DemoResult(len(banks), len(firms), stats["drawdowns"], events, stats["rejected"])


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
