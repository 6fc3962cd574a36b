"""Issued reports a branch can stand behind, on both backends: a month not yet closed is stamped 初步数 on every page
and registered as preliminary, a closed month's report is final and no later correction changes it, every page
prints its registration (number, data fingerprint, the audit chain's head), a re-run with the same data reuses the
registration, and `ledger report verify` names the registration that superseded an outdated copy."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from ledger.cli.main import main
from ledger.facade import Ledger
from ledger.reports import batch
from ledger.services.audit_verify import recorded_anchors
from tests.factories import add_borrower, relending, setup_bank

STAMP = "2023-04-01T09:00:00+08:00"


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(str(path)).pages]


@pytest.fixture
def march(ledger: Ledger) -> list[int]:
    """京民融 in March 2023: two drawdowns."""
    setup_bank(ledger)
    a = add_borrower(ledger, 1, industry="C3911")
    b = add_borrower(ledger, 2, industry="F5123")
    return [
        ledger.book(relending(a, drawn_on="2023-03-01", maturity_on="2024-03-01", amount="1000000.00")).id,
        ledger.book(relending(b, drawn_on="2023-03-10", maturity_on="2023-09-10", amount="500000.00")).id,
    ]


def _head(ledger: Ledger) -> tuple[int, str]:
    from ledger.services.audit import chain_head

    with ledger.connect() as conn:
        return chain_head(conn)


def test_unclosed_month_is_preliminary_on_every_page_and_closed_month_final(
    ledger: Ledger, march: list[int], tmp_path: Path
):
    head = _head(ledger)
    before = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path / "a", generated_at=STAMP)
    assert {r.status for r in before} == {"preliminary"}
    for result in before:
        pages = page_texts(result.path)
        assert len(pages) >= 2 or result.tool_code is None
        for page in pages:
            assert "初步数" in page
            assert f"报告登记第 {result.record_id} 号" in page
            assert f"数据指纹 {result.data_fingerprint}" in page
        assert "生成时间 2023年4月1日 09:00" in pages[0]
    # The first registration printed the head just before it; the second the head after the first's record.
    assert f"登记时审计链头 {head[0]} {head[1]}" in page_texts(before[0].path)[0]
    assert f"登记时审计链头 {head[0] + 1} " in page_texts(before[1].path)[0]

    ledger.close_month("2023-03")
    after = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path / "b", generated_at=STAMP)
    assert {r.status for r in after} == {"final"}
    assert [r.data_fingerprint for r in after] == [r.data_fingerprint for r in before]  # the same figures
    assert all(r.newly_registered for r in after)  # registered again, as final
    for result in after:
        for page in page_texts(result.path):
            assert "初步数" not in page and "正式数" in page


def test_final_report_unchanged_by_a_later_correction(
    ledger: Ledger, db_url: str, march: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    ledger.close_month("2023-03")
    final = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path / "a", generated_at=STAMP)
    body = "\n".join(page_texts(final[0].path))
    assert "本月发放 0.02 亿元，2 笔" in body

    # A March drawdown found wrong in April: the reversal takes effect in April (March is closed).
    ledger.reverse(march[1], "录入错误", date(2023, 4, 3))
    again = batch.monthly_reports(
        ledger, "2023-03", out_dir=tmp_path / "b", generated_at="2023-05-01T09:00:00+08:00"
    )
    assert [r.data_fingerprint for r in again] == [r.data_fingerprint for r in final]
    assert [r.path.read_bytes() for r in again] == [r.path.read_bytes() for r in final]
    assert [(r.record_id, r.newly_registered) for r in again] == [(r.record_id, False) for r in final]
    assert main(["--db", db_url, "report", "verify", str(final[0].path)]) == 0
    assert "一致 (match)" in capsys.readouterr().out

    # April shows the correction: April's year to date no longer holds the reversed drawdown.
    april = batch.monthly_reports(ledger, "2023-04", ["JMR"], out_dir=tmp_path / "c", generated_at=STAMP)
    assert "年初至今累计发放 0.01 亿元" in "\n".join(page_texts(april[0].path))
    assert ledger.verify_audit().ok


def test_verify_names_the_registration_that_superseded_a_copy(
    ledger: Ledger, db_url: str, march: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    first = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path / "a", generated_at=STAMP)
    ledger.repay(march[0], date(2023, 3, 20), "100000.00", "提前收回")
    second = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path / "b", generated_at=STAMP)
    assert second[0].record_id > first[1].record_id
    assert main(["--db", db_url, "report", "verify", str(first[0].path)]) == 1
    err = capsys.readouterr().err
    assert f"已被第 {second[0].record_id} 号报告取代 (superseded by report {second[0].record_id})" in err
    assert main(["--db", db_url, "report", "verify", str(second[0].path)]) == 0
    assert "一致" in capsys.readouterr().out
    # The summary's month changed too (the repayment lowers its month-end balance).
    assert main(["--db", db_url, "report", "verify", str(first[1].path)]) == 1
    assert f"第 {second[1].record_id} 号" in capsys.readouterr().err


def test_registrations_are_audit_anchors(ledger: Ledger, march: list[int], tmp_path: Path):
    head = _head(ledger)
    results = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP)
    with ledger.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.id, a.action, a.payload FROM report_record r JOIN audit_log a ON a.id = r.audit_id "
                "ORDER BY r.id"
            )
        ).all()
        anchors = recorded_anchors(conn)
    assert [r[1] for r in rows] == ["report", "report"]
    payload = json.loads(rows[0][2])
    assert payload["head"] == [head[0], head[1]]
    assert payload["status"] == "preliminary" and payload["data_fingerprint"] == results[0].data_fingerprint
    assert payload["font"] and payload["edition"] == "zh"
    assert (head[0], head[1], rows[0][0]) in anchors
    assert ledger.verify_audit().ok
