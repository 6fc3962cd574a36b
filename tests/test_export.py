"""`ledger export drawdowns` on both backends: the file re-imports into an empty ledger as the same drawdowns."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ledger.cli.main import main
from ledger.db.engine import make_engine, upgrade
from ledger.facade import Ledger
from ledger.io.exporter import export_drawdowns
from ledger.io.importer import import_drawdowns
from ledger.io.readers import open_table
from tests import conftest
from tests.conftest import PG_ADMIN_URL
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank
from tests.test_import_helpers import drawdown_facts


@pytest.fixture
def empty_ledger(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A second, empty ledger on the same backend as `ledger`, to import an export into."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "second.db"
        shutil.copy(template, path)
        url = str(path)
        drop = None
    else:
        request.getfixturevalue("pg_url")  # skips (or fails on CI) when PostgreSQL is unreachable
        name = f"ledger_export_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        drop = name
    second = Ledger(url, actor=conftest.fixture_actor(url))
    second.init()
    yield second
    second.dispose()
    if drop is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
        admin.dispose()


def _populate(ledger: Ledger) -> int:
    """A small ledger with what an export must carry: relending with a funding share, whole and split bills,
    statuses that lapse between two drawdowns of one firm, a non-default rate, a reversal, a rollover."""
    setup_bank(ledger)
    ledger.add_institution("CMB01", "招商银行北京分行", "股份制商业银行")
    tech = add_borrower(
        ledger,
        1,
        industry="I6510",
        size="small",
        statuses=(("高新技术企业", date(2021, 6, 1), date(2023, 5, 31)),),
    )
    plain = add_borrower(ledger, 2, industry="F5176", size="micro")
    ledger.book(
        relending(tech, tool="科技创新再贷款", amount=None, principal="1000000.00", drawn_on="2023-03-01")
    )
    # same firm after its status lapsed: not key area any more, and the export must say so
    ledger.book(relending(tech, drawn_on="2023-07-03", maturity_on="2024-07-03", ext_ref="L-2"))
    ledger.book(rediscount(plain, bill(1), cb_rate="1.90"))
    ledger.book(
        rediscount(plain, bill(2), amount="300000.00", bill_range="1-30000000", institution_code="CMB01")
    )
    ledger.book(rediscount(plain, bill(2), amount="200000.00", bill_range="30000001-50000000", ext_ref="B-2"))
    gone = ledger.book(relending(plain, drawn_on="2023-04-03", maturity_on="2024-04-03", ext_ref="GONE")).id
    ledger.reverse(gone, "录入错误")
    special = {
        "tool": "设备更新改造专项再贷款",
        "amount": None,
        "principal": "1000000.00",
        "lend_rate": "3.00",
    }
    rolled = ledger.book(
        relending(plain, drawn_on="2023-01-05", maturity_on="2024-01-05", ext_ref="ROLL", **special)
    ).id  # a special tool: rollable (the Beijing relending products draw on 支农支小, which is not)
    ledger.rollover(rolled, "2025-01-05")
    return 6  # live drawdowns


@pytest.mark.parametrize("where", ["in-process", "child process"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimports_as_the_same_ledger(
    ledger: Ledger,
    empty_ledger: Ledger,
    tmp_path: Path,
    fmt: str,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An export has every column the import reads; a large one is read by the checker child (the 100k
    benchmark's path), a small one in-process: both must rebuild the same ledger."""
    if where == "child process":
        monkeypatch.setattr("ledger.io.importer.PARALLEL_BYTES", 0)
    live = _populate(ledger)
    out = tmp_path / f"export.{fmt}"
    result = export_drawdowns(ledger, out, format=fmt)
    assert result.rows == live  # the reversed drawdown is not exported
    imported = import_drawdowns(empty_ledger, out)
    assert imported.ok and imported.new == live, imported.errors
    original = drawdown_facts(ledger)
    assert drawdown_facts(empty_ledger) == original
    assert (
        sum(1 for r in original if r[-2] == 1) == 1
    )  # only the drawdown made while the status held is key area
    assert empty_ledger.verify_audit().ok
    again = import_drawdowns(empty_ledger, out)
    assert (again.new, again.skipped) == (0, live)


def test_export_filters_and_chinese_header(ledger: Ledger, tmp_path: Path) -> None:
    _populate(ledger)
    out = tmp_path / "march.csv"
    result = export_drawdowns(ledger, out, year=2023, month=3, tool="再贴现", language="zh")
    assert result.rows == 3
    table = open_table(out)
    assert table.encoding == "utf-8-sig" and table.header[0] == "工具"
    rows = list(table.rows)
    assert {r[table.header.index("票据号码")] for r in rows} == {bill(1), bill(2)}
    assert {r[table.header.index("金额")] for r in rows} == {"500000.00", "300000.00", "200000.00"}
    assert {r[table.header.index("央行利率")] for r in rows} == {"1.90", "2.00"}
    assert export_drawdowns(ledger, tmp_path / "none.csv", year=2022).rows == 0


def test_export_cli(ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _populate(ledger)
    out = tmp_path / "all.xlsx"
    assert main(["--db", ledger.url, "export", "drawdowns", "--format", "xlsx", "--out", str(out)]) == 0
    assert "6" in capsys.readouterr().out
    assert main(["--db", ledger.url, "export", "drawdowns", "--month", "3", "--out", str(out)]) == 1
    assert "--year" in capsys.readouterr().err
