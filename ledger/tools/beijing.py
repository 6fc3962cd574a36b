"""Beijing special products of the PBOC Beijing branch (营业管理部). Their own rates and quotas are not published:
the rate table named here is a default that ledger.toml may override."""

from __future__ import annotations

from datetime import date

from ledger.domain.eligibility import Eligibility
from ledger.domain.enterprise import SCI_TECH_STATUSES
from ledger.tools.model import Tool
from ledger.tools.rates import REDISCOUNT, SPECIAL

SCI_TECH = Eligibility(statuses=tuple(SCI_TECH_STATUSES), description="科创企业名录内企业")
MANUFACTURING = Eligibility(industry_prefixes=("C",), description="制造业企业(GB/T 4754 门类C)")
GREEN = Eligibility(
    statuses=("绿色企业",),
    industry_prefixes=("D4415", "D4416", "D4417", "D4419", "N77", "C3825", "C4417"),
    description="绿色低碳企业或项目",
)
PRIVATE_SMALL = Eligibility(statuses=("民营企业",), sizes=("small", "micro"), description="民营和小微企业")
CULTURE = Eligibility(
    statuses=("文化企业",),
    industry_prefixes=("R86", "R87", "R88", "R89", "R90", "C23", "I6572"),
    description="文化产业企业",
)
RURAL = Eligibility(
    statuses=("涉农企业",), industry_prefixes=("A", "C13", "C14"), description="乡村振兴与涉农主体"
)

BEIJING_TOOLS: tuple[Tool, ...] = (
    Tool("JCT", "京创通", "rediscount", "北京", "科创企业票据", SCI_TECH, REDISCOUNT, max_term_months=None),
    Tool(
        "JZT",
        "京制通",
        "rediscount",
        "北京",
        "制造业企业票据",
        MANUFACTURING,
        REDISCOUNT,
        max_term_months=None,
        valid_from=date(2023, 1, 1),
    ),
    Tool("JLT", "京绿通", "rediscount", "北京", "绿色企业票据", GREEN, REDISCOUNT, max_term_months=None),
    Tool(
        "JMT",
        "京民通",
        "rediscount",
        "北京",
        "民营和小微企业票据",
        PRIVATE_SMALL,
        REDISCOUNT,
        max_term_months=None,
        inclusive_small_micro=True,
    ),
    Tool("JCR", "京创融", "relending", "北京", "专精特新、科创企业贷款", SCI_TECH, SPECIAL, max_rollovers=2),
    Tool("JLR", "京绿融", "relending", "北京", "绿色低碳贷款", GREEN, SPECIAL, max_rollovers=2),
    Tool("JWR", "京文融", "relending", "北京", "文化产业贷款", CULTURE, SPECIAL, max_rollovers=2),
    Tool(
        "JMR",
        "京民融",
        "relending",
        "北京",
        "民营和小微企业贷款",
        PRIVATE_SMALL,
        SPECIAL,
        max_rollovers=2,
        inclusive_small_micro=True,
    ),
    Tool("JNR", "京农融", "relending", "北京", "乡村振兴、涉农贷款", RURAL, SPECIAL, max_rollovers=2),
)
