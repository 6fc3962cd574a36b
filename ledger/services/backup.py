"""`ledger backup OUT`: a consistent copy taken while the ledger is in use.

SQLite: the sqlite3 online backup API on the engine's own raw connection, copying every page in one step, i.e.
under one read transaction; in WAL mode writers carry on meanwhile and the copy is the database as of one commit.
The copy is written to a temporary file beside OUT, checked (`PRAGMA integrity_check`, then the audit chain) and renamed, so OUT
never holds half a copy. PostgreSQL: `pg_dump --format=custom`, which reads everything in one snapshot; restore
with `createdb NEW && pg_restore --no-owner --dbname NEW OUT` (docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from ledger.db.engine import make_engine
from ledger.domain.errors import LedgerError
from ledger.services import audit_verify as audit
from ledger.services.safe_output import output_path


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str
    size: int
    sha256: str
    verified: audit.VerifyResult | None  # SQLite: the copy's audit chain; PostgreSQL: verify after restoring


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def backup(
    engine: Engine, out: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()
) -> BackupResult:
    """A backup never replaces a file (not even with --force: an older backup is worth keeping) and is never
    written onto the ledger (`protect`: its files); it is written beside OUT and renamed (safe_output)."""
    target = Path(out).expanduser().absolute()
    with output_path(target, force=False, protect=protect) as part:
        if engine.dialect.name == "sqlite":
            verified = _backup_sqlite(engine, part)
        else:
            _backup_postgres(engine, part)
            verified = None
    return BackupResult(target, engine.dialect.name, target.stat().st_size, _sha256(target), verified)


def _backup_sqlite(engine: Engine, part: Path) -> audit.VerifyResult:
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        copy = sqlite3.connect(str(part))
        try:
            source.backup(copy)  # pages=-1: all pages in one step, one consistent read snapshot
            check = copy.execute("PRAGMA integrity_check").fetchone()
            if not check or check[0] != "ok":
                raise LedgerError(f"备份副本完整性检查失败 (integrity_check: {check})")
            copy.commit()
        finally:
            copy.close()
    finally:
        raw.close()
    with part.open("rb+") as fh:
        os.fsync(fh.fileno())
    copy_engine = make_engine(str(part))
    try:
        with copy_engine.connect() as conn:
            result = audit.verify(conn)
    finally:
        copy_engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(str(part) + suffix).unlink(missing_ok=True)
    if not result.ok:
        raise LedgerError(f"备份副本审计校验失败 (audit verify on the copy: {result.problem})")
    return result


def _pg_args(url_text: str) -> tuple[list[str], dict[str, str]]:
    """libpq connection options as arguments, the password in the environment (never on a command line)."""
    url = make_url(url_text)
    args = ["--dbname", str(url.database)]
    if url.host:
        args += ["--host", str(url.host)]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", str(url.username)]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise LedgerError(f"{name} 未安装 (not found on PATH; install the PostgreSQL client tools)")
    return found


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        first = (done.stderr or done.stdout).strip().splitlines()
        raise LedgerError(f"{Path(cmd[0]).name} 失败 (exit {done.returncode}): {first[0] if first else ''}")


def _backup_postgres(engine: Engine, part: Path) -> None:
    args, env = _pg_args(engine.url.render_as_string(hide_password=False))
    _run([_tool("pg_dump"), "--format=custom", "--no-password", "--file", str(part), *args], env)


def restore_postgres(dump: str | os.PathLike[str], url: str) -> None:
    """Restores a `ledger backup` dump into an existing, empty database (tests and the restore drill use it)."""
    args, env = _pg_args(url)
    _run([_tool("pg_restore"), "--no-owner", "--no-password", "--exit-on-error", *args, str(dump)], env)
