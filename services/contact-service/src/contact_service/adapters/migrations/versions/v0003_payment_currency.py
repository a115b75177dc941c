"""The currency of each payment (issue 21 item 8, amounts collected per currency):
`payments.currency`.

The column is filled by the contact-log projection from `PaymentReceived.currency`. Rows
applied before this revision keep every value and get NULL: the contact log never kept a
case's placement currency (`contact_cases` has none), so there is nothing here to fill them
from, and a currency is never guessed. A rebuild of the projection
(`casetrail projections rebuild contact-log --swap`) fills them from the events; until then
the reports count their amounts under `unknown`. The upgrade says how many rows that is.

Revision ID: contact_0003
Revises: contact_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "contact_0003"
down_revision: str | Sequence[str] | None = "contact_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("casetrail.migrations.contact")


def upgrade() -> None:
    """Add `payments.currency` (nullable) where it is missing; existing rows get NULL."""
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("payments")}
    if "currency" not in columns:
        op.add_column("payments", sa.Column("currency", sa.Text, nullable=True))
    missing = bind.execute(sa.text(
        "SELECT count(*) FROM payments WHERE currency IS NULL")).scalar_one()
    if missing:
        log.warning("payments.currency is NULL in %d payment rows applied before it was kept; "
                    "rebuild the contact log (casetrail projections rebuild contact-log "
                    "--swap) to fill them from the events", missing)


def downgrade() -> None:
    """Drop the column (the events give it again)."""
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("currency")
