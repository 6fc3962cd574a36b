"""National structural tools (shared/domain.md §2). Names are exactly as users type them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.domain.eligibility import Eligibility
from ledger.domain.enterprise import SCI_TECH_STATUSES
from ledger.tools.model import Tool
from ledger.tools.rates import REDISCOUNT, SMALL_AGRI, SPECIAL

DOMAIN = "shared/domain.md §2"
MONTH_ONLY = "unconfirmed: the source gives the month only ({}); the first of the month is assumed"
SUCCESSOR = "unconfirmed: inferred from the successor tool's start ({})"
MERGED = "支农、支小再贷款 merged 2025-04-01 (shared/domain.md §2)"
SIXTY = Decimal("0.6")
FULL = Decimal("1")
SMALL_AGRI_TARGET = Eligibility(
    statuses=("涉农企业",), industry_prefixes=("A",), sizes=("small", "micro"), description="涉农、小微企业"
)

NATIONAL_TOOLS: tuple[Tool, ...] = (
    Tool(
        "ZNZX",
        "支农支小再贷款",
        "relending",
        "全国",
        "涉农、小微和民营企业贷款(地方法人银行)",
        SMALL_AGRI_TARGET,
        SMALL_AGRI,
        tenors_months=(3, 6, 12),
        valid_from=date(2025, 4, 1),
        inclusive_small_micro=True,
        notes="额度管理;2025-04-01起支农、支小再贷款合并",
        sources=(("valid_from", MERGED),),
    ),
    Tool(
        "ZXZD",
        "支小再贷款",
        "relending",
        "全国",
        "小微和民营企业贷款",
        Eligibility(statuses=("民营企业",), sizes=("small", "micro"), description="小微、民营企业"),
        SMALL_AGRI,
        tenors_months=(3, 6, 12),
        valid_to=date(2025, 3, 31),
        inclusive_small_micro=True,
        notes="2025-04-01并入支农支小再贷款",
        sources=(("valid_to", MERGED),),
    ),
    Tool(
        "ZNZD",
        "支农再贷款",
        "relending",
        "全国",
        "涉农贷款",
        Eligibility(statuses=("涉农企业",), industry_prefixes=("A",), description="涉农主体"),
        SMALL_AGRI,
        tenors_months=(3, 6, 12),
        valid_to=date(2025, 3, 31),
        notes="2025-04-01并入支农支小再贷款",
        sources=(("valid_to", MERGED),),
    ),
    Tool(
        "ZTX",
        "再贴现",
        "rediscount",
        "全国",
        "涉农、小微和民营企业票据",
        Eligibility(
            statuses=("涉农企业", "民营企业"),
            industry_prefixes=("A",),
            sizes=("small", "micro"),
            description="涉农、小微和民营企业",
        ),
        REDISCOUNT,
        max_term_months=None,
    ),
    Tool(
        "KJCX",
        "科技创新再贷款",
        "relending",
        "全国",
        "科技型企业贷款",
        Eligibility(statuses=tuple(SCI_TECH_STATUSES), description="具有有效科创资质的企业"),
        SPECIAL,
        funding_share=SIXTY,
        max_rollovers=2,
        valid_from=date(2022, 4, 1),
        valid_to=date(2024, 3, 31),
        notes="2024-04起由科技创新和技术改造再贷款接续",
        aliases=("科技创新专项再贷款",),
        sources=(("valid_from", MONTH_ONLY.format("2022-04")), ("valid_to", SUCCESSOR.format("2024-04"))),
    ),
    Tool(
        "KJJG",
        "科技创新和技术改造再贷款",
        "relending",
        "全国",
        "科技型企业及技术改造贷款",
        Eligibility(
            statuses=tuple(SCI_TECH_STATUSES), industry_prefixes=("C",), description="科技型企业或制造业技改"
        ),
        SPECIAL,
        funding_share=SIXTY,
        max_rollovers=2,
        valid_from=date(2024, 4, 1),
        sources=(("valid_from", MONTH_ONLY.format("2024-04")),),
    ),
    Tool(
        "TJP",
        "碳减排支持工具",
        "relending",
        "全国",
        "清洁能源、节能环保、碳减排技术",
        Eligibility(
            statuses=("绿色企业",),
            industry_prefixes=("D4415", "D4416", "D4417", "D4419", "N77", "C3825"),
            description="清洁能源、节能环保、碳减排技术",
        ),
        SPECIAL,
        funding_share=SIXTY,
        max_rollovers=2,
        valid_from=date(2021, 11, 1),
        sources=(("valid_from", MONTH_ONLY.format("2021-11")),),
    ),
    Tool(
        "MTQJ",
        "支持煤炭清洁高效利用专项再贷款",
        "relending",
        "全国",
        "煤炭清洁高效利用",
        Eligibility(industry_prefixes=("B06", "D4411", "C252"), description="煤炭清洁高效利用项目"),
        SPECIAL,
        funding_share=FULL,
        max_rollovers=2,
        valid_from=date(2021, 11, 1),
        aliases=("煤炭清洁高效利用专项再贷款",),
        sources=(("valid_from", MONTH_ONLY.format("2021-11")),),
    ),
    Tool(
        "SBGX",
        "设备更新改造专项再贷款",
        "relending",
        "全国",
        "设备更新改造",
        Eligibility(description="设备更新改造项目"),
        SPECIAL,
        funding_share=FULL,
        max_rollovers=2,
        lend_rate_cap=Decimal("3.2"),
        valid_from=date(2022, 9, 1),
        valid_to=date(2024, 3, 31),
        notes="2024-04起由科技创新和技术改造再贷款接续",
        sources=(("valid_from", MONTH_ONLY.format("2022-09")), ("valid_to", SUCCESSOR.format("2024-04"))),
    ),
    Tool(
        "PHYL",
        "普惠养老专项再贷款",
        "relending",
        "全国",
        "普惠养老机构",
        Eligibility(statuses=("普惠养老机构",), industry_prefixes=("Q851",), description="普惠养老机构"),
        SPECIAL,
        funding_share=FULL,
        max_rollovers=2,
        valid_from=date(2022, 4, 1),
        sources=(("valid_from", MONTH_ONLY.format("2022-04")),),
    ),
)
