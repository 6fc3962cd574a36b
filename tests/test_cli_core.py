"""The command line as scripts use it: exit codes 0/1/2, messages on stderr, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.cli.main import main
from ledger.domain.bills import make_bill_number
from tests.conftest import is_pg
from tests.factories import uscc


def run(db: str, *args: str) -> tuple[int, str, str]:
    """As a clerk: a trainee's name on the SQLite (training) ledger; on PostgreSQL the login itself."""
    user = [] if is_pg(db) else ["--user", "clerk"]
    proc = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "--db", db, *user, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def cli_db(db_url: str) -> str:
    assert main(["--db", db_url, "init"]) == 0
    assert (
        main(["--db", db_url, "institution", "add", "313100000013", "北京银行", "--type", "城市商业银行"])
        == 0
    )
    assert (
        main(
            [
                "--db",
                db_url,
                "enterprise",
                "add",
                uscc(1),
                "北京测试科技有限公司",
                "--industry",
                "C3911",
                "--size",
                "小型",
            ]
        )
        == 0
    )
    assert (
        main(["--db", db_url, "enterprise", "status", uscc(1), "高新技术企业", "--from", "2022-01-01"]) == 0
    )
    return db_url


def test_book_reverse_repay_rollover_from_the_command_line(cli_db: str) -> None:
    code, out, err = run(
        cli_db,
        "book",
        "--tool",
        "设备更新改造专项再贷款",  # rollable; 100% of the principal
        "--institution",
        "313100000013",
        "--enterprise",
        uscc(1),
        "--drawn-on",
        "2023/3/1",
        "--maturity-on",
        "2024年3月1日",
        "--principal",
        "1,000,000",
        "--lend-rate",
        "3.0",
    )
    assert code == 0, err
    drawdown = int(out.strip())
    assert run(cli_db, "repay", str(drawdown), "--on", "2023-06-01", "--amount", "100000")[0] == 0
    assert run(cli_db, "rollover", str(drawdown), "--to", "2025-03-01")[0] == 0
    code, out, _ = run(cli_db, "outstanding", "--as-of", "2024-06-01", "--json")
    assert code == 0 and json.loads(out)["total"] == "900000.00"
    assert run(cli_db, "reverse", str(drawdown), "--reason", "重复登记", "--on", "2024-05-01")[0] == 0
    code, out, _ = run(cli_db, "outstanding", "--as-of", "2024-06-01", "--json")
    assert json.loads(out)["total"] == "0.00"
    code, out, _ = run(cli_db, "outstanding", "--as-of", "2024-04-30", "--json")
    assert json.loads(out)["total"] == "900000.00"  # before the reversal's effective date
    code, out, _ = run(
        cli_db, "sql", "SELECT actor, action FROM audit_log WHERE action = 'reverse'", "--format", "json"
    )
    assert json.loads(out) == [{"actor": "postgres" if is_pg(cli_db) else "clerk", "action": "reverse"}]
    assert run(cli_db, "audit", "verify")[0] == 0


def test_bad_input_exits_1_naming_the_fields_without_traceback(cli_db: str) -> None:
    code, out, err = run(
        cli_db,
        "book",
        "--tool",
        "京创通",
        "--institution",
        "313100000013",
        "--enterprise",
        uscc(1),
        "--drawn-on",
        "2023-03-01",
        "--maturity-on",
        "2023-07-01",
        "--amount",
        "abc",
        "--lend-rate",
        "2",
        "--bill-no",
        "123",
    )
    assert code == 1 and "Traceback" not in err
    assert "amount" in err and "bill_no" in err and out == ""


@pytest.mark.parametrize(
    "args", [["book"], ["reverse", "x", "--reason", "r"], ["no-such-command"], ["close"]]
)
def test_usage_errors_exit_2(cli_db: str, args: list[str]) -> None:
    code, _, err = run(cli_db, *args)
    assert code == 2 and "Traceback" not in err


def test_rule_failures_exit_1(cli_db: str) -> None:
    assert run(cli_db, "close", "--month", "2023-03")[0] == 0
    code, _, err = run(cli_db, "close", "--month", "2023-03")
    assert code == 1 and "已月结" in err
    code, _, err = run(cli_db, "sql", "DELETE FROM drawdown")
    assert code == 1 and "read-only" in err
    bill = make_bill_number("1", "313100000013", __import__("datetime").date(2023, 1, 10), 1)
    code, _, err = run(
        cli_db,
        "book",
        "--tool",
        "ZTX",
        "--institution",
        "313100000013",
        "--enterprise",
        uscc(1),
        "--drawn-on",
        "2023-03-15",
        "--maturity-on",
        "2023-06-01",
        "--amount",
        "10",
        "--lend-rate",
        "2",
        "--bill-no",
        bill,
    )
    assert code == 1 and "已月结" in err


def test_tools_lists_every_tool_by_code_and_name(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "tools", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    tools = json.loads(proc.stdout)
    names = {t["name"] for t in tools}
    assert {
        "京创通",
        "京制通",
        "京绿通",
        "京民通",
        "京创融",
        "京绿融",
        "京文融",
        "京民融",
        "京农融",
        "支农支小再贷款",
        "再贴现",
        "科技创新再贷款",
        "科技创新和技术改造再贷款",
        "碳减排支持工具",
        "支持煤炭清洁高效利用专项再贷款",
        "设备更新改造专项再贷款",
        "普惠养老专项再贷款",
    } <= names
    kjcx = next(t for t in tools if t["code"] == "KJCX")
    assert kjcx["funding_share"] == "0.6" and kjcx["kind"] == "relending"


def test_no_schema_says_run_init(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "empty.db"), "outstanding")
    assert code == 1 and "ledger init" in err
