"""Report pieces that need no database: exact weighted rates, the template and its glyphs, axis steps, the grid's
page splits, and input parsing."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.platypus import SimpleDocTemplate

from ledger.domain.errors import ValidationError
from ledger.reports.batch import parse_generated_at
from ledger.reports.figures import Period, Totals, WeightedRate
from ledger.reports.fonts import missing_glyphs, register_font
from ledger.reports.grid import Grid
from ledger.reports.render import nice_steps
from ledger.reports.template import TemplateError, load_template


def test_weighted_rate_is_exact_beyond_int64():
    # 1,000,000 drawdowns of 9,000,000,000.00 yuan at 1.75 %: Σ amount × ppm is about 1.6e22 > 2**63.
    big = 900_000_000_000 * 1_000_000
    rate = WeightedRate(((17_500, big), (20_000, big // 3)))
    assert 17_500 * big > 2**63
    expected = (Decimal(17_500 * big + 20_000 * (big // 3)) / Decimal(big + big // 3)) / 10_000
    assert rate.exact == expected
    assert rate.average == Decimal("1.81")  # 1.8125 rounds half-up to 1.81
    assert WeightedRate(((12_500, 1), (13_750, 1))).average == Decimal("1.31")  # 1.3125 → 1.31
    assert WeightedRate(((10_000, 1), (10_050, 1))).average == Decimal("1.00")  # 1.0025 → 1.00
    assert WeightedRate(((10_000, 1), (10_010, 1))).average == Decimal("1.00")
    assert WeightedRate(((10_000, 1), (10_100, 1))).average == Decimal("1.01")  # 1.005 → 1.01 (half-up)
    assert WeightedRate().average is None


def test_leverage_is_underlying_over_central_bank_money():
    assert Totals(amount_fen=60, principal_fen=100).leverage == Decimal("1.67")
    assert Totals().leverage is None


def test_period_knows_its_dates():
    p = Period.parse("2024-02")
    assert (p.first.isoformat(), p.last.isoformat(), p.year_first.isoformat()) == (
        "2024-02-01",
        "2024-02-29",
        "2024-01-01",
    )
    assert [q.key for q in p.trend()][:2] == ["2023-03", "2023-04"] and p.trend()[-1].key == "2024-02"
    assert p.shifted(11).key == "2025-01"
    for bad in ("2024-00", "24-02", "2024-2-1", "0000-01"):
        with pytest.raises(ValidationError):
            Period.parse(bad)


def test_generated_at_is_validated_and_normalised():
    assert parse_generated_at("2023-04-01T09:00:00.123+08:00") == "2023-04-01T09:00:00+08:00"
    assert parse_generated_at(None).endswith("+00:00")
    with pytest.raises(ValidationError):
        parse_generated_at("next tuesday")


def test_template_texts_are_all_drawable():
    template = load_template("zh")
    assert missing_glyphs(template.all_text() + "0123456789,.%—…≥") == []
    assert sum(template.widths("appendix")) == pytest.approx(sum(template.widths("breakdown")))


def test_missing_template_is_a_clear_error(tmp_path):
    with pytest.raises(TemplateError, match="template"):
        load_template("xx", tmp_path)
    (tmp_path / "zz.toml").write_text('[breakdown]\ncolumns = ["a", "b"]\nwidths = [10]\n', encoding="utf-8")
    with pytest.raises(TemplateError):
        load_template("zz", tmp_path)


def test_axis_steps_are_round_and_cover_the_largest_value():
    assert nice_steps(0) == [0, 1_000_000]
    steps = nice_steps(340_280_000_00)
    assert steps[0] == 0 and steps[-1] >= 340_280_000_00
    step = steps[1]
    assert all(b - a == step for a, b in itertools.pairwise(steps))
    assert str(step).rstrip("0") in ("1", "2", "5")


def test_grid_splits_at_page_ends_and_repeats_its_header():
    font = register_font()
    header = ["编号", "企业名称", "金额（元）"]
    rows = [[str(i), f"北京测试企业{i}有限公司" * (3 if i == 7 else 1), f"{i:,}.00"] for i in range(1, 401)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, initialFontName=font)
    doc.build(
        [Grid(header, rows[i : i + 60], [40, 200, 80], [0, 2], font, 7, 9.2) for i in range(0, 400, 60)]
    )
    pages = [p.extract_text() for p in PdfReader(buffer).pages]
    assert len(pages) > 3
    listed = []
    for page in pages:
        lines = page.splitlines()
        assert lines[0].startswith("编号 企业名称")  # every page starts with the header
        listed += [int(line.split()[0]) for line in lines if line.split()[0].isdigit()]
    assert listed == list(range(1, 401))  # every row once, in order, none lost at a split
