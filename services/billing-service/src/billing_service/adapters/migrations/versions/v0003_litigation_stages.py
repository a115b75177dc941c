"""Litigation stages: the read-model table of the stages a law firm recorded on a case
(`LitigationStageRecorded`), from which a law firm's contract bills its stage fees.

Every existing row of every table is kept. The new table starts empty: its rows come from
the case log, so a database upgraded here fills it with a rebuild of the billing ledger
(`casetrail projections rebuild billing-ledger --verify`, then `--swap`); stage events the
consumer applies from now on land in it directly. A database whose tables an earlier build
made with `create_all` may have the table already: it is kept as it is.

Revision ID: billing_0003
Revises: billing_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "billing_0003"
down_revision: str | Sequence[str] | None = "billing_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

tables = sa.MetaData()

# Written out here, not imported, so later changes to the code's table are revisions of their own.
litigation_stages = sa.Table(
    "litigation_stages", tables,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("stage_ref", sa.Text, primary_key=True),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.Text, nullable=False),
    sa.Column("court", sa.Text),
    sa.Column("docket_no", sa.Text),
    sa.Column("law_firm_id", sa.Text, nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
)


def upgrade() -> None:
    """Create `litigation_stages` (with its indexes) unless it is there."""
    bind = op.get_bind()
    if "litigation_stages" in sa.inspect(bind).get_table_names():
        return
    litigation_stages.create(bind)


def downgrade() -> None:
    """Drop the table: it is a read model, rebuilt from the case log."""
    op.drop_table("litigation_stages")
