"""Complaints and field visits (issue 21): the contact-log projection's `complaints` and
`visits` tables.

Both are filled from the case log only (ComplaintReceived ... ComplaintResolved,
ComplaintDeadlineMissed, VisitRequested ... VisitReported), so a database upgraded from the
baseline gets them empty, and the projection fills them as those events arrive. Histories
recorded before this revision hold no such events; nothing needs rebuilding for them.

The tables are written out here as they are at this revision (not imported from the code),
so that this revision does the same thing whatever the code defines later.

Revision ID: contact_0002
Revises: contact_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from casetrail import migrations

revision: str = "contact_0002"
down_revision: str | Sequence[str] | None = "contact_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def tables() -> sa.MetaData:
    """The tables this revision adds."""
    m = sa.MetaData()
    sa.Table(
        "complaints", m,
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("complaint_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False, index=True),
        sa.Column("creditor_id", sa.Text, nullable=False, index=True),
        sa.Column("agency_id", sa.Text, index=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("received_at", sa.Text, nullable=False, index=True),
        sa.Column("received_recorded_at", sa.Text, nullable=False),
        sa.Column("contact_hold", sa.Boolean, nullable=False),
        sa.Column("acknowledge_by", sa.Text, nullable=False),
        sa.Column("investigate_by", sa.Text, nullable=False),
        sa.Column("resolve_by", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("acknowledged_at", sa.Text),
        sa.Column("acknowledged_late", sa.Boolean),
        sa.Column("investigated_at", sa.Text),
        sa.Column("investigated_late", sa.Boolean),
        sa.Column("finding", sa.Text),
        sa.Column("resolved_at", sa.Text),
        sa.Column("resolved_late", sa.Boolean),
        sa.Column("outcome", sa.Text),
        sa.Column("resolution_note", sa.Text),
        sa.Column("missed_steps", sa.Text, nullable=False),
        sa.Column("first_missed_at", sa.Text),
        sa.Column("recalled_at", sa.Text),
    )
    sa.Table(
        "visits", m,
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("visit_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False, index=True),
        sa.Column("creditor_id", sa.Text, nullable=False, index=True),
        sa.Column("agency_id", sa.Text, nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("requested_at", sa.Text, nullable=False, index=True),
        sa.Column("visit_by", sa.Text, nullable=False),
        sa.Column("approved_at", sa.Text),
        sa.Column("after_the_fact", sa.Boolean),
        sa.Column("rejected_at", sa.Text),
        sa.Column("rejection_reason", sa.Text),
        sa.Column("performed_at", sa.Text, index=True),
        sa.Column("performed_recorded_at", sa.Text),
        sa.Column("outcome", sa.Text),
        sa.Column("visitor_id", sa.Text),
        sa.Column("evidence", sa.Text),
        sa.Column("late", sa.Boolean),
        sa.Column("reported_at", sa.Text),
        sa.Column("reported_recorded_at", sa.Text),
        sa.Column("summary", sa.Text),
    )
    return m


def upgrade() -> None:
    """Create the two tables (and their indexes) where they are missing."""
    migrations.adopt(op.get_bind(), tables())


def downgrade() -> None:
    """Drop them: they hold only what the case log can give again (a projection rebuild)."""
    bind = op.get_bind()
    for table in reversed(tables().sorted_tables):
        table.drop(bind, checkfirst=True)
