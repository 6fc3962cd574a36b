"""`ledger backup OUT` while another process keeps booking: the copy (restored, on PostgreSQL) verifies."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ledger.cli.main import main
from ledger.domain.errors import LedgerError, PermissionDenied
from ledger.facade import Ledger
from ledger.services.backup import restore_postgres
from tests.conftest import PG_ADMIN_URL, fixture_actor, is_pg, staff
from tests.factories import add_borrower, relending, setup_bank

WRITER_BOOKINGS = 150


def _writer(url: str, borrower: str, ready: object) -> int:
    ledger = Ledger(url, actor=fixture_actor(url))
    try:
        for i in range(WRITER_BOOKINGS):
            ledger.book(relending(borrower, tool="JCR", ext_ref=f"bg-{i}"))
            if i == 10:
                ready.set()  # type: ignore[attr-defined]
    finally:
        ledger.dispose()
    return WRITER_BOOKINGS


@pytest.fixture
def restored_db() -> Iterator[str]:
    """An empty PostgreSQL database to restore into, dropped afterwards."""
    name = f"ledger_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _drawdowns(ledger: Ledger) -> int:
    return int(ledger.sql("SELECT COUNT(*) FROM drawdown").rows[0][0])


def test_backup_while_booking_gives_a_copy_that_verifies(
    ledger: Ledger, tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    out = tmp_path / ("copy.db" if ledger.engine.dialect.name == "sqlite" else "copy.dump")
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    writer = context.Process(target=_writer, args=(ledger.url, firm, ready))
    writer.start()
    try:
        assert ready.wait(60), "the writer never started booking"
        code = main(["--db", ledger.url, "backup", str(out)])
        during = _drawdowns(ledger)
    finally:
        writer.join(120)
    assert code == 0 and writer.exitcode == 0
    assert out.exists() and not Path(str(out) + ".part").exists()
    assert "已备份" in capsys.readouterr().out
    if ledger.engine.dialect.name == "sqlite":
        copy = Ledger(str(out), actor="restorer")
    else:
        target: str = request.getfixturevalue("restored_db")
        restore_postgres(out, target)
        copy = Ledger(target)
    try:
        result = copy.verify_audit()
        copied = _drawdowns(copy)
        assert result.ok, result.problem
        assert 10 < copied <= during <= WRITER_BOOKINGS  # a snapshot taken while the writer was busy
        assert main(["--db", copy.url, "audit", "verify"]) == 0
    finally:
        copy.dispose()
    assert _drawdowns(ledger) == WRITER_BOOKINGS  # the writer was never disturbed
    assert ledger.sql("SELECT COUNT(*) FROM audit_log WHERE action = 'backup'").rows == [(1,)]


def test_backup_never_overwrites_and_needs_the_role(ledger: Ledger, tmp_path: Path) -> None:
    existing = tmp_path / "taken"
    existing.write_text("keep me")
    with pytest.raises(LedgerError, match="已存在"):
        ledger.backup(str(existing))
    assert existing.read_text() == "keep me"
    people = staff(ledger, olga="operator")
    with pytest.raises(PermissionDenied):
        people["olga"].backup(str(tmp_path / "new"))
    assert not (tmp_path / "new").exists()

    def as_(person: Ledger) -> list[str]:
        return ["--db", person.url] if is_pg(ledger.url) else ["--db", ledger.url, "--user", person.actor]

    assert main([*as_(people["olga"]), "backup", str(tmp_path / "new")]) == 1
    started = time.perf_counter()
    assert main([*as_(people["admin"]), "backup", str(tmp_path / "new")]) == 0
    assert time.perf_counter() - started < 60
    for person in people.values():
        person.dispose()
