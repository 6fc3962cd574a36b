"""share_month: the share rule's figures per month, tool, key-area flag and bank

A derived table, kept in step by every audited write of a drawdown or reversal (ledger/services/share_tally.py)
and checked against the ledger tables by `ledger audit verify`. The share of a year then reads at most
12 × tools × 2 × banks rows instead of every drawdown of the year. Filled here from the ledger as it stands.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The month of a date, per dialect (SQLite stores dates as ISO text).
_PARTS = {
    "sqlite": ("CAST(substr(d.drawn_on, 1, 4) AS INTEGER)", "CAST(substr(d.drawn_on, 6, 2) AS INTEGER)"),
    "postgresql": ("CAST(EXTRACT(year FROM d.drawn_on) AS INTEGER)", "CAST(EXTRACT(month FROM d.drawn_on) AS INTEGER)"),
}


def upgrade() -> None:
    op.create_table(
        "share_month",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("tool_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key_area", sa.Boolean(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("drawdowns", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reversed", sa.Integer(), nullable=False),
        sa.Column("reversed_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "year", "month", "tool_code", "key_area", "institution_id", name=op.f("pk_share_month")
        ),
    )
    year, month = _PARTS[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO share_month (year, month, tool_code, key_area, institution_id, drawdowns, amount_fen, "
        "reversed, reversed_fen) "
        f"SELECT {year}, {month}, d.tool_code, d.key_area, d.institution_id, "
        "SUM(CASE WHEN r.drawdown_id IS NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN r.drawdown_id IS NULL THEN d.amount_fen ELSE 0 END), "
        "SUM(CASE WHEN r.drawdown_id IS NULL THEN 0 ELSE 1 END), "
        "SUM(CASE WHEN r.drawdown_id IS NULL THEN 0 ELSE d.amount_fen END) "
        "FROM drawdown d LEFT JOIN drawdown_event r ON r.drawdown_id = d.id AND r.kind = 'reversal' "
        f"GROUP BY {year}, {month}, d.tool_code, d.key_area, d.institution_id"
    )


def downgrade() -> None:
    op.drop_table("share_month")
