"""Parties: the legal details of creditors and agencies (name, address, tax id, bank account,
contact email, an agency's payment terms), one row per version. Invoices freeze the versions
they were issued with in their own content, so the `invoices` table is unchanged.

A database whose tables an earlier build made with `create_all` may have the table already:
it is kept as it is.

Revision ID: billing_0002
Revises: billing_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "billing_0002"
down_revision: str | Sequence[str] | None = "billing_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `parties` unless it is there."""
    if "parties" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "parties",
        sa.Column("party_kind", sa.Text, primary_key=True),
        sa.Column("party_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Party records are records of their own: no downgrade drops them."""
    raise NotImplementedError("billing_0002 (parties) cannot be downgraded")
