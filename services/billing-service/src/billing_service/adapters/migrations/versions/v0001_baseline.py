"""Baseline: the billing service's tables as they stood when migrations began.

Adopts any database the service wrote before: a fresh one gets every table; one written by an
earlier release (which made its tables with `create_all` at start-up) keeps every row and gains
what it lacks (`payments.assignment` and `payments.flags` for a database of main before
2026-12-06). The tables are written out here, not imported, so later changes to the code's
tables come as revisions of their own.

Revision ID: billing_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from casetrail.migrations import adopt

revision: str = "billing_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

tables = sa.MetaData()

# Tracking of the billing-ledger projection (casetrail.projections.store).
sa.Table(
    "projection_positions", tables,
    sa.Column("projection", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("log_position", sa.BigInteger, nullable=False, server_default="-1"),
    sa.Column("updated_at", sa.Text, nullable=False),
)
sa.Table(
    "projection_dead_letters", tables,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("projection", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("message", sa.LargeBinary, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.Text, nullable=False),
)

# The billing-ledger read model (billing_service.adapters.billing_ledger).
sa.Table(
    "billing_cases", tables,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("creditor_id", sa.Text, nullable=False, index=True),
    sa.Column("account_ref", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("bucket", sa.Text, nullable=False),
    sa.Column("dpd", sa.Integer, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("placed_amount", sa.Text, nullable=False),
    sa.Column("placed_at", sa.Text, nullable=False),
    sa.Column("term_end", sa.Text, nullable=False),
    sa.Column("recalled_at", sa.Text),
    sa.Column("closed_at", sa.Text),
    sa.Column("position", sa.BigInteger, nullable=False),
)
sa.Table(
    "case_assignments", tables,
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
sa.Table(
    "payments", tables,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
    sa.Column("assignment", sa.Integer),  # NULL on payments recorded before 2026-12-06
    sa.Column("flags", sa.Text),  # likewise
)
sa.Table(
    "reversals", tables,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reversed_at", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
)
sa.Table(
    "promises", tables,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("promise_id", sa.Text, primary_key=True),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("due_date", sa.Text, nullable=False),
    sa.Column("promised_at", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("settled_at", sa.Text),
    sa.Column("position", sa.BigInteger, nullable=False),
)

# The records the service owns (billing_service.adapters.records).
sa.Table(
    "contracts", tables,
    sa.Column("creditor_id", sa.Text, primary_key=True),
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("effective_from", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("terms", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)
sa.Table(
    "invoices", tables,
    sa.Column("invoice_id", sa.Text, primary_key=True),
    sa.Column("creditor_id", sa.Text, nullable=False, index=True),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("period_start", sa.Text, nullable=False),
    sa.Column("period_end", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("subtotal", sa.Text, nullable=False),
    sa.Column("tax", sa.Text, nullable=False),
    sa.Column("total", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("as_of_position", sa.BigInteger, nullable=False),
    sa.Column("as_of_contract_version", sa.Integer, nullable=False),
    sa.Column("issued_at", sa.Text, nullable=False),
    sa.Column("issued_by", sa.Text, nullable=False),
    sa.UniqueConstraint("creditor_id", "agency_id", "seq", name="uq_invoice_seq"),
    sa.UniqueConstraint("creditor_id", "agency_id", "period_start", "period_end",
                        name="uq_invoice_period"),
)
sa.Table(
    "invoice_lines", tables,
    sa.Column("invoice_id", sa.Text, sa.ForeignKey("invoices.invoice_id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("creditor_id", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("entry", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("case_id", sa.Text),
    sa.Column("reference", sa.Text),
    sa.Column("position", sa.BigInteger),
    sa.Column("commission", sa.Text, nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    sa.UniqueConstraint("creditor_id", "agency_id", "entry", name="uq_invoice_line_entry"),
)


def upgrade() -> None:
    """Create what is missing; keep what is there."""
    adopt(op.get_bind(), tables)


def downgrade() -> None:
    """Nothing comes before the baseline: its tables hold records of their own (contracts,
    invoices), which no downgrade drops."""
    raise NotImplementedError("the billing baseline cannot be downgraded")
