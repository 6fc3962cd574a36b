"""The catalogue's facts as a branch reads them: rates that follow the drawdown's own term, each product's funding
basis as data, every dated fact with its source or "unconfirmed", the key-area definition of 98号, the seeds' names."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ledger.cli.main import main
from ledger.config import ConfigError, check_policy, default_policy
from ledger.domain.enterprise import EnterpriseFacts, StatusEntry
from ledger.domain.key_area import classify
from ledger.facade import Ledger
from ledger.services.booking import Booked
from ledger.tools import BUILT_IN
from tests.conftest import set_policy, test_config
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank


@pytest.fixture
def firm(ledger: Ledger) -> str:
    setup_bank(ledger)
    return add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2024, 1, 1), None),))


def test_a_twelve_month_jingchuangrong_takes_the_one_year_rate_and_the_check_compares_with_it(
    ledger: Ledger, firm: str
) -> None:
    """Seed of the finding: 京创融, 12 months from 2025-06-02, defaulted to 1.20 % (3 months) instead of 1.50 %."""
    year = ledger.book(
        relending(firm, tool="京创融", drawn_on="2025-06-02", maturity_on="2026-06-02", ext_ref="a")
    )
    quarter = ledger.book(
        relending(firm, tool="京创融", drawn_on="2025-06-02", maturity_on="2025-09-02", ext_ref="b")
    )
    assert isinstance(year, Booked) and isinstance(quarter, Booked)
    assert year.values["cb_rate_ppm"] == 15000 and year.values["table_rate_ppm"] == 15000
    assert quarter.values["cb_rate_ppm"] == 12000
    wrong = ledger.book(
        relending(
            firm, tool="京创融", drawn_on="2025-06-02", maturity_on="2026-06-02", cb_rate="1.20", ext_ref="c"
        )
    )
    findings = [f for f in ledger.checks(2025) if f.rule == "rate_table"]
    assert [(f.drawdown_ids, f.figure, f.limit) for f in findings] == [((wrong.id,), "1.20%", "1.50%")]


def test_a_tool_without_tenors_on_a_tenored_table_follows_its_own_term(ledger: Ledger, firm: str) -> None:
    """京创通 configured onto the 支农支小 table: a bill of five months takes the 6-month rate."""
    set_policy(ledger, tools={"JCT": {"rate_table": "支农支小"}})
    booked = ledger.book(
        rediscount(
            firm,
            bill(1, issued_on=date(2025, 6, 1)),
            tool="京创通",
            drawn_on="2025-06-02",
            maturity_on="2025-11-01",
        )
    )
    assert isinstance(booked, Booked) and booked.values["cb_rate_ppm"] == 14000  # 6 months from 2025-05-07


def test_funding_basis_is_data_defaulting_to_zhinong_zhixiao_and_marked_unconfirmed() -> None:
    config = check_policy(default_policy())
    for code in ("JCR", "JLR", "JWR", "JMR", "JNR"):
        tool = config.catalogue.get(code)
        assert tool.funding_basis == "ZNZX" and tool.tenors_months == (3, 6, 12) and tool.max_rollovers == 0
        assert tool.rate_table.name == "支农支小"
        assert tool.source_of("funding_basis").startswith("unconfirmed")
    assert config.catalogue.get("JCT").funding_basis == "ZTX"
    moved = check_policy({**default_policy(), "tools.JCR.funding_basis": "科技创新再贷款"}).catalogue.get(
        "JCR"
    )
    assert (moved.funding_basis, moved.rate_table.name, moved.max_rollovers) == ("KJCX", "专项工具", 2)
    assert moved.source_of("funding_basis") == "policy tools.JCR.funding_basis (set in the ledger)"
    with pytest.raises(ConfigError, match=r"tools\.JCR\.funding_basis"):
        check_policy({**default_policy(), "tools.JCR.funding_basis": "再贴现"})
    with pytest.raises(ConfigError, match=r"tools\.JCT\.funding_basis"):
        check_policy({**default_policy(), "tools.JCT.funding_basis": "京创融"})


def test_every_dated_fact_carries_a_source_or_unconfirmed_in_tools_json(
    ledger: Ledger, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LEDGER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["--db", ledger.url, "tools", "--json"]) == 0
    tools = {t["code"]: t for t in json.loads(capsys.readouterr().out)}
    for tool in tools.values():
        for fact in ("valid_from", "valid_to"):
            if tool[fact] is not None:
                assert tool["sources"][fact], (tool["code"], fact)
        assert all(point["source"] for point in tool["rates"])
    assert tools["JZT"]["sources"]["valid_from"].startswith("unconfirmed")
    assert tools["KJCX"]["sources"]["valid_from"].startswith("unconfirmed")  # the source gives 2022-04 only
    assert tools["ZNZX"]["sources"]["valid_from"].startswith("支农、支小再贷款 merged 2025-04-01")
    assert tools["JCR"]["funding_basis"] == "ZNZX"
    special = {p["effective_on"]: p["source"] for p in tools["KJCX"]["rates"]}
    assert min(special) >= "2021-11-01"  # no special-tool rate before any special tool existed
    assert special[min(special)].startswith("unconfirmed")
    cut = [p for p in tools["ZTX"]["rates"] if p["rate"] == "1.75"]
    assert cut and cut[0]["source"].startswith("unconfirmed")


def test_the_seeds_names_find_their_tools() -> None:
    catalogue = test_config().catalogue
    assert catalogue.get("科技创新专项再贷款").code == "KJCX"
    assert catalogue.get("煤炭清洁高效利用专项再贷款").code == "MTQJ"
    assert catalogue.get("支持煤炭清洁高效利用专项再贷款").code == "MTQJ"


def test_c4417_is_no_tools_target_code() -> None:
    assert not any("C4417" in t.eligibility.industry_prefixes for t in BUILT_IN)


@pytest.mark.parametrize(
    ("industry", "key_area", "reason"),
    [
        ("C3911", True, "高技术制造业"),  # computers
        ("C3425", True, "先进制造业"),  # equipment manufacturing
        ("C1390", False, ""),  # food processing is manufacturing but not 先进制造
        ("C2521", False, ""),  # coal processing
        ("I6510", False, ""),
    ],
)
def test_the_default_key_areas_are_98s_sci_tech_and_advanced_manufacturing(
    industry: str, key_area: bool, reason: str
) -> None:
    config = test_config()
    decision = classify(EnterpriseFacts("x", industry, "small"), date(2023, 3, 1), config.key_areas)
    assert decision.key_area is key_area and reason in decision.reason
    assert config.key_areas.label.startswith("重点领域(银管发〔2022〕98号")


def test_the_branchs_broader_measure_counts_green_and_culture_and_the_rule_does_not() -> None:
    config = test_config()
    green = EnterpriseFacts("x", "F5176", "small", (StatusEntry("绿色企业", date(2020, 1, 1), None),))
    day = date(2023, 3, 1)
    assert not classify(green, day, config.key_areas).key_area
    assert classify(green, day, config.measures["broad"]).key_area
    assert classify(EnterpriseFacts("y", "R8610", "large"), day, config.measures["broad"]).key_area


def test_every_definition_field_of_every_measure_is_a_policy_key() -> None:
    from ledger.config import is_policy_key, parse_policy_value

    assert is_policy_key("measures.green.sizes") and is_policy_key("share.sizes")
    assert not is_policy_key("measures.nosuch.sizes") and not is_policy_key("measures.green.colour")
    assert parse_policy_value("measures.green.sizes", "small, micro") == ["small", "micro"]
    config = check_policy({**default_policy(), "measures.green.sizes": ["micro"]})
    assert config.measures["green"].sizes == ("micro",)
    with pytest.raises(ConfigError, match=r"measures\.green\.sizes"):
        check_policy({**default_policy(), "measures.green.sizes": ["tiny"]})
