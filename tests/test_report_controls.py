"""The exceptions and controls page, on both backends: rates off the table with their reason, reversals effective
in the month, bookings made after the month's end, quotas and balance caps from the ledger's policy (no quota table
when the policy sets none), rediscount interest; and the ≥50% rule judged for the branch, not for each tool."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import text

from ledger.facade import Ledger
from ledger.reports import batch
from tests.conftest import set_policy
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank

STAMP = "2023-04-01T09:00:00+08:00"


def text_of(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def _section(body: str, start: str, end: str) -> list[str]:
    return body[body.index(start) : body.index(end, body.index(start))].splitlines()


def test_exceptions_page_lists_the_month(ledger: Ledger, tmp_path: Path):
    setup_bank(ledger)
    a = add_borrower(ledger, 1, industry="C3911")
    b = add_borrower(ledger, 2, industry="F5123")
    ok = ledger.book(relending(a, drawn_on="2023-03-01", maturity_on="2024-03-01", amount="1000000.00")).id
    off = ledger.book(
        relending(b, drawn_on="2023-03-02", maturity_on="2024-03-02", amount="300000.00", cb_rate="2.10")
    ).id
    wrong = ledger.book(relending(b, drawn_on="2023-03-03", maturity_on="2024-03-03", amount="200000.00")).id
    ledger.reverse(wrong, "金额录错", date(2023, 3, 9))

    tool, summary = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP)
    body = text_of(tool.path)
    rates = _section(body, "（二）央行利率与利率表不符", "（三）")
    assert "（二）央行利率与利率表不符：1 笔，30.00 万元" in rates[0]
    assert str(off) in rates and str(ok) not in rates
    assert any("2.10% / 2.00%" in line for line in rates)
    reversals = _section(body, "（五）本月生效的冲正", "（六）")
    assert "1 笔，20.00 万元" in reversals[0] and str(wrong) in reversals
    assert any("2023-03-09；金额录错" in line for line in reversals)
    # Every booking here was made long after March 2023 ended.
    late = _section(body, "（六）月末后补登", "（七）" if "（七）" in body else "（八）")
    assert "2 笔，130.00 万元" in late[0]
    quota = body[body.index("（八）额度使用") :]
    assert "政策未设定年度额度或余额上限，额度表从略。" in quota

    whole = text_of(summary.path)
    assert "（二）央行利率与利率表不符：1 笔，30.00 万元" in whole
    assert "京民融" in _section(whole, "（二）央行利率与利率表不符", "（三）")


def test_quota_table_comes_from_the_policy(ledger: Ledger, tmp_path: Path):
    setup_bank(ledger)
    a = add_borrower(ledger, 1)
    ledger.book(relending(a, drawn_on="2023-03-01", maturity_on="2024-03-01", amount="1000000.00"))
    set_policy(ledger, tools={"JMR": {"annual_quota_yuan": "4000000", "balance_cap_yuan": "2000000"}})
    summary = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP)[-1]
    body = text_of(summary.path)
    quota = body[body.index("（八）额度使用") :].splitlines()
    at = quota.index("年度额度")
    assert quota[at - 1 : at + 5] == ["京民融", "年度额度", "400.00", "100.00", "25.00%", "300.00"]
    at = quota.index("余额上限")
    assert quota[at - 1 : at + 5] == ["京民融", "余额上限", "200.00", "100.00", "50.00%", "100.00"]
    assert "额度表从略" not in "\n".join(quota)


def test_share_rule_is_judged_for_the_branch_not_each_tool(ledger: Ledger, tmp_path: Path):
    """JMR alone is at 0% but the branch (with 再贴现's key-area money) is at 75%: no report says 未达标; the
    rediscount report lists its bill and interest."""
    setup_bank(ledger)
    tech = add_borrower(ledger, 1, industry="C3911")
    shop = add_borrower(ledger, 2, industry="F5123")
    ledger.book(relending(shop, drawn_on="2023-03-01", maturity_on="2024-03-01", amount="1000000.00"))
    number = bill(7)
    ledger.book(
        rediscount(tech, number, drawn_on="2023-03-02", maturity_on="2023-07-01", amount="3000000.00")
    )
    results = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP)
    assert [r.tool_code for r in results] == ["JMR", "ZTX", None]
    for result in results:
        body = text_of(result.path).replace("\n", "")
        assert "未达标" not in body
        assert "全辖年初至月末重点领域占比 75.00%（要求 ≥ 50.00%），达标" in body
    tool = text_of(results[0].path).splitlines()
    at = tool.index("本工具重点领域占比（仅供参考）")
    assert tool[at + 1].strip() == "0.00%"
    with ledger.connect() as conn:
        interest = conn.execute(
            text("SELECT interest_fen FROM drawdown WHERE bill_no = :b"), {"b": number}
        ).scalar()
    assert interest
    ztx = text_of(results[1].path)
    appendix = ztx[ztx.index("附录：本月发放明细") :]
    assert number in appendix and appendix.count("3,000,000.00") == 2  # the row and its 合计
    paid = _section(ztx, "（七）再贴现利息", "（八）")
    assert f"{interest // 100:,}.{interest % 100:02d}" in paid
