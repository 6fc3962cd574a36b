"""Beijing special products of the PBOC Beijing branch (营业管理部). Their own rates and quotas are not published.

Seed 000 says the branch's money went out "通过支农、支小再贷款和再贴现": each product's funding basis (the national
tool whose quota, rates and tenors it draws on) is data — 再贴现 for the 专项再贴现 products, 支农支小再贷款 for the
relending products, the latter an inference marked unconfirmed. `tools.CODE.funding_basis` (policy) changes it.
"""

from __future__ import annotations

from datetime import date

from ledger.domain.eligibility import Eligibility
from ledger.domain.enterprise import SCI_TECH_STATUSES
from ledger.tools.model import Tool
from ledger.tools.national import NATIONAL_TOOLS
from ledger.tools.rates import REDISCOUNT

SCI_TECH = Eligibility(statuses=tuple(SCI_TECH_STATUSES), description="科创企业名录内企业")
MANUFACTURING = Eligibility(industry_prefixes=("C",), description="制造业企业(GB/T 4754 门类C)")
GREEN = Eligibility(
    statuses=("绿色企业",),
    industry_prefixes=("D4415", "D4416", "D4417", "D4419", "N77", "C3825"),
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

REDISCOUNT_BASIS = "seed 000: 专项再贴现产品, issued through 再贴现"
RELENDING_BASIS = (
    "unconfirmed: inferred from seed 000 (资金“通过支农、支小再贷款和再贴现”投放); no source names the quota the "
    "relending products draw on"
)
JZT_START = "unconfirmed: seed 000 says 京制通 was created in 2023 (“今年…创设了”); the day is not given"

_NATIONAL = {t.code: t for t in NATIONAL_TOOLS}


def _rediscount(tool: Tool) -> Tool:
    return tool.drawing_on(_NATIONAL["ZTX"], REDISCOUNT_BASIS)


def _relending(tool: Tool) -> Tool:
    return tool.drawing_on(_NATIONAL["ZNZX"], RELENDING_BASIS)


BEIJING_TOOLS: tuple[Tool, ...] = (
    _rediscount(Tool("JCT", "京创通", "rediscount", "北京", "科创企业票据", SCI_TECH, REDISCOUNT)),
    _rediscount(
        Tool(
            "JZT",
            "京制通",
            "rediscount",
            "北京",
            "制造业企业票据",
            MANUFACTURING,
            REDISCOUNT,
            valid_from=date(2023, 1, 1),
            sources=(("valid_from", JZT_START),),
        )
    ),
    _rediscount(Tool("JLT", "京绿通", "rediscount", "北京", "绿色企业票据", GREEN, REDISCOUNT)),
    _rediscount(
        Tool(
            "JMT",
            "京民通",
            "rediscount",
            "北京",
            "民营和小微企业票据",
            PRIVATE_SMALL,
            REDISCOUNT,
            inclusive_small_micro=True,
        )
    ),
    _relending(Tool("JCR", "京创融", "relending", "北京", "专精特新、科创企业贷款", SCI_TECH, REDISCOUNT)),
    _relending(Tool("JLR", "京绿融", "relending", "北京", "绿色低碳贷款", GREEN, REDISCOUNT)),
    _relending(Tool("JWR", "京文融", "relending", "北京", "文化产业贷款", CULTURE, REDISCOUNT)),
    _relending(
        Tool(
            "JMR",
            "京民融",
            "relending",
            "北京",
            "民营和小微企业贷款",
            PRIVATE_SMALL,
            REDISCOUNT,
            inclusive_small_micro=True,
        )
    ),
    _relending(Tool("JNR", "京农融", "relending", "北京", "乡村振兴、涉农贷款", RURAL, REDISCOUNT)),
)
