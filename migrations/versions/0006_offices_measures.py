"""offices and measures: the PBOC office that handled each drawdown, and the measures its borrower met at booking

- `institution.office`: the office (营业管理部 or a 中心支行) that handles a bank's drawdowns by default.
- `drawdown.office`: the office that handled the drawdown ('' for drawdowns booked before this revision).
- `drawdown.measures`: the measures other than key_area (sci_tech, green …) the borrower met at booking,
  comma-joined; NULL for drawdowns booked before this revision (their figures use the classification as known).
- `share_month` gains office and measures in its key (legacy rows: office '', measures '?'), refilled here from the
  ledger as it stands; `ix_drawdown_share` covers both columns, so a figure for an office or a measure is still
  read from the index.

Neither new drawdown column is hashed while empty (office '') or absent (measures NULL), so the digest of every
existing row is unchanged (ledger/services/canonical.py).

Revision ID: 0006_offices_measures
Revises: 0005
Create Date: 2026-12-05
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_offices_measures"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_PARTS = {
    "sqlite": ("CAST(substr(d.drawn_on, 1, 4) AS INTEGER)", "CAST(substr(d.drawn_on, 6, 2) AS INTEGER)"),
    "postgresql": ("CAST(EXTRACT(year FROM d.drawn_on) AS INTEGER)", "CAST(EXTRACT(month FROM d.drawn_on) AS INTEGER)"),
}
_OLD_SHARE_INDEX = ["drawn_on", "tool_code", "key_area", "institution_id", "amount_fen"]
_NEW_SHARE_INDEX = ["drawn_on", "tool_code", "key_area", "institution_id", "office", "measures", "amount_fen"]


def _share_month(with_office: bool) -> None:
    extra = (
        [
            sa.Column("office", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
            sa.Column("measures", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        ]
        if with_office
        else []
    )
    key = ["year", "month", "tool_code", "key_area", "institution_id"] + (["office", "measures"] if with_office else [])
    op.create_table(
        "share_month",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("tool_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key_area", sa.Boolean(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        *extra,
        sa.Column("drawdowns", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reversed", sa.Integer(), nullable=False),
        sa.Column("reversed_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_share_month")),
    )
    year, month = _PARTS[op.get_bind().dialect.name]
    keys = "d.tool_code, d.key_area, d.institution_id" + (
        ", d.office, COALESCE(d.measures, '?')" if with_office else ""
    )
    op.execute(
        "INSERT INTO share_month (year, month, tool_code, key_area, institution_id, "
        + ("office, measures, " if with_office else "")
        + "drawdowns, amount_fen, reversed, reversed_fen) "
        f"SELECT {year}, {month}, {keys}, "
        "SUM(CASE WHEN r.drawdown_id IS NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN r.drawdown_id IS NULL THEN d.amount_fen ELSE 0 END), "
        "SUM(CASE WHEN r.drawdown_id IS NULL THEN 0 ELSE 1 END), "
        "SUM(CASE WHEN r.drawdown_id IS NULL THEN 0 ELSE d.amount_fen END) "
        "FROM drawdown d LEFT JOIN drawdown_event r ON r.drawdown_id = d.id AND r.kind = 'reversal' "
        f"GROUP BY {year}, {month}, {keys}"
    )


def upgrade() -> None:
    op.add_column(
        "institution",
        sa.Column("office", sqlmodel.sql.sqltypes.AutoString(length=60), server_default="", nullable=False),
    )
    op.add_column(
        "drawdown",
        sa.Column("office", sqlmodel.sql.sqltypes.AutoString(length=60), server_default="", nullable=False),
    )
    op.add_column("drawdown", sa.Column("measures", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.drop_index("ix_drawdown_share", table_name="drawdown")
    op.create_index("ix_drawdown_share", "drawdown", _NEW_SHARE_INDEX, unique=False)
    op.drop_table("share_month")
    _share_month(with_office=True)


def downgrade() -> None:
    op.drop_table("share_month")
    _share_month(with_office=False)
    op.drop_index("ix_drawdown_share", table_name="drawdown")
    op.create_index("ix_drawdown_share", "drawdown", _OLD_SHARE_INDEX, unique=False)
    op.drop_column("drawdown", "measures")
    op.drop_column("drawdown", "office")
    op.drop_column("institution", "office")
