"""`ledger check …` as the month-end batch uses it: exit codes, the JSON contract, the Chinese table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.cli.main import main
from ledger.facade import Ledger
from ledger.services.booking import Booked
from tests.conftest import set_policy
from tests.factories import add_borrower, relending, setup_bank, uscc


@pytest.fixture(autouse=True)
def _no_local_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("LEDGER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./ledger.toml from the developer's checkout
    yield


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--db", db, *args])
    except SystemExit as exc:  # argparse usage errors exit 2 before main's handler
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def book(ledger: Ledger, firm: int, amount: str, n: int, **extra: Any) -> int:
    booked = ledger.book(relending(uscc(firm), amount=amount, ext_ref=f"cli{n}", **extra))
    assert isinstance(booked, Booked)
    return booked.id


@pytest.fixture
def cli_ledger(ledger: Ledger) -> Ledger:
    """2023: 京民融 300.00 key area + 100.00 other (75%, pass). 2024: 100.00 key + 300.00 other (25%, fail)."""
    setup_bank(ledger)
    add_borrower(ledger, 1, industry="C3911")
    add_borrower(ledger, 2, industry="I6510")
    book(ledger, 1, "300.00", 1)
    book(ledger, 2, "100.00", 2, drawn_on="2023-05-01", maturity_on="2024-04-30")
    book(ledger, 1, "100.00", 3, drawn_on="2024-02-01", maturity_on="2025-01-31")
    book(ledger, 2, "300.00", 4, drawn_on="2024-02-01", maturity_on="2025-01-31")
    return ledger


def test_share_json_contract_and_exit_zero_when_passing(
    cli_ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, cli_ledger.url, "check", "share", "--year", "2023", "--json")
    assert code == 0
    data = json.loads(out)
    assert {
        "year",
        "as_of",
        "scope",
        "key_area_amount",
        "total_amount",
        "share",
        "threshold",
        "status",
        "headroom",
        "by_tool",
        "by_month",
    } <= set(data)
    assert (data["year"], data["as_of"], data["scope"]) == (2023, "2023-12-31", {})
    assert (data["key_area_amount"], data["total_amount"], data["share"]) == ("300.00", "400.00", "0.7500")
    assert (data["threshold"], data["status"]) == ("0.50", "pass")
    # 30000 / (40000 + x) ≥ 1/2 ⇔ x ≤ 20000 fen
    assert data["headroom"]["kind"] == "more_non_key_allowed" and data["headroom"]["amount"] == "200.00"
    assert [(r["key"], r["total_amount"]) for r in data["by_tool"]] == [("JMR", "400.00")]
    assert [m["key"] for m in data["by_month"]] == [f"2023-{m:02d}" for m in range(1, 13)]
    assert not any(isinstance(v, float) for v in _walk(data))  # amounts and shares are strings, never floats


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def test_share_exits_one_when_failing_and_tells_what_is_needed(
    cli_ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, cli_ledger.url, "check", "share", "--year", "2024")
    assert code == 1
    assert "未达标" in out and "25.00%" in out and "门槛 ≥50.00%" in out
    assert "200.00元" in out  # (10000 + y) / (40000 + y) ≥ 1/2 ⇔ y ≥ 20000 fen
    assert "按工具" in out and "京民融" in out and "按机构" in out and "北京银行" in out
    code, out, _ = run(capsys, cli_ledger.url, "check", "share", "--year", "2024", "--json")
    assert code == 1 and json.loads(out)["headroom"] == {
        "kind": "key_area_needed",
        "amount": "200.00",
        "text": "本期还需发放重点领域资金至少 200.00元 方可达标",
    }


def test_tool_by_code_or_chinese_name_and_other_filters(
    cli_ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    _, by_code, _ = run(capsys, cli_ledger.url, "check", "share", "--year", "2023", "--tool", "JMR", "--json")
    _, by_name, _ = run(
        capsys, cli_ledger.url, "check", "share", "--year", "2023", "--tool", "京民融", "--json"
    )
    assert json.loads(by_code) == json.loads(by_name) and json.loads(by_code)["scope"] == {"tool": "JMR"}
    code, out, _ = run(
        capsys, cli_ledger.url, "check", "share", "--year", "2023", "--kind", "rediscount", "--json"
    )
    assert code == 0 and json.loads(out)["share"] is None  # no rediscount at all
    code, out, _ = run(
        capsys,
        cli_ledger.url,
        "check",
        "share",
        "--year",
        "2023",
        "--as-of",
        "2023-04-30",
        "--institution",
        "BOB001",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and (data["total_amount"], data["share"], data["as_of"]) == (
        "300.00",
        "1.0000",
        "2023-04-30",
    )


def test_empty_period_passes_and_says_nothing_was_drawn(
    cli_ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, cli_ledger.url, "check", "share", "--year", "2021")
    assert code == 0 and "尚无发放" in out
    code, out, _ = run(capsys, cli_ledger.url, "check", "share", "--year", "2021", "--json")
    data = json.loads(out)
    assert code == 0 and data["share"] is None and data["status"] == "pass" and data["nothing_drawn"] is True


def test_bad_input_is_a_message_not_a_traceback(
    cli_ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, cli_ledger.url, "check", "share", "--year", "2023", "--tool", "没有这个工具")
    assert code == 1 and "未知工具" in err and "Traceback" not in err
    code, _, err = run(capsys, cli_ledger.url, "check", "share", "--year", "2023", "--as-of", "2024-01-05")
    assert code == 1 and "as_of" in err
    code, _, err = run(capsys, cli_ledger.url, "check", "share", "--year", "2023", "--kind", "loan")
    assert code == 2 and "relending" in err
    code, _, err = run(capsys, cli_ledger.url, "check", "share", "--year", "23")
    assert code == 2


def test_check_all_exit_codes_and_json(
    cli_ledger: Ledger, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, cli_ledger.url, "check", "all", "--year", "2023", "--json")
    assert code == 0 and json.loads(out) == {
        "year": 2023,
        "as_of": "2023-12-31",
        "status": "pass",
        "errors": 0,
        "warnings": 0,
        "findings": [],
    }
    code, out, _ = run(capsys, cli_ledger.url, "check", "all", "--year", "2023")
    assert code == 0 and "全部检查通过" in out
    code, out, _ = run(capsys, cli_ledger.url, "check", "all", "--year", "2024", "--json")
    data = json.loads(out)
    assert code == 1 and data["status"] == "fail" and [f["rule"] for f in data["findings"]] == ["share"]
    # A caller's file chooses no control: the quota in it is ignored (and said so) ...
    toml = tmp_path / "strict.toml"
    toml.write_text('[tools.JMR]\nannual_quota_yuan = "350.00"\n', encoding="utf-8")
    code, out, err = run(capsys, cli_ledger.url, "--config", str(toml), "check", "all", "--year", "2023")
    assert code == 0 and "全部检查通过" in out and "不生效" in err
    # ... the ledger's policy does.
    set_policy(cli_ledger, tools={"JMR": {"annual_quota_yuan": "350.00"}})
    code, out, _ = run(capsys, cli_ledger.url, "check", "all", "--year", "2023")
    assert code == 1 and "年度额度" in out and "400.00元" in out and "350.00元" in out


def test_drilldown_lists_the_drawdowns_with_reasons(
    cli_ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, cli_ledger.url, "check", "drilldown", "--year", "2023", "--key-area", "no", "--json"
    )
    rows = json.loads(out)["rows"]
    assert code == 0 and [(r["amount"], r["key_area"]) for r in rows] == [("100.00", False)]
    code, out, _ = run(capsys, cli_ledger.url, "check", "drilldown", "--year", "2023")
    assert code == 0 and "计入重点领域" in out and "仅计入全部发放" in out and "共列出 2 笔" in out
