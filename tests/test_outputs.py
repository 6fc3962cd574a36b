"""Every file the ledger writes refuses to destroy: not the ledger's own database (nor its -wal/-shm, nor a hard
link to it), not an existing file without --force, and a missing directory is a message, not a traceback. Export
cells that a spreadsheet would run as formulas are text."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.cli.main import main
from ledger.facade import Ledger
from ledger.io.readers import open_table
from tests.conftest import is_pg
from tests.factories import add_borrower, relending, setup_bank, uscc
from tests.test_import_helpers import relending_row, write_csv

Command = Callable[[Ledger, Path, Path], list[str]]


def _export_csv(ledger: Ledger, _tmp: Path, out: Path) -> list[str]:
    return ["export", "drawdowns", "--out", str(out)]


def _export_xlsx(ledger: Ledger, _tmp: Path, out: Path) -> list[str]:
    return ["export", "drawdowns", "--format", "xlsx", "--out", str(out)]


def _rejects(ledger: Ledger, tmp: Path, out: Path) -> list[str]:
    bad = write_csv(tmp / "bad.csv", [relending_row(2), relending_row(3, drawn_on="2023-13-01")])
    return ["import", "drawdowns", str(bad), "--rejects", str(out)]


def _enterprise_rejects(ledger: Ledger, tmp: Path, out: Path) -> list[str]:
    path = tmp / "firms.csv"
    path.write_text(
        "统一社会信用代码,企业名称,行业代码,企业规模\nnot-a-code,坏,C3911,小型\n", encoding="utf-8"
    )
    return ["import", "enterprises", str(path), "--rejects", str(out)]


def _sql(ledger: Ledger, _tmp: Path, out: Path) -> list[str]:
    return ["sql", "SELECT id FROM drawdown", "--format", "csv", "--out", str(out)]


OUTPUTS: dict[str, Command] = {
    "export-csv": _export_csv,
    "export-xlsx": _export_xlsx,
    "import-rejects": _rejects,
    "enterprise-rejects": _enterprise_rejects,
    "sql-out": _sql,
}


@pytest.fixture
def booked(ledger: Ledger) -> Ledger:
    setup_bank(ledger)
    add_borrower(ledger, 1, industry="C3911")
    ledger.book(relending(uscc(1), ext_ref="one"))
    return ledger


def _db(ledger: Ledger) -> Path:
    return Path(str(ledger.engine.url.database))


def _fingerprint(ledger: Ledger) -> tuple[object, ...]:
    counts = ledger.sql("SELECT (SELECT COUNT(*) FROM drawdown), (SELECT COUNT(*) FROM audit_log)").rows[0]
    assert ledger.verify_audit().ok
    return tuple(counts)


@pytest.mark.parametrize("name", sorted(OUTPUTS))
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_no_output_overwrites_the_ledger_itself(
    booked: Ledger, tmp_path: Path, name: str, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if is_pg(booked.url):
        pytest.skip("a PostgreSQL ledger has no file here")
    db = _db(booked)
    target = Path(str(db) + suffix)
    before = _fingerprint(booked)
    size = db.stat().st_size
    for force in ([], ["--force"]):
        args = OUTPUTS[name](booked, tmp_path, target)
        assert main(["--db", booked.url, *args, *force]) == 1
        err = capsys.readouterr().err
        assert "ledger's own database" in err and "Traceback" not in err
    assert db.stat().st_size == size
    assert _fingerprint(booked) == before


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_a_hard_link_or_symlink_to_the_ledger_is_the_ledger(
    booked: Ledger, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if is_pg(booked.url):
        pytest.skip("a PostgreSQL ledger has no file here")
    db = _db(booked)
    hard, soft = tmp_path / "hard.csv", tmp_path / "soft.csv"
    os.link(db, hard)
    soft.symlink_to(db)
    before = _fingerprint(booked)
    for target in (hard, soft):
        assert main(["--db", booked.url, *OUTPUTS[name](booked, tmp_path, target), "--force"]) == 1
        assert "ledger's own database" in capsys.readouterr().err
    assert _fingerprint(booked) == before


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_an_existing_file_is_replaced_only_with_force(
    booked: Ledger, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "precious.out"
    out.write_text("keep me", encoding="utf-8")
    args = OUTPUTS[name](booked, tmp_path, out)
    assert main(["--db", booked.url, *args]) == 1
    assert "--force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "keep me"
    main(["--db", booked.url, *args, "--force"])
    assert out.read_text(encoding="utf-8", errors="replace") != "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no temporary file left behind


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_a_missing_directory_is_a_message(
    booked: Ledger, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fingerprint(booked)
    out = tmp_path / "no" / "such" / "dir" / "x.xlsx"
    assert main(["--db", booked.url, *OUTPUTS[name](booked, tmp_path, out)]) == 1
    err = capsys.readouterr().err
    assert "no such directory" in err and "Traceback" not in err
    assert not out.parent.exists()
    assert _fingerprint(booked) == before


def test_an_output_onto_a_directory_or_device_is_refused(
    booked: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for target in (tmp_path, Path("/dev/null")):
        assert main(["--db", booked.url, "export", "drawdowns", "--out", str(target), "--force"]) == 1
        assert "not a regular file" in capsys.readouterr().err


def test_backup_never_replaces_and_never_writes_onto_the_ledger(
    booked: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.bak"
    old.write_bytes(b"an older backup")
    targets = [old, tmp_path / "missing" / "x.bak"]
    if not is_pg(booked.url):
        targets += [_db(booked), Path(f"{_db(booked)}-wal")]
    for target in targets:
        assert main(["--db", booked.url, "backup", str(target)]) == 1
        err = capsys.readouterr().err
        assert err.strip() and "Traceback" not in err
    assert old.read_bytes() == b"an older backup"
    assert booked.verify_audit().ok


def test_report_files_are_replaced_only_with_force(
    booked: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "report-2023-03-summary.pdf"
    existing.write_bytes(b"%PDF an earlier copy")
    assert main(["--db", booked.url, "report", "monthly", "--month", "2023-03", "--out", str(tmp_path)]) == 1
    assert "--force" in capsys.readouterr().err
    assert existing.read_bytes() == b"%PDF an earlier copy"
    if not is_pg(booked.url):  # the ledger under a report's name: refused even with --force
        existing.unlink()
        os.link(_db(booked), existing)
        args = ["report", "monthly", "--month", "2023-03", "--out", str(tmp_path), "--force"]
        assert main(["--db", booked.url, *args]) == 1
        assert "ledger's own database" in capsys.readouterr().err
        assert booked.verify_audit().ok


# -- formula injection ------------------------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://example.com","click")', "+1+1", "-2+3", "@SUM(A1)", "\t=cmd", "\r=1"]


def _names(ledger: Ledger) -> list[str]:
    """As stored (the ledger trims surrounding white space): each starts with a formula character."""
    names = sorted(str(r[0]) for r in ledger.sql("SELECT name FROM enterprise").rows)
    assert len(names) == len(FORMULAS) and all(n[0] in "=+-@" for n in names)
    return names


@pytest.fixture
def hostile(ledger: Ledger) -> Ledger:
    setup_bank(ledger)
    for n, name in enumerate(FORMULAS, start=1):
        add_borrower(ledger, n, industry="C3911", name=name)
        ledger.book(relending(uscc(n), ext_ref=f"=cmd|' /C calc'!A{n}"))
    return ledger


def test_export_cells_are_never_formulas(hostile: Ledger, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "x.xlsx"
    assert main(["--db", hostile.url, "export", "drawdowns", "--format", "xlsx", "--out", str(out)]) == 0
    sheet = load_workbook(out).worksheets[0]
    header = [c.value for c in sheet[1]]
    names, amounts = header.index("enterprise_name"), header.index("amount")
    cells = [row for row in sheet.iter_rows(min_row=2)]
    assert len(cells) == len(FORMULAS)
    assert all(c.data_type != "f" for row in cells for c in row)
    assert sorted(row[names].value for row in cells) == _names(hostile)
    assert all(row[amounts].data_type == "n" for row in cells)  # amounts stay numbers


def test_csv_export_quotes_formulas_and_reimports_the_same(hostile: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    assert main(["--db", hostile.url, "export", "drawdowns", "--out", str(out)]) == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["enterprise_name"] for r in rows) == ["'" + n for n in _names(hostile)]
    assert all(r["ref"].startswith("'=") for r in rows)
    assert all(not r["amount"].startswith("'") for r in rows)
    table = open_table(out)  # the importer reads the names back as they are in the ledger
    column = table.header.index("enterprise_name")
    assert sorted(r[column] for r in table.rows) == _names(hostile)


def test_console_csv_and_rejects_quote_formulas(hostile: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "q.csv"
    query = "SELECT name, -1 AS minus FROM enterprise ORDER BY id"
    assert main(["--db", hostile.url, "sql", query, "--format", "csv", "--out", str(out)]) == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert all(r[0].startswith("'") for r in rows) and all(r[1] == "-1" for r in rows)
    bad = write_csv(tmp_path / "bad.csv", [relending_row(3, drawn_on="=1+1", enterprise_name="@evil")])
    rejects = tmp_path / "rejects.csv"
    assert main(["--db", hostile.url, "import", "drawdowns", str(bad), "--rejects", str(rejects)]) == 1
    text = rejects.read_text(encoding="utf-8-sig")
    assert "'=1+1" in text and "'@evil" in text
