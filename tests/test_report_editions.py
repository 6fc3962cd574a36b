"""The English edition (templates/pdf/en.toml) on both backends: the same figures and layout as the Chinese one,
its own file name and registration, the same data fingerprint; and what every page and the PDF's metadata say."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

from pypdf import PdfReader

from ledger.facade import Ledger
from ledger.reports import batch
from ledger.reports.template import load_template
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank

STAMP = "2023-04-01T09:00:00+08:00"
FIGURE = re.compile(
    r"-?\d{1,3}(?:,\d{3})*\.\d{2}%?"
)  # every amount, rate and share is printed with 2 decimals


def text_of(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def _book(ledger: Ledger) -> None:
    setup_bank(ledger)
    a = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    b = add_borrower(ledger, 2, industry="F5123")
    ledger.book(relending(a, drawn_on="2023-02-10", maturity_on="2023-08-10", amount="400000.00"))
    ledger.book(
        relending(b, drawn_on="2023-03-01", maturity_on="2024-03-01", amount="1234567.89", cb_rate="2.00")
    )
    gone = ledger.book(relending(a, drawn_on="2023-03-05", maturity_on="2024-03-05", amount="250000.01")).id
    ledger.book(rediscount(a, bill(3), drawn_on="2023-03-06", maturity_on="2023-07-01", amount="800000.00"))
    ledger.reverse(gone, "录入错误", date(2023, 3, 8))


def test_editions_print_the_same_figures(ledger: Ledger, tmp_path: Path):
    _book(ledger)
    zh = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP)
    en = batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP, edition="en")
    assert [r.path.name for r in en] == [
        "report-2023-03-JMR-en.pdf",
        "report-2023-03-ZTX-en.pdf",
        "report-2023-03-summary-en.pdf",
    ]
    for a, b in zip(zh, en, strict=True):
        assert a.data_fingerprint == b.data_fingerprint and a.record_id != b.record_id
        za, zb = text_of(a.path), text_of(b.path)
        figures_zh, figures_en = FIGURE.findall(za), FIGURE.findall(zb)
        assert len(figures_zh) > 40
        assert Counter(figures_zh) == Counter(figures_en)
        assert a.pages == b.pages
        for label in (
            "合计",
            "初步数",
            "单位：万元",
            "报告登记",
            "核对",
        ):  # the template's words, not the data's
            assert label in za and label not in zb
    summary = text_of(en[-1].path)
    assert "Structural Relending and Rediscount Tools: Monthly Summary" in summary
    assert "PRELIMINARY" in summary and "Total" in summary


def test_pdf_metadata_and_every_page(ledger: Ledger, tmp_path: Path):
    _book(ledger)
    tpl = load_template("zh")
    for result in batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP):
        reader = PdfReader(str(result.path))
        info = reader.metadata
        assert info is not None
        assert str(info["/CreationDate"]).startswith("D:20230401090000+08'00'")
        assert info["/Author"] == tpl.meta["issuer"]
        assert "2023年3月" in str(info["/Title"]) and f"报告登记第 {result.record_id} 号" in str(
            info["/Subject"]
        )
        body = text_of(result.path)
        assert "密级：内部" in body and "编制：" in body and "复核：" in body and "负责人：" in body
        assert "报出日期：2023年4月1日" in body


def test_every_listing_ends_with_a_total(ledger: Ledger, tmp_path: Path):
    """Each table under 单位：万元 (every listing in 万元) is followed by its 合计 before the next heading."""
    _book(ledger)
    for result in batch.monthly_reports(ledger, "2023-03", out_dir=tmp_path, generated_at=STAMP):
        body = text_of(result.path)
        parts = re.split(r"(?<!金额)单位：万元", body)[1:]
        assert len(parts) >= (6 if result.tool_code else 7)
        for part in parts:
            head = re.split(
                r"\n[一二三四五六七八九十]+、|\n（[一二三四五六七八]）|\n分|\n重点领域|\n余额变动|\n月末余额到期",
                part,
            )[0]
            assert "合计" in head, head[:200]
