"""PostgreSQL: a login per member of staff, and database grants that follow the ledger role.

The shared deployment authenticates people as database logins, so the database itself must refuse what a role
may not do, whatever client is used:

- Group roles (NOLOGIN): `ledger_auditor` reads; `ledger_writer` reads and writes (INSERT/UPDATE — the append-only
  tables' triggers still refuse UPDATE and DELETE, and only the owner could drop them); `ledger_operator`,
  `ledger_checker` and `ledger_admin` are writers, and only `ledger_admin` may change `app_user` or provision
  logins. Every group may use the SQL console's read-only role (`ledger_console`, ledger.services.console_role).
- `ledger user add NAME --role R` (an admin) calls `ledger_provision_login(NAME, GROUP)`, a SECURITY DEFINER
  function owned by the schema owner: it creates the login if missing and makes it a member of exactly one ledger
  group, refusing any role that is a superuser, may create roles or databases, bypasses row security or
  replicates, or owns the schema. Staff logins never get CREATEROLE (in PostgreSQL 15 that could grant itself any
  non-superuser role). Disabling a user takes every ledger group away from the login.
- The schema owner (who runs `ledger init`) is not a staff login: once the first admin exists it has no ledger
  role, so it cannot book or approve through the ledger.

If the role running `ledger init` may not create roles, init still succeeds and says what it could not do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

GROUPS: dict[str, str] = {
    "operator": "ledger_operator",
    "checker": "ledger_checker",
    "auditor": "ledger_auditor",
    "admin": "ledger_admin",
}
WRITER = "ledger_writer"
ALL_GROUPS = (*GROUPS.values(), WRITER)

_PROVISION = """
CREATE OR REPLACE FUNCTION ledger_provision_login(login text, grp text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r record;
    g text;
BEGIN
    IF login !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'login name % must be lowercase letters, digits and _ (at most 63)', login;
    END IF;
    IF grp IS NOT NULL AND grp NOT IN ('ledger_operator', 'ledger_checker', 'ledger_auditor', 'ledger_admin') THEN
        RAISE EXCEPTION 'not a ledger group: %', grp;
    END IF;
    IF login LIKE 'ledger\\_%' OR login LIKE 'pg\\_%' THEN
        RAISE EXCEPTION 'reserved role name: %', login;
    END IF;
    SELECT * INTO r FROM pg_roles WHERE rolname = login;
    IF FOUND THEN
        IF r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls THEN
            RAISE EXCEPTION 'role % is privileged (superuser, createrole, createdb, replication or bypassrls): '
                'staff logins must be plain logins', login;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public' AND nspowner = r.oid)
           OR EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tableowner = login) THEN
            RAISE EXCEPTION 'role % owns the ledger schema: the owner is not a staff login', login;
        END IF;
    ELSIF grp IS NOT NULL THEN
        EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', login);
    ELSE
        RETURN;
    END IF;
    FOREACH g IN ARRAY ARRAY['ledger_operator', 'ledger_checker', 'ledger_auditor', 'ledger_admin'] LOOP
        IF g IS DISTINCT FROM grp AND pg_has_role(login, g, 'MEMBER') THEN
            EXECUTE format('REVOKE %I FROM %I', g, login);
        END IF;
    END LOOP;
    IF grp IS NOT NULL THEN
        EXECUTE format('GRANT %I TO %I', grp, login);
    END IF;
END $fn$
"""


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def ensure_roles(conn: Connection) -> str:
    """Creates the group roles, grants and the provisioning function (idempotent). Returns "" or a note of what the
    role running init could not do (a deployment whose owner may not create roles sets them up once by hand)."""
    if conn.dialect.name != "postgresql":
        return ""
    statements = [
        "DO $$ DECLARE g text; BEGIN FOREACH g IN ARRAY ARRAY["
        + ", ".join(f"'{g}'" for g in ALL_GROUPS)
        + "] LOOP IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = g) THEN "
        "EXECUTE format('CREATE ROLE %I NOLOGIN', g); END IF; END LOOP; END $$",
        f"GRANT {WRITER} TO ledger_operator, ledger_checker, ledger_admin",
        f"GRANT USAGE ON SCHEMA public TO {WRITER}, ledger_auditor",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {WRITER}, ledger_auditor",
        f"GRANT INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {WRITER}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON app_user FROM {WRITER}",
        "GRANT INSERT, UPDATE ON app_user TO ledger_admin",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {WRITER}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {WRITER}, ledger_auditor",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT INSERT, UPDATE ON TABLES TO {WRITER}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {WRITER}",
        _PROVISION,
        "REVOKE ALL ON FUNCTION ledger_provision_login(text, text) FROM PUBLIC",
        "GRANT EXECUTE ON FUNCTION ledger_provision_login(text, text) TO ledger_admin",
    ]
    return apply_role_statements(
        conn, statements, lambda message: f"数据库角色未全部创建 (ledger group roles not set up: {message})"
    )


def apply_role_statements(conn: Connection, statements: list[str], describe: Callable[[str], str]) -> str:
    """Runs role and grant statements in a savepoint, retried when another database on the same server created a
    role at the same moment (roles are server-wide). Returns "" or a note (`describe` of the server's message) of
    what the role running init could not do; the caller's transaction carries on either way."""
    for _attempt in range(3):
        savepoint = conn.begin_nested()
        try:
            for statement in statements:
                conn.execute(text(statement))
            savepoint.commit()
            return ""
        except DBAPIError as exc:
            savepoint.rollback()
            message = _first_line(exc)
            if "already exists" in message or "duplicate key" in message or "concurrently" in message:
                continue
            note = describe(message)
            log.warning(note)
            return note
    return describe("gave up after 3 attempts")


def provision_login(conn: Connection, login: str, role: str | None) -> None:
    """Gives `login` the group of ledger role `role` (creating the login if needed), or, with None, takes every
    ledger group away. Runs in the caller's transaction: the user record and the grant commit together."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text("SELECT ledger_provision_login(:login, :grp)"),
        {"login": login, "grp": GROUPS[role] if role else None},
    )


def login_role(conn: Connection, login: str) -> str | None:
    """The ledger role the database grants `login` (None: none), to show beside the ledger's own record."""
    if conn.dialect.name != "postgresql":
        return None
    for role, group in GROUPS.items():
        member = conn.execute(
            text("SELECT pg_has_role(:login, :grp, 'MEMBER') FROM pg_roles WHERE rolname = :grp"),
            {"login": login, "grp": group},
        ).scalar()
        if member:
            return role
    return None
