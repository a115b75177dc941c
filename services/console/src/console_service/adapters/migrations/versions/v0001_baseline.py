"""Baseline: the console's sessions table.

Adopts a database the console wrote before migrations (it made `console_sessions` with
`create_all` at start-up): the table and its rows are kept as they are; a fresh database gets
the table. Written out here, not imported, so later changes come as revisions of their own.

Revision ID: console_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from casetrail.migrations import adopt

revision: str = "console_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

tables = sa.MetaData()

sa.Table(
    "console_sessions", tables,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("sealed_key", sa.Text, nullable=False),
    sa.Column("key_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("tenant", sa.String(200)),
    sa.Column("csrf_token", sa.String(100), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


def upgrade() -> None:
    """Create the table if it is missing; keep it (and its sessions) if it is there."""
    adopt(op.get_bind(), tables)


def downgrade() -> None:
    """Before the baseline there was no history: drop the sessions (everyone signs in again)."""
    op.drop_table("console_sessions")
