"""Who is acting: an authenticated identity, never a label the caller chooses.

- PostgreSQL (the shared deployment): the database login, `session_user`. The server authenticated it
  (pg_hba.conf); a trigger on audit_log refuses any record in another name.
- SQLite (one workstation): the operating-system account running the process, from the real user id (not $USER or
  $LOGNAME, which any caller can set).
- Training mode, SQLite only: chosen when the ledger file is created (`ledger init --training`), recorded as the
  chain's first record, and shown on every screen header and report page ("培训模式/未认证"). Only there may
  `--user` / $LEDGER_USER name someone else: for courses and tests, never for real money.

Anywhere else, naming another user is refused with a clear message (exit 1), never silently used.
"""

from __future__ import annotations

import json
import os

from sqlalchemy import Connection, text

from ledger.domain.errors import LedgerError

TRAINING = "training"
NORMAL = "normal"
TRAINING_LABEL = "培训模式/未认证"
TRAINING_LABEL_EN = "TRAINING MODE / NOT AUTHENTICATED"


class IdentityError(LedgerError):
    """The caller asked to act as someone the ledger cannot authenticate."""


def os_account() -> str:
    """The account of the real user id: environment variables do not change it."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # pragma: no cover - Windows, or a uid with no passwd entry
        import getpass

        return getpass.getuser()


def os_account_exists(name: str) -> bool:
    try:
        import pwd

        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
    except ImportError:  # pragma: no cover - no passwd database on this platform
        return True


def session_login(conn: Connection) -> str:
    return str(conn.execute(text("SELECT session_user")).scalar_one())


def ledger_mode(conn: Connection) -> str:
    """The mode recorded in the chain's first record by `ledger init` (ledgers from before it: normal)."""
    row = conn.execute(text("SELECT action, entity, payload FROM audit_log WHERE id = 1")).first()
    if row is None or (row[0], row[1]) != ("init", "ledger"):
        return NORMAL
    try:
        return str(json.loads(row[2]).get("mode", NORMAL))
    except (ValueError, AttributeError):
        return NORMAL


def resolve(conn: Connection, requested: str | None, training: bool) -> str:
    """The acting user for this connection; `requested` is --user / $LEDGER_USER (None when not given)."""
    wanted = (requested or "").strip() or None
    if conn.dialect.name == "postgresql":
        login = session_login(conn)
        if wanted is not None and wanted != login:
            raise IdentityError(
                f"--user {wanted!r}: 台账用户即数据库登录名 {login!r},不能以他人身份操作;请用自己的登录连接 "
                f"(--db postgresql+psycopg://{wanted}@host/db) (the ledger user is the PostgreSQL login)"
            )
        return login
    account = os_account()
    if wanted is not None and wanted != account:
        if not training:
            raise IdentityError(
                f"--user {wanted!r}: 台账用户即操作系统账户 {account!r},不能以他人身份操作;只有以 "
                f"`ledger init --training` 创建的培训台账可以指定用户 (the ledger user is the OS account; "
                f"naming another user needs a training-mode ledger)"
            )
        return wanted
    return account
