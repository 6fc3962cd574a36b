"""append-only triggers and the auditors' views

Ledger tables refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) in the database itself, so a correction can
only be a reversal even for someone with a SQL prompt. The views are the documented surface for auditors
(docs/schema.md); their SQL differs per backend only where the dialects do (string aggregation, today's date,
exact division).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

APPEND_ONLY = ("drawdown", "drawdown_event", "enterprise_status", "month_close", "audit_log", "report_record")
VIEWS = ("v_share_by_year", "v_drawdown_event", "v_drawdown")


def _dialect_sql(dialect: str) -> dict[str, str]:
    if dialect == "postgresql":
        return {
            "today": "CURRENT_DATE",
            "yuan": "(CAST({col} AS NUMERIC) / 100)",
            "pct": "(CAST({col} AS NUMERIC) / 10000)",
            "statuses": "(SELECT string_agg(s.status, ';' ORDER BY s.status) FROM enterprise_status s "
            "WHERE s.enterprise_id = d.enterprise_id AND s.valid_from <= d.drawn_on "
            "AND (s.valid_to IS NULL OR s.valid_to >= d.drawn_on))",
            "year": "CAST(EXTRACT(YEAR FROM d.drawn_on) AS INTEGER)",
            "month": "to_char(d.drawn_on, 'YYYY-MM')",
            "true": "TRUE",
        }
    return {
        "today": "date('now')",
        "yuan": "ROUND({col} / 100.0, 2)",
        "pct": "ROUND({col} / 10000.0, 4)",
        "statuses": "(SELECT group_concat(status, ';') FROM (SELECT s.status FROM enterprise_status s "
        "WHERE s.enterprise_id = d.enterprise_id AND s.valid_from <= d.drawn_on "
        "AND (s.valid_to IS NULL OR s.valid_to >= d.drawn_on) ORDER BY s.status))",
        "year": "CAST(strftime('%Y', d.drawn_on) AS INTEGER)",
        "month": "strftime('%Y-%m', d.drawn_on)",
        "true": "1",
    }


def _views(dialect: str) -> list[str]:
    q = _dialect_sql(dialect)
    y = lambda col: q["yuan"].format(col=col)  # noqa: E731
    p = lambda col: q["pct"].format(col=col)  # noqa: E731
    today = q["today"]
    events = (
        "SELECT drawdown_id, "
        "MAX(CASE WHEN kind = 'reversal' THEN 1 ELSE 0 END) AS reversed, "
        "SUM(CASE WHEN kind = 'repayment' THEN amount_fen ELSE 0 END) AS repaid_fen, "
        "SUM(CASE WHEN kind = 'rollover' THEN 1 ELSE 0 END) AS rollovers, "
        "MAX(CASE WHEN kind = 'rollover' THEN new_maturity_on END) AS rolled_to "
        "FROM drawdown_event GROUP BY drawdown_id"
    )
    current_maturity = "COALESCE(ev.rolled_to, d.maturity_on)"
    status = (
        f"CASE WHEN COALESCE(ev.reversed, 0) = 1 THEN 'reversed' "
        f"WHEN COALESCE(ev.repaid_fen, 0) >= d.amount_fen THEN 'repaid' "
        f"WHEN {current_maturity} <= {today} THEN 'matured' "
        f"WHEN d.drawn_on > {today} THEN 'future' ELSE 'outstanding' END"
    )
    outstanding_fen = (
        f"CASE WHEN COALESCE(ev.reversed, 0) = 0 AND d.drawn_on <= {today} AND {current_maturity} > {today} "
        f"THEN d.amount_fen - COALESCE(ev.repaid_fen, 0) ELSE 0 END"
    )
    v_drawdown = f"""
CREATE VIEW v_drawdown AS
SELECT d.id AS drawdown_id, d.tool_code, t.name AS tool_name, t.kind AS tool_kind,
       i.code AS institution_code, i.name AS institution_name, i.type AS institution_type,
       e.name AS enterprise_name, e.uscc, e.industry_code, substr(e.industry_code, 1, 1) AS industry_section,
       e.size AS enterprise_size, {q["statuses"]} AS statuses,
       d.key_area, d.key_area_reason, d.override_reason,
       d.drawn_on, d.maturity_on AS original_maturity_on, {current_maturity} AS maturity_on,
       COALESCE(ev.rollovers, 0) AS rollovers,
       d.amount_fen, {y("d.amount_fen")} AS amount_yuan,
       d.principal_fen, {y("d.principal_fen")} AS principal_yuan,
       d.interest_fen, {y("d.interest_fen")} AS interest_yuan,
       {p("d.cb_rate_ppm")} AS cb_rate_pct, {p("d.table_rate_ppm")} AS table_rate_pct,
       CASE WHEN d.table_rate_ppm IS NOT NULL AND d.table_rate_ppm <> d.cb_rate_ppm THEN 1 ELSE 0 END
           AS rate_differs,
       {p("d.lend_rate_ppm")} AS lend_rate_pct,
       d.bill_no, d.bill_range, d.batch_ref, d.ext_ref,
       COALESCE(ev.repaid_fen, 0) AS repaid_fen, {y("COALESCE(ev.repaid_fen, 0)")} AS repaid_yuan,
       {status} AS status,
       {outstanding_fen} AS outstanding_today_fen,
       {y(outstanding_fen)} AS outstanding_today_yuan,
       a.recorded_at AS booked_at, a.actor AS booked_by, d.audit_id
FROM drawdown d
JOIN tool t ON t.code = d.tool_code
JOIN institution i ON i.id = d.institution_id
JOIN enterprise e ON e.id = d.enterprise_id
JOIN audit_log a ON a.id = d.audit_id
LEFT JOIN ({events}) ev ON ev.drawdown_id = d.id
"""
    v_event = f"""
CREATE VIEW v_drawdown_event AS
SELECT x.id AS event_id, x.drawdown_id, x.kind, x.event_on, x.amount_fen, {y("x.amount_fen")} AS amount_yuan,
       x.new_maturity_on, x.reason, d.tool_code, i.code AS institution_code, e.uscc, e.name AS enterprise_name,
       a.recorded_at AS booked_at, a.actor AS booked_by, x.audit_id
FROM drawdown_event x
JOIN drawdown d ON d.id = x.drawdown_id
JOIN institution i ON i.id = d.institution_id
JOIN enterprise e ON e.id = d.enterprise_id
JOIN audit_log a ON a.id = x.audit_id
"""
    v_share = f"""
CREATE VIEW v_share_by_year AS
SELECT {q["year"]} AS year, d.tool_code,
       SUM(d.amount_fen) AS total_fen,
       SUM(CASE WHEN d.key_area = {q["true"]} THEN d.amount_fen ELSE 0 END) AS key_area_fen,
       COUNT(*) AS drawdowns
FROM drawdown d
WHERE NOT EXISTS (SELECT 1 FROM drawdown_event r WHERE r.drawdown_id = d.id AND r.kind = 'reversal')
GROUP BY {q["year"]}, d.tool_code
"""
    return [v_drawdown, v_event, v_share]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % refused (book a reversal instead)', TG_TABLE_NAME, TG_OP;
END $$
"""
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER trg_{table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, 'ledger table {table} is append-only: {verb} refused "
                    f"(book a reversal instead)'); END"
                )
    for statement in _views(dialect):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for view in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
