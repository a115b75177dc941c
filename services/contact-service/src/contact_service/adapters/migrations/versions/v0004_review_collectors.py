"""QA reviews name the collector of the item they scored (issue 21 item 6, QA scores per
collector): `qa_reviews.collector_id`.

New reviews get it when they are recorded: the agent (`contacts.agent_id`) of a sampled call
or visit contact, NULL for a repaid case or a contact naming no agent. Reviews recorded before
this revision are given it here, the same way, from the contact log as it is now: a
contact's agent is a fact of its `Contacted` event that never changes, so it is what the
review would have stored. A review whose contact the log does not hold (a log emptied for a
rebuild at the time of the upgrade) keeps NULL; the upgrade says how many.

Revision ID: contact_0004
Revises: contact_0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "contact_0004"
down_revision: str | Sequence[str] | None = "contact_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("casetrail.migrations.contact")

CONTACT_POPULATIONS = ("recorded_calls", "visit_records")  # items named by a contact event id


def upgrade() -> None:
    """Add `qa_reviews.collector_id` (nullable) and fill it for the reviews of contacts."""
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("qa_reviews")}
    if "collector_id" not in columns:
        op.add_column("qa_reviews", sa.Column("collector_id", sa.Text, nullable=True))
    m = sa.MetaData()
    reviews = sa.Table("qa_reviews", m, sa.Column("review_id", sa.Text),
                       sa.Column("population", sa.Text), sa.Column("item_id", sa.Text),
                       sa.Column("collector_id", sa.Text))
    contacts = sa.Table("contacts", m, sa.Column("event_id", sa.Text),
                        sa.Column("agent_id", sa.Text))
    agent = sa.select(contacts.c.agent_id).where(
        contacts.c.event_id == reviews.c.item_id).scalar_subquery()
    of_contacts = [reviews.c.population.in_(CONTACT_POPULATIONS),
                   reviews.c.collector_id.is_(None)]
    bind.execute(reviews.update().where(*of_contacts).values(collector_id=agent))
    unknown = bind.execute(sa.select(sa.func.count()).select_from(reviews).where(
        *of_contacts, ~sa.exists().where(contacts.c.event_id == reviews.c.item_id))
    ).scalar_one()
    if unknown:
        log.warning("%d QA reviews name a contact the contact log does not hold: their "
                    "collector_id stays NULL", unknown)


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("qa_reviews") as batch:
        batch.drop_column("collector_id")
