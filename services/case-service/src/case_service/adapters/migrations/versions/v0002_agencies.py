"""The agency registry: an agency's profile (collection agency or law firm, display name), the
collectors it registers (status, training, qualified until), and the qualification a
creditor grants an agency after due diligence (checklist, score, status, approved and
expiry days). One row per version: every change is a new row with when and by whom.

A table that is there already is kept as it is.

Revision ID: case_0002
Revises: case_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "case_0002"
down_revision: str | Sequence[str] | None = "case_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _versioned(name: str, *keys: str) -> None:
    """A table of versions keyed by `keys` and the version number, unless it is there."""
    if name in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        name,
        *(sa.Column(key, sa.Text, primary_key=True) for key in keys),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
    )


def upgrade() -> None:
    """Create the registry's three tables."""
    _versioned("agency_profiles", "agency_id")
    _versioned("agency_collectors", "agency_id", "collector_id")
    _versioned("agency_qualifications", "creditor_id", "agency_id")


def downgrade() -> None:
    """Registry versions are records of their own: no downgrade drops them."""
    raise NotImplementedError("case_0002 (agency registry) cannot be downgraded")
