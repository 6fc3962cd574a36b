"""PostgreSQL: the SQL console's read-only role, `ledger_console`.

The console (ledger.services.sqlconsole) runs every statement after `SET LOCAL ROLE ledger_console`, whatever
login the URL names — an auditor, an operator, the schema owner or a superuser. The role:

- is NOLOGIN, not a superuser, member of no role (so of no `pg_*` role: no pg_read_server_files,
  pg_execute_server_program, pg_signal_backend);
- holds USAGE on schema public and SELECT on its tables and views (and on those later migrations create, through
  default privileges), nothing else;
- may not call `set_config`: without that, a query could switch the current role back to the login's own
  (`set_config('role', …)`) or lift its own time limit half-way through. `set_config`'s EXECUTE is taken from
  PUBLIC and given back to the ledger's groups and to the role running init, which the ledger needs for its own
  local settings. Likewise the advisory-lock and large-object functions are taken from PUBLIC (the ledger uses
  neither), so a console query cannot hold a lock nor create a large object.

Changing the privileges of `pg_catalog` functions needs a superuser: when init runs as a plain owner the role is
still made but the console refuses to run until a superuser has run `ledger init` once on the database.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from ledger.services.staff_roles import ALL_GROUPS, apply_role_statements

CONSOLE_ROLE = "ledger_console"

# Functions taken from PUBLIC; proname patterns in pg_catalog.
_LOCKED_FUNCTIONS = (
    "proname = 'set_config'",
    "proname LIKE 'pg\\_advisory\\_%' OR proname LIKE 'pg\\_try\\_advisory\\_%'",
    "proname IN ('lo_create', 'lo_creat', 'lo_from_bytea', 'lo_put', 'lo_open', 'lo_unlink', 'lowrite', "
    "'lo_truncate', 'lo_truncate64', 'lo_import', 'lo_export')",
)


def ensure_console_role(conn: Connection) -> str:
    """Creates `ledger_console` and its grants (idempotent). Returns "" or a note of what could not be done."""
    if conn.dialect.name != "postgresql":
        return ""
    groups = ", ".join(ALL_GROUPS)
    locked = " OR ".join(f"({c})" for c in _LOCKED_FUNCTIONS)
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{CONSOLE_ROLE}') THEN "
        f"CREATE ROLE {CONSOLE_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS; "
        "END IF; END $$",
        f"GRANT USAGE ON SCHEMA public TO {CONSOLE_ROLE}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {CONSOLE_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {CONSOLE_ROLE}",
        f"GRANT {CONSOLE_ROLE} TO {groups}",
        f"DO $$ BEGIN IF NOT pg_has_role(current_user, '{CONSOLE_ROLE}', 'MEMBER') THEN "
        f"EXECUTE format('GRANT {CONSOLE_ROLE} TO %I', current_user); END IF; END $$",
        "DO $$ DECLARE f regprocedure; BEGIN FOR f IN SELECT p.oid::regprocedure FROM pg_proc p "
        f"WHERE p.pronamespace = 'pg_catalog'::regnamespace AND ({locked}) LOOP "
        "EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f); END LOOP; END $$",
        f"GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) TO {groups}",
        "DO $$ BEGIN EXECUTE format('GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) TO %I', "
        "current_user); END $$",
    ]
    note = apply_role_statements(
        conn,
        statements,
        lambda message: f"只读控制台角色未建立 (console role {CONSOLE_ROLE} not set up: {message})",
    )
    if note:
        return note
    locked_down = conn.execute(
        text("SELECT NOT has_function_privilege(:r, 'pg_catalog.set_config(text,text,boolean)', 'EXECUTE')"),
        {"r": CONSOLE_ROLE},
    ).scalar()
    if not locked_down:
        return (
            f"只读控制台需超级用户运行一次 ledger init (a superuser must run `ledger init` once so that "
            f"{CONSOLE_ROLE} cannot call set_config; until then the SQL console refuses to run)"
        )
    return ""
