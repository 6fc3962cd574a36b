"""Month-end PDF reports, on both backends: the figures a reader sees equal the ledger to the fen, every font is
embedded, the page count and "共 N 页" agree, the same data and --generated-at give the same bytes, and
`ledger report verify` tells a registered copy from a changed one without breaking `ledger audit verify`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from ledger.cli.main import main
from ledger.domain.errors import LedgerError, ValidationError
from ledger.facade import Ledger
from ledger.reports import batch
from ledger.rules.share import compute_share, display_percent
from tests.factories import add_borrower, relending, setup_bank

STAMP = "2023-04-01T09:00:00+08:00"


# -- helpers -------------------------------------------------------------------------------------------------------
def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(str(path)).pages]


def font_dicts(path: Path) -> list[Any]:
    """Every font referenced by any page or form XObject."""
    found: list[Any] = []
    for page in PdfReader(str(path)).pages:
        page_resources: Any = page["/Resources"]
        resources = [page_resources]
        xobjects = page_resources.get("/XObject")
        if xobjects:
            resources += [x.get_object()["/Resources"].get_object() for x in xobjects.get_object().values()]
        for res in resources:
            fonts = res.get("/Font")
            if fonts:
                found += [f.get_object() for f in fonts.get_object().values()]
    return found


def half_up(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def money(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def wan(fen: int) -> str:
    return f"{half_up(Decimal(fen) / 1_000_000):,.2f}"


@pytest.fixture
def booked(ledger: Ledger) -> dict[str, int]:
    """京民融 (JMR) in Feb and March 2023: three borrowers, two rates, a reversal and a repayment."""
    setup_bank(ledger)
    a = add_borrower(
        ledger, 1, industry="I6510", size="small", statuses=(("高新技术企业", date(2022, 1, 1), None),)
    )
    b = add_borrower(ledger, 2, industry="C3911", size="micro")
    c = add_borrower(ledger, 3, industry="F5123", size="small")
    ids = {
        "d1": ledger.book(
            relending(
                a,
                drawn_on="2023-03-01",
                maturity_on="2024-03-01",
                amount="1000000.00",
                cb_rate="1.75",
                lend_rate="3.50",
            )
        ).id,
        "d2": ledger.book(
            relending(
                b,
                drawn_on="2023-03-15",
                maturity_on="2023-04-20",
                amount="2500000.50",
                cb_rate="1.75",
                lend_rate="4.00",
            )
        ).id,
        "d3": ledger.book(
            relending(
                c,
                drawn_on="2023-03-20",
                maturity_on="2024-03-20",
                amount="300000.25",
                cb_rate="2.00",
                lend_rate="3.00",
            )
        ).id,
        "d4": ledger.book(
            relending(
                c,
                drawn_on="2023-03-25",
                maturity_on="2024-03-25",
                amount="700000.00",
                cb_rate="1.75",
                lend_rate="3.10",
            )
        ).id,
        "d5": ledger.book(
            relending(
                a,
                drawn_on="2023-02-10",
                maturity_on="2024-02-10",
                amount="400000.00",
                cb_rate="1.75",
                lend_rate="3.20",
            )
        ).id,
    }
    ledger.reverse(ids["d4"], "录入错误", date(2023, 3, 26))
    ledger.repay(ids["d1"], date(2023, 3, 28), "200000.00", "提前收回")
    return ids


def _drawdowns(ledger: Ledger, start: str, end: str) -> list[tuple[int, int, int, int, int, int]]:
    """(id, enterprise, amount, principal, cb ppm, lend ppm) of non-reversed JMR drawdowns in [start, end]."""
    with ledger.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, enterprise_id, amount_fen, principal_fen, cb_rate_ppm, lend_rate_ppm FROM drawdown d "
                "WHERE tool_code = 'JMR' AND drawn_on BETWEEN :a AND :b AND id NOT IN "
                "(SELECT drawdown_id FROM drawdown_event WHERE kind = 'reversal') ORDER BY id"
            ),
            {"a": start, "b": end},
        ).all()
    return [tuple(int(v) for v in r) for r in rows]  # type: ignore[misc]


def _weighted(rows: Sequence[tuple[int, ...]], rate_at: int, weight_at: int) -> str:
    total = sum(r[weight_at] for r in rows)
    return f"{half_up(Decimal(sum(r[rate_at] * r[weight_at] for r in rows)) / total / 10_000)}"


def _row(text_: str, label: str) -> list[str]:
    """The values printed after a key-figures label (pypdf puts each cell on its own line)."""
    lines = text_.splitlines()
    at = lines.index(label)
    return [v.strip() for v in lines[at + 1 : at + 3]]


# -- figures ---------------------------------------------------------------------------------------------------------
def test_tool_report_figures_equal_the_ledger_to_the_fen(
    ledger: Ledger, booked: dict[str, int], tmp_path: Path
):
    results = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP)
    assert [r.tool_code for r in results] == ["JMR", None]  # only the tool with activity, then the summary
    body = pdf_text(results[0].path)

    month = _drawdowns(ledger, "2023-03-01", "2023-03-31")
    ytd = _drawdowns(ledger, "2023-01-01", "2023-03-31")
    assert [r[0] for r in month] == [booked["d1"], booked["d2"], booked["d3"]]  # d4 reversed
    month_fen, ytd_fen = sum(r[2] for r in month), sum(r[2] for r in ytd)
    assert (month_fen, ytd_fen) == (
        380_000_075,
        420_000_075,
    )  # by hand: 1,000,000.00 + 2,500,000.50 + 300,000.25

    assert _row(body, "发放金额（元）") == ["3,800,000.75", "4,200,000.75"]
    assert _row(body, "发放金额（万元）") == [wan(month_fen), wan(ytd_fen)] == ["380.00", "420.00"]
    assert _row(body, "笔数") == ["3", "4"]
    assert _row(body, "户数") == ["3", "3"]
    assert _row(body, "加权平均央行利率（%）") == [_weighted(month, 4, 2), _weighted(ytd, 4, 2)]
    assert _row(body, "加权平均企业利率（%）") == [_weighted(month, 5, 3), _weighted(ytd, 5, 3)]
    assert "本月发放 0.04 亿元，3 笔，3 户；年初至今累计发放 0.04 亿元" in body

    # Month end: d1 less its repayment, d2, d3, d5; d2 falls due in April.
    outstanding = ledger.outstanding(date(2023, 3, 31), "JMR")[0].amount_fen
    assert outstanding == 420_000_075 - 20_000_000
    assert _row(body, "月末余额（元）")[0] == money(outstanding) == "4,000,000.75"
    assert _row(body, "下月到期（万元）")[0] == wan(250_000_050)
    assert _row(body, "下月到期笔数")[0] == "1"

    with ledger.connect() as conn:
        share = compute_share(conn, ledger.config, 2023, date(2023, 3, 31), tool_code="JMR")
    assert (
        share.key_area_fen == 100_000_000 + 40_000_000 + 250_000_050
    )  # borrower 1 (status) and 2 (section C)
    assert _row(body, "本工具重点领域发放（元）")[0] == money(share.key_area_fen)
    assert _row(body, "本工具重点领域占比（仅供参考）")[0] == display_percent(share.share)
    # The rule is the branch's: its figure leads the section (here JMR is the only tool with drawings).
    assert (
        f"全辖年初至月末重点领域占比 {display_percent(share.share)}（要求 ≥ 50.00%），达标"
        in body.replace("\n", "")
    )
    # By reason: borrower 1's status (d1 and d5), borrower 2's industry (C3911 is high-tech manufacturing).
    reasons = body[body.index("重点领域发放按认定原因") :].splitlines()
    at = reasons.index("资质")
    assert reasons[at + 1 : at + 3] == ["2", "140.00"]
    at = reasons.index("高技术制造业")
    assert reasons[at + 1 : at + 3] == ["1", "250.00"]

    appendix = body[body.index("附录：本月发放明细") :]
    for ident, amount in (
        (booked["d1"], "1,000,000.00"),
        (booked["d2"], "2,500,000.50"),
        (booked["d3"], "300,000.25"),
    ):
        assert re.search(rf"^{ident} 2023-03-\d\d .* {re.escape(amount)} ", appendix, re.M), ident
    assert not re.search(rf"^{booked['d4']} 2023-03-25", appendix, re.M)
    assert "700,000.00" not in appendix  # d4 shows only as the month's reversal, in the movements
    moves = body[body.index("二、余额变动（月初至月末）") : body.index("三、月末余额到期阶梯")].splitlines()
    at = moves.index("减：冲正")
    assert moves[at + 1 : at + 4] == ["1", "700,000.00", "70.00"]


def test_breakdowns_and_borrowers_name_the_ledger_rows(
    ledger: Ledger, booked: dict[str, int], tmp_path: Path
):
    results = batch.monthly_reports(ledger, "2023-03", ["京民融"], out_dir=tmp_path, generated_at=STAMP)
    body = pdf_text(results[0].path)
    lines = body.splitlines()
    # Industry sections: C (borrower 2), I (borrower 1), F (borrower 3); year-to-date share of the 4,200,000.75.
    at = lines.index("C 制造业")
    assert lines[at + 1 : at + 6] == ["1", "250.00", "1", "250.00", "59.52%"]
    at = lines.index("I 信息传输、软件和信息技术服务业")
    assert lines[at + 1 : at + 6] == ["1", "100.00", "2", "140.00", "33.33%"]
    at = lines.index("高新技术企业")
    assert lines[at + 1 : at + 5] == ["1", "100.00", "2", "140.00"]
    at = lines.index("无有效科创资质")
    assert lines[at + 1 : at + 5] == ["2", "280.00", "2", "280.00"]
    assert "北京测试企业2有限公司" in body and "北京银行" in body


# -- fonts, pages, reproducibility -----------------------------------------------------------------------------------
def test_every_font_is_embedded_truetype(ledger: Ledger, booked: dict[str, int], tmp_path: Path):
    for result in batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP):
        fonts = font_dicts(result.path)
        assert fonts
        for font in fonts:
            assert "Helvetica" not in str(font["/BaseFont"])
            assert "/FontFile2" in font["/FontDescriptor"].get_object(), font["/BaseFont"]


def test_page_count_and_page_x_of_y(ledger: Ledger, tmp_path: Path):
    ledger.load_demo(drawdowns=3000, year=2023, seed=7)
    results = batch.monthly_reports(ledger, "2023-06", out_dir=tmp_path, generated_at=STAMP)
    assert len(results) > 5
    with ledger.connect() as conn:
        counts: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT tool_code, COUNT(*) FROM drawdown d WHERE drawn_on BETWEEN '2023-06-01' AND '2023-06-30' AND "
                    "NOT EXISTS (SELECT 1 FROM drawdown_event r WHERE r.drawdown_id = d.id AND r.kind = 'reversal') "
                    "GROUP BY tool_code"
                )
            ).all()
        )
    for result in results:
        pages = page_texts(result.path)
        assert len(pages) == result.pages
        for number, page in enumerate(pages, 1):
            assert f"第 {number} 页" in page and f"共 {len(pages)} 页" in page
        if result.tool_code:
            body = "\n".join(pages)
            listed = re.findall(r"^\d+ 2023-06-\d\d ", body[body.index("附录：本月发放明细") :], re.M)
            assert len(listed) == counts.get(result.tool_code, 0)


def test_same_data_and_time_give_identical_bytes(ledger: Ledger, booked: dict[str, int], tmp_path: Path):
    first = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path / "a", generated_at=STAMP)
    second = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path / "b", generated_at=STAMP)
    for a, b in zip(first, second, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()
        assert b.record_id == a.record_id and not b.newly_registered  # registered once
    # Same data, another print time: the registration is reused, and with it its time, so the same bytes again.
    later = batch.monthly_reports(
        ledger, "2023-03", out_dir=tmp_path / "c", generated_at="2023-04-02T10:00:00+08:00"
    )
    assert [r.sha256 for r in later] == [r.sha256 for r in first]
    assert [(r.record_id, r.newly_registered, r.generated_at) for r in later] == [
        (r.record_id, False, STAMP) for r in first
    ]
    ledger.repay(booked["d3"], date(2023, 3, 30), "100.00")
    changed = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path / "d", generated_at=STAMP)
    assert changed[0].data_fingerprint != first[0].data_fingerprint
    assert all(r.newly_registered for r in changed)
    with ledger.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM report_record")).scalar_one() == 4
    assert ledger.verify_audit().ok


# -- registry and verify ---------------------------------------------------------------------------------------------
def test_verify_tells_registered_from_changed(
    ledger: Ledger, db_url: str, booked: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert (
        main(
            [
                "--db",
                db_url,
                "report",
                "monthly",
                "--month",
                "2023-03",
                "--out",
                str(tmp_path),
                "--generated-at",
                STAMP,
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "report-2023-03-JMR.pdf"), str(tmp_path / "report-2023-03-summary.pdf")]
    original = Path(printed[0])
    assert main(["--db", db_url, "report", "verify", str(original)]) == 0
    assert "一致 (match)" in capsys.readouterr().out

    tampered = tmp_path / "copy" / original.name
    tampered.parent.mkdir()
    data = bytearray(original.read_bytes())
    at = data.index(b"/Producer")
    data[at + 1] = ord("Q")
    tampered.write_bytes(bytes(data))
    assert main(["--db", db_url, "report", "verify", str(tampered)]) == 1
    assert "不一致" in capsys.readouterr().err
    stranger = tmp_path / "other.pdf"
    stranger.write_bytes(b"%PDF-1.4 not ours")
    assert main(["--db", db_url, "report", "verify", str(stranger)]) == 1
    assert "未登记" in capsys.readouterr().err

    with ledger.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT tool_code, period, file_name, generated_at, a.action FROM report_record r "
                "JOIN audit_log a ON a.id = r.audit_id ORDER BY r.id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("JMR", "2023-03", "report-2023-03-JMR.pdf", STAMP, "report"),
        (None, "2023-03", "report-2023-03-summary.pdf", STAMP, "report"),
    ]
    assert ledger.verify_audit().ok


# -- summary, empty month, bad input ---------------------------------------------------------------------------------
def test_summary_sets_tools_side_by_side(ledger: Ledger, booked: dict[str, int], tmp_path: Path):
    summary = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP)[-1]
    body = pdf_text(summary.path)
    lines = body.splitlines()
    at = lines.index("京民融（JMR）")
    assert lines[at + 1 : at + 7] == ["再贷款", "380.00", "3", "420.00", "400.00", "3"]
    with ledger.connect() as conn:
        share = compute_share(conn, ledger.config, 2023, date(2023, 3, 31))
    assert f"重点领域占比（年初至月末）{display_percent(share.share)}" in body.replace("\n", "")
    assert "本报告期无任何发放" not in body


def test_empty_month_gives_a_summary_that_says_so(ledger: Ledger, tmp_path: Path):
    results = batch.monthly_reports(ledger, "2024-07", out_dir=tmp_path, generated_at=STAMP)
    assert [r.tool_code for r in results] == [None]
    body = pdf_text(results[0].path)
    assert "本报告期无任何发放" in body and "本期无发放" in body
    assert PdfReader(str(results[0].path)).pages


def test_an_asked_for_tool_without_data_still_reports(ledger: Ledger, tmp_path: Path):
    results = batch.monthly_reports(ledger, "2024-07", ["JCT"], out_dir=tmp_path, generated_at=STAMP)
    body = pdf_text(results[0].path)
    assert "本工具本报告期无发放" in body and "本月无发放。" in body


@pytest.mark.parametrize("month", ["2023-13", "2023/03", "march", ""])
def test_bad_month_is_refused(ledger: Ledger, tmp_path: Path, month: str):
    with pytest.raises(ValidationError):
        batch.monthly_reports(ledger, month, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before any file is made


def test_cli_refuses_bad_input_with_a_message(
    ledger: Ledger, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["--db", db_url, "report", "monthly", "--month", "2023-13", "--out", str(tmp_path)]) == 1
    assert "month" in capsys.readouterr().err
    assert (
        main(
            [
                "--db",
                db_url,
                "report",
                "monthly",
                "--month",
                "2023-03",
                "--tool",
                "NOPE",
                "--out",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "未知工具" in capsys.readouterr().err
    assert (
        main(
            [
                "--db",
                db_url,
                "report",
                "monthly",
                "--month",
                "2023-03",
                "--generated-at",
                "yesterday",
                "--out",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "generated_at" in capsys.readouterr().err
    assert main(["--db", db_url, "report", "verify", str(tmp_path / "missing.pdf")]) == 1
    with pytest.raises(LedgerError):
        batch.monthly_reports(ledger, "2023-03", ["NOPE"], out_dir=tmp_path)


def test_wording_comes_from_the_template(
    ledger: Ledger, booked: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """An English edition is a translated copy of zh.toml: no code change, the labels follow the file."""
    from ledger.reports.template import template_dir

    source = (template_dir() / "zh.toml").read_text(encoding="utf-8")
    edited = source.replace('tool_title = "{tool_name}月度报告"', 'tool_title = "{tool_name} Monthly Report"')
    edited = edited.replace('amount_yuan = "发放金额（元）"', 'amount_yuan = "Amount drawn (yuan)"')
    assert edited != source
    (tmp_path / "en.toml").write_text(edited, encoding="utf-8")
    monkeypatch.setenv("LEDGER_TEMPLATES", str(tmp_path))
    result = batch.monthly_reports(ledger, "2023-03", ["JMR"], tmp_path / "out", STAMP, edition="en")[0]
    body = pdf_text(result.path)
    assert "京民融 Monthly Report" in body
    assert _row(body, "Amount drawn (yuan)") == ["3,800,000.75", "4,200,000.75"]


def test_trend_chart_and_maturities_follow_the_ledger(ledger: Ledger, booked: dict[str, int], tmp_path: Path):
    results = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP)
    tool_lines = pdf_text(results[0].path).splitlines()
    # Bar labels of the 12-month chart: February 400,000.00 yuan, March 3,800,000.75 yuan, nothing before.
    assert "40.00" in tool_lines and "2022年4月" in tool_lines and "每月发放金额（万元）" in tool_lines
    summary = pdf_text(results[1].path).splitlines()
    at = summary.index("京民融", summary.index("四、到期分布（按月末余额）"))
    # 1-3 months: d2 (2,500,000.50, April); 7-12 months: d5 (Feb 2024), d1 less its repayment and d3 (March 2024);
    # nothing beyond; month-end balance 4,000,000.75.
    assert summary[at + 1 : at + 6] == ["250.00", "0.00", "150.00", "0.00", "400.00"]
