"""policy records in the ledger; the audit actor is the login; state records findable by entity

- `policy`: effective-dated, append-only policy values (authority limits, quotas, the share rule), changed only
  through the audited, four-eyes `ledger policy set`. Existing ledgers get their policy on the next `ledger init`
  (the packaged defaults overlaid by their ledger.toml's policy sections, once, recorded in the chain).
- `ledger_lock`: the one row a PostgreSQL write locks to serialise appends to the chain (a row lock needs UPDATE,
  which read-only logins lack; an advisory lock could be held by anyone).
- `ix_audit_log_entity`: verify reads the latest state record of every user, tool, pending item, bank and firm.
- PostgreSQL: every audit record's actor must be the session's login (`session_user`), so no connection can write
  a record in another person's name; on SQLite the actor is the OS account (ledger.services.identity).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit_log.id"],
            name=op.f("fk_policy_audit_id_audit_log"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy")),
    )
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.create_index("ix_policy_key", ["key", "effective_from"], unique=False)
    op.create_table(
        "ledger_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lock")),
    )
    op.execute("INSERT INTO ledger_lock (id) VALUES (1)")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity", ["entity", "id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER trg_policy_append_only BEFORE UPDATE OR DELETE ON policy "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER trg_policy_no_truncate BEFORE TRUNCATE ON policy "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )
        op.execute(
            """
CREATE OR REPLACE FUNCTION ledger_audit_actor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.actor IS DISTINCT FROM session_user::text THEN
        RAISE EXCEPTION 'audit_log: actor % is not the session login % (identity is the login)',
            NEW.actor, session_user;
    END IF;
    RETURN NEW;
END $$
"""
        )
        op.execute(
            "CREATE TRIGGER trg_audit_log_actor BEFORE INSERT ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION ledger_audit_actor()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trg_policy_no_{verb.lower()} BEFORE {verb} ON policy BEGIN "
                f"SELECT RAISE(ABORT, 'ledger table policy is append-only: {verb} refused "
                f"(record a new policy value instead)'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_audit_log_actor ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS ledger_audit_actor()")
        op.execute("DROP TRIGGER IF EXISTS trg_policy_append_only ON policy")
        op.execute("DROP TRIGGER IF EXISTS trg_policy_no_truncate ON policy")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_policy_no_update")
        op.execute("DROP TRIGGER IF EXISTS trg_policy_no_delete")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_key")
    op.drop_table("ledger_lock")
    op.drop_table("policy")
