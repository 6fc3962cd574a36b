from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.config import ConfigError, load_config
from ledger.tools import BUILT_IN, Catalogue


def test_every_tool_has_terms_a_rate_table_and_an_eligibility_rule() -> None:
    for tool in BUILT_IN:
        assert (
            tool.kind in ("relending", "rediscount")
            and tool.rate_table.points
            and tool.eligibility.description
        )
        assert Catalogue().get(tool.name) is tool and Catalogue().get(tool.code) is tool


def test_published_rates_by_date_and_tenor() -> None:
    catalogue = Catalogue()
    small = catalogue.get("支农支小再贷款").rate_table
    assert small.rate_on(date(2026, 1, 19), 3) == Decimal("0.95")
    assert small.rate_on(date(2026, 1, 18), 6) == Decimal("1.40")
    assert small.rate_on(date(2021, 12, 6), 12) == Decimal("2.25")
    assert catalogue.get("再贴现").rate_table.rate_on(date(2019, 1, 1)) is None


def test_config_sets_quotas_and_beijing_rate_tables(tmp_path: Path) -> None:
    path = tmp_path / "ledger.toml"
    path.write_text(
        '[share]\nthreshold = "0.55"\n[tools.JCT]\nannual_quota_yuan = "5000000000"\nrate_table = "专项工具"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.threshold == Decimal("0.55")
    jct = config.catalogue.get("京创通")
    assert jct.annual_quota_yuan == Decimal("5000000000") and jct.rate_table.name == "专项工具"


@pytest.mark.parametrize(
    "text",
    [
        "[share]\nthreshold = 0.5\n",
        '[tools.NOPE]\nannual_quota_yuan = "1"\n',
        '[tools.JCT]\nrate_table = "x"\n',
        "not toml [",
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ledger.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)
