"""The figures a branch publishes, rebuilt from the ledger through the commands named for them: any period,
measures, the PBOC office that handled each drawdown, and figures as booked or as now known — on both backends.

Seed 000 (2023 Q2 press conference): "2023年一季度…科技类再贴现占中关村中心支行全部再贴现发放额的87.15%" is
`ledger check share --quarter 2023Q1 --kind rediscount --office 中关村中心支行 --measure sci_tech`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ledger.cli.main import main
from ledger.domain.errors import ValidationError
from ledger.facade import Ledger
from ledger.io.importer import import_drawdowns
from ledger.services.booking import Booked
from tests.factories import add_borrower, bill, rediscount, relending, uscc
from tests.test_import_helpers import rediscount_row, write_csv

ZGC = "中关村中心支行"
YGB = "营业管理部"
SCI = (("高新技术企业", date(2022, 1, 1), None),)


@pytest.fixture(autouse=True)
def _no_local_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("LEDGER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    yield


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, Any]:
    try:
        code = main(["--db", db, *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out)
    except json.JSONDecodeError:
        return code, out + err


_bills = iter(range(1, 10_000))


def discount(ledger: Ledger, firm: int, amount: str, on: str = "2023-02-15", **extra: Any) -> int:
    fields: dict[str, Any] = {"tool": "京创通", "institution_code": "ZGCBANK", "drawn_on": on, **extra}
    fields.update(amount=amount, maturity_on="2023-06-30")
    booked = ledger.book(rediscount(uscc(firm), bill(next(_bills), issued_on=date(2023, 1, 5)), **fields))
    assert isinstance(booked, Booked)
    return booked.id


@pytest.fixture
def branch(ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Ledger:
    """2023 Q1 rediscount handled by 中关村中心支行: 87,150,000.00 to sci-tech firms, 12,850,000.00 to others
    (manufacturers among them, which the rule's key areas count and sci-tech does not) — plus what must not
    count: another office's rediscount, April's, relending, a drawdown reversed within the quarter, and a
    drawdown of a 中关村 bank that another office handled."""
    assert run(capsys, ledger.url, "institution", "add", "ZGCBANK", "中关村某银行", "--office", ZGC)[0] == 0
    assert run(capsys, ledger.url, "institution", "add", "YGBBANK", "营管部某银行", "--office", YGB)[0] == 0
    add_borrower(ledger, 1, industry="I6510", statuses=SCI)  # sci-tech software firm
    add_borrower(ledger, 2, industry="M7320", statuses=(("专精特新中小企业", date(2022, 6, 1), None),))
    add_borrower(ledger, 3, industry="C3911")  # high-tech manufacturer without a status
    add_borrower(ledger, 4, industry="C1390")  # food processing
    discount(ledger, 1, "40000000.00")
    discount(ledger, 2, "30000000.00", tool="再贴现")
    after_quarter = discount(ledger, 1, "17150000.00", on="2023-03-30")
    ledger.reverse(
        after_quarter, "票据退回", on=date(2023, 4, 10)
    )  # reversed after the quarter: counts in it
    discount(ledger, 3, "10000000.00", tool="京制通")
    within = discount(ledger, 2, "5000000.00", on="2023-03-01")
    ledger.reverse(within, "录入错误", on=date(2023, 3, 20))  # reversed within the quarter: counts nowhere
    discount(ledger, 1, "9000000.00", on="2023-04-03")  # April
    discount(ledger, 1, "20000000.00", institution_code="YGBBANK")  # another office
    discount(ledger, 4, "1000000.00", tool="京制通", office=YGB)  # a 中关村 bank's drawdown handled by 营管部
    ledger.book(relending(uscc(1), tool="京创融", institution_code="ZGCBANK", amount="3000000.00"))
    # 2,850,000.00 to the food processor, at the 营管部 bank but handled by 中关村 (the file's 经办行 column).
    row = rediscount_row(
        4,
        bill(next(_bills), issued_on=date(2023, 1, 5)),
        tool="京制通",
        institution_code="YGBBANK",
        institution_name="营管部某银行",
        industry_code="C1390",
        drawn_on="2023-01-20",
        maturity_on="2023-06-30",
        amount="2850000.00",
    )
    row["经办行"] = ZGC
    assert import_drawdowns(ledger, write_csv(tmp_path / "q1.csv", [row])).new == 1
    return ledger


def test_zhongguancun_q1_sci_tech_rediscount_share_is_the_published_87_15_percent(
    branch: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("check", "share", "--quarter", "2023Q1", "--kind", "rediscount", "--office", ZGC)
    code, data = run(capsys, branch.url, *args, "--measure", "sci_tech", "--json")
    assert code == 0, data
    assert (data["key_area_amount"], data["total_amount"]) == ("87150000.00", "100000000.00")
    assert (data["share"], data["share_percent"]) == ("0.8715", "87.15%")
    assert (data["from"], data["to"], data["measure"]) == ("2023-01-01", "2023-03-31", "sci_tech")
    assert data["scope"] == {"kind": "rediscount", "office": ZGC}
    assert [m["key"] for m in data["by_month"]] == ["2023-01", "2023-02", "2023-03"]
    # The rule's own key areas also count the high-tech manufacturer: 97,150,000.00.
    _, rule = run(capsys, branch.url, *args, "--json")
    assert (rule["measure"], rule["key_area_amount"]) == ("key_area", "97150000.00")
    # The same quarter as --from/--to, and the Chinese table.
    _, same = run(
        capsys,
        branch.url,
        *args[:2],
        "--from",
        "2023-01-01",
        "--to",
        "2023-03-31",
        *args[4:],
        "--measure",
        "sci_tech",
        "--json",
    )
    assert same["share"] == "0.8715"
    code, table = run(capsys, branch.url, *args, "--measure", "sci_tech")
    assert code == 0 and "87.15%" in table and ZGC in table


def test_a_period_cut_short_at_both_ends_equals_the_drawdowns_own_figures(branch: Ledger) -> None:
    """Mid-month to mid-month: the months cut short come from the drawdowns, reversals counted as of the end."""
    for start, end in ((date(2023, 1, 15), date(2023, 3, 25)), (date(2023, 2, 16), date(2023, 4, 15))):
        result = branch.share(start=start, end=end, kind="rediscount", office=ZGC, measure="sci_tech")
        with branch.connect() as conn:
            raw = conn.execute(
                text(
                    "SELECT SUM(amount_fen) FROM drawdown d WHERE drawn_on BETWEEN :s AND :e AND office = :o "
                    "AND tool_code IN ('JCT', 'JZT', 'ZTX') AND NOT EXISTS (SELECT 1 FROM drawdown_event r "
                    "WHERE r.drawdown_id = d.id AND r.kind = 'reversal' AND r.event_on <= :e)"
                ),
                {"s": start, "e": end, "o": ZGC},
            ).scalar_one()
        assert result.total_fen == int(raw), (start, end)


def test_every_measure_and_each_tools_target(branch: Ledger) -> None:
    q1: dict[str, Any] = {
        "start": date(2023, 1, 1),
        "end": date(2023, 3, 31),
        "kind": "rediscount",
        "office": ZGC,
    }
    figures = {m: branch.share(measure=m, **q1).key_area_fen for m in branch.config.measure_names()}
    assert figures["sci_tech"] == 8_715_000_000
    assert figures["key_area"] == 9_715_000_000
    assert figures["target"] == 10_000_000_000  # every drawdown met its tool's target group
    assert figures["green"] == 0
    assert figures["private_small"] == 10_000_000_000  # all four firms are small
    with pytest.raises(ValidationError):
        branch.share(measure="nonsense", **q1)


def test_a_status_recorded_after_the_drawdown_changes_the_figure_as_known_not_as_booked(
    branch: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 名录 reaches the ledger later: the manufacturer's 高新技术企业 certificate, valid from 2023-01-01, is
    recorded after its drawdown. As booked it stays out of sci-tech (what was reported); as known it counts."""
    branch.add_status(uscc(3), "高新技术企业", date(2023, 1, 1), None)
    args = (
        "check",
        "share",
        "--quarter",
        "2023Q1",
        "--kind",
        "rediscount",
        "--office",
        ZGC,
        "--measure",
        "sci_tech",
    )
    _, booked = run(capsys, branch.url, *args, "--basis", "booked", "--json")
    _, known = run(capsys, branch.url, *args, "--basis", "known", "--json")
    assert booked["share"] == "0.8715" and booked["basis"] == "booked"
    assert known["key_area_amount"] == "97150000.00" and known["share"] == "0.9715"
    assert known["reclassified"]["drawdowns"] == 1
    assert known["reclassified"]["into_measure_amount"] == "10000000.00"
    [changed] = known["reclassified"]["rows"]
    assert (changed["booked"], changed["known"]) == (False, True) and "高新技术企业" in changed[
        "known_reason"
    ]
    # The drill-down names it, and `check all` reports it.
    _, drill = run(
        capsys,
        branch.url,
        "check",
        "drilldown",
        "--quarter",
        "2023Q1",
        "--reclassified",
        "--measure",
        "sci_tech",
        "--json",
    )
    assert [r["id"] for r in drill["rows"]] == [changed["id"]]
    _, findings = run(capsys, branch.url, "check", "all", "--year", "2023", "--json")
    assert not [f for f in findings["findings"] if f["rule"] == "reclassified"]  # key areas: already counted
    branch.add_status(uscc(4), "高新技术企业", date(2023, 1, 1), None)  # the food processor, now sci-tech
    _, findings = run(capsys, branch.url, "check", "all", "--year", "2023", "--json")
    [finding] = [f for f in findings["findings"] if f["rule"] == "reclassified"]
    assert finding["count"] == 2  # its two live 2023 drawdowns (the 营管部-handled one included)


def test_office_is_recorded_defaulted_and_the_chain_still_verifies(branch: Ledger) -> None:
    with branch.connect() as conn:
        pairs = {
            (str(r[0]), str(r[1])): int(r[2])
            for r in conn.execute(
                text(
                    "SELECT i.code, d.office, COUNT(*) FROM drawdown d JOIN institution i ON i.id = d.institution_id "
                    "GROUP BY i.code, d.office"
                )
            )
        }
        measures = conn.execute(text("SELECT measures FROM drawdown WHERE id = 1")).scalar_one()
    # The bank's office by default; `book --office` and the file's 经办行 name another.
    assert pairs == {("ZGCBANK", ZGC): 7, ("ZGCBANK", YGB): 1, ("YGBBANK", YGB): 1, ("YGBBANK", ZGC): 1}
    # The measures its borrower (a small sci-tech software firm) met at booking, in the documented order.
    assert measures == "broad,sci_tech,private_small,target"
    assert branch.verify_audit().ok


def test_bad_periods_are_refused_with_exit_2(branch: Ledger, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, branch.url, "check", "share", "--quarter", "2023Q5")[0] == 2
    assert run(capsys, branch.url, "check", "share", "--quarter", "2023Q1", "--from", "2023-01-01")[0] == 2
    assert run(capsys, branch.url, "check", "share", "--from", "2023-03-01", "--to", "2023-01-01")[0] == 2
    assert run(capsys, branch.url, "check", "share")[0] == 2


def test_rows_booked_before_offices_and_measures_hash_as_they_did() -> None:
    """The digest leaves out an empty office and absent measures, so a row written before migration 0006 (18
    columns) verifies unchanged; any value in them is covered."""
    from ledger.services.canonical import RowsDigest

    legacy = [
        "JCT",
        1,
        2,
        "2023-02-15",
        "2023-06-30",
        100,
        100,
        1,
        17500,
        17500,
        21000,
        "1" * 30,
        "0",
        "",
        "",
        1,
        "资质:高新技术企业",
        "",
    ]

    def digest(row: list[Any]) -> str:
        d = RowsDigest()
        d.add_rows("drawdown", [list(row)])
        return d.hexdigest()

    assert digest([*legacy, "", None]) == digest(legacy)
    assert digest([*legacy, ZGC, None]) != digest(legacy)
    assert digest([*legacy, "", ""]) != digest([*legacy, "", None])  # classified, none met ≠ not kept
    assert digest([*legacy, ZGC, "sci_tech"]) != digest([*legacy, ZGC, "green"])
