"""Baseline: every table of the contact service as of the first migration.

On an empty database it creates them all. On a database an earlier release made without
migrations (its tables created as the code defined them then, and later columns added by
hand-written upgrades), it adopts what is there and keeps every row: it creates the tables
that are missing, adds the columns that are missing (each nullable or with a server default,
so existing rows get NULL or the default) and the indexes that are missing.

A database made before the contact log kept `case_assignments` gets that table empty: who
held each case when is a fact of the case log, so it is filled by rebuilding the projection
(`casetrail projections rebuild contact-log --swap`), never guessed here. The upgrade says so.

The tables are written out here as they are at this revision (not imported from the code),
so that this revision does the same thing whatever the code defines later.

Revision ID: contact_0001
Revises:
Create Date: 2026-12-08
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from casetrail import migrations

revision: str = "contact_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("casetrail.migrations.contact")


def tables() -> sa.MetaData:
    """The contact service's tables at this revision."""
    m = sa.MetaData()
    # Tracking records of the projection (casetrail.projections.store).
    sa.Table(
        "projection_positions", m,
        sa.Column("projection", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("log_position", sa.BigInteger, nullable=False, server_default="-1"),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    sa.Table(
        "projection_dead_letters", m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("projection", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
    )
    # The contact-log projection.
    sa.Table(
        "contact_cases", m,
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("creditor_id", sa.Text, nullable=False, index=True),
        sa.Column("agency_id", sa.Text, nullable=False, index=True),
        sa.Column("debtor_id", sa.Text, nullable=False, index=True),
        sa.Column("debtor_timezone", sa.Text, nullable=False),
        sa.Column("contact_points", sa.Integer, nullable=False),
        sa.Column("placed_at", sa.Text, nullable=False),
        sa.Column("assigned_at", sa.Text, nullable=False),
        sa.Column("cease_contact_at", sa.Text),
        sa.Column("dispute_open", sa.Boolean, nullable=False),
        sa.Column("disputed_at", sa.Text),
        sa.Column("recalled", sa.Boolean, nullable=False),
        sa.Column("recalled_at", sa.Text),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("closed_at", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "contacts", m,
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False, index=True),
        sa.Column("case_id", sa.Text, nullable=False, index=True),
        sa.Column("creditor_id", sa.Text, nullable=False),
        sa.Column("agency_id", sa.Text, nullable=False, index=True),
        sa.Column("debtor_id", sa.Text, nullable=False, index=True),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("direction", sa.Text, nullable=False),
        sa.Column("party", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("action_code", sa.Text, nullable=False),
        sa.Column("agent_id", sa.Text),
        sa.Column("recording_ref", sa.Text),
        sa.Column("contact_point", sa.Text),
        sa.Column("contact_point_hint", sa.Text),
        sa.Column("occurred_at", sa.Text, nullable=False, index=True),
        sa.Column("flags", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text),  # NULL: applied by a release that did not keep it
    )
    sa.Table(
        "violations", m,
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("rule_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False, index=True),
        sa.Column("case_id", sa.Text, nullable=False, index=True),
        sa.Column("creditor_id", sa.Text, nullable=False),
        sa.Column("agency_id", sa.Text, nullable=False, index=True),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("agent_id", sa.Text),
        sa.Column("occurred_at", sa.Text, nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("pack_id", sa.Text, nullable=False),
        sa.Column("pack_version", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    sa.Table(
        "escalations", m,
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("case_id", sa.Text, nullable=False, index=True),
        sa.Column("agency_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("escalated_at", sa.Text, nullable=False),
    )
    sa.Table(
        "promises", m,
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("promise_id", sa.Text, primary_key=True),
        sa.Column("agency_id", sa.Text, nullable=False, index=True),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("due_date", sa.Text, nullable=False),
        sa.Column("promised_at", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("settled_at", sa.Text),
    )
    sa.Table(
        "payments", m,
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("reference", sa.Text, primary_key=True),
        sa.Column("agency_id", sa.Text, nullable=False, index=True),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("reversed", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("received_at", sa.Text, nullable=False, index=True),
        sa.Column("flags", sa.Text),  # NULL: applied by a release that did not keep them
    )
    sa.Table(
        "case_assignments", m,
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.Text, nullable=False, index=True),
        sa.Column("assigned_at", sa.Text, nullable=False),
        sa.Column("term_end", sa.Text, nullable=False),
        sa.Column("ended_at", sa.Text),
        sa.Column("end_reason", sa.Text),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("ended_position", sa.BigInteger),
    )
    # Records people make.
    sa.Table(
        "policy_assignments", m,
        sa.Column("creditor_id", sa.Text, primary_key=True),
        sa.Column("effective_from", sa.Text, primary_key=True),
        sa.Column("pack_id", sa.Text, nullable=False),
        sa.Column("assigned_at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
    )
    sa.Table(
        "agency_settings", m,
        sa.Column("agency_id", sa.Text, primary_key=True),
        sa.Column("effective_from", sa.Text, primary_key=True),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("set_at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
    )
    sa.Table(
        "qa_samples", m,
        sa.Column("sample_id", sa.Text, primary_key=True),
        sa.Column("agency_id", sa.Text, nullable=False),
        sa.Column("creditor_id", sa.Text),
        sa.Column("month", sa.Text, nullable=False),
        sa.Column("seed", sa.Text, nullable=False),
        sa.Column("rates", sa.Text, nullable=False),
        sa.Column("population_digests", sa.Text, nullable=False),
        sa.Column("population_sizes", sa.Text, nullable=False),
        sa.Column("algorithm", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("timezone", sa.Text),  # NULL: drawn when every month was read in UTC
        sa.Index("ix_qa_samples_agency_month", "agency_id", "month"),
    )
    sa.Table(
        "qa_sample_items", m,
        sa.Column("sample_id", sa.Text, primary_key=True),
        sa.Column("population", sa.Text, primary_key=True),
        sa.Column("item_id", sa.Text, primary_key=True),
        sa.Column("case_id", sa.Text, nullable=False),
    )
    sa.Table(
        "qa_reviews", m,
        sa.Column("review_id", sa.Text, primary_key=True),
        sa.Column("sample_id", sa.Text, nullable=False, index=True),
        sa.Column("population", sa.Text, nullable=False),
        sa.Column("item_id", sa.Text, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("serious", sa.Boolean, nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("reviewed_at", sa.Text, nullable=False),
        sa.CheckConstraint("score >= 0 AND score <= 100", name="ck_qa_reviews_score"),
    )
    return m


def upgrade() -> None:
    """Create what is missing; add missing columns and indexes to tables already there."""
    bind = op.get_bind()
    done = migrations.adopt(bind, tables())
    if "create case_assignments" in done and "create contact_cases" not in done:
        cases = bind.execute(sa.text("SELECT count(*) FROM contact_cases")).scalar_one()
        if cases:
            log.warning("case_assignments was created empty beside %d cases of an earlier "
                        "release: rebuild the projection to fill it from the case log "
                        "(casetrail projections rebuild contact-log --swap); until then "
                        "contact KPIs count none of those cases as assigned", cases)


def downgrade() -> None:
    """Not undone: the baseline adopts databases with records people made (policy
    assignments, agency settings, QA reviews), which dropping its tables would lose."""
    raise NotImplementedError("the contact service's baseline revision cannot be undone")
