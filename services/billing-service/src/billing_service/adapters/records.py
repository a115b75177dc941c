"""Records the billing service owns (not rebuilt from the log): contracts, parties and
invoices.

All are append-only: a contract or party change is a new version, an invoice is stored once
and never edited. `invoice_lines` indexes every ledger entry an invoice billed, with a unique
key per (creditor, agency, entry), so the database itself refuses to bill an entry twice.
"""

from __future__ import annotations

import sqlalchemy as sa

records_metadata = sa.MetaData()

contracts = sa.Table(
    "contracts", records_metadata,
    sa.Column("creditor_id", sa.Text, primary_key=True),
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("effective_from", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("terms", sa.Text, nullable=False),  # canonical JSON of ContractTerms
    sa.Column("recorded_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)

invoices = sa.Table(
    "invoices", records_metadata,
    sa.Column("invoice_id", sa.Text, primary_key=True),  # the invoice number
    sa.Column("creditor_id", sa.Text, nullable=False, index=True),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("period_start", sa.Text, nullable=False),
    sa.Column("period_end", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("subtotal", sa.Text, nullable=False),
    sa.Column("tax", sa.Text, nullable=False),
    sa.Column("total", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),  # canonical JSON, hashed
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("as_of_position", sa.BigInteger, nullable=False),
    sa.Column("as_of_contract_version", sa.Integer, nullable=False),
    sa.Column("issued_at", sa.Text, nullable=False),
    sa.Column("issued_by", sa.Text, nullable=False),
    sa.UniqueConstraint("creditor_id", "agency_id", "seq", name="uq_invoice_seq"),
    sa.UniqueConstraint("creditor_id", "agency_id", "period_start", "period_end",
                        name="uq_invoice_period"),
)

invoice_lines = sa.Table(
    "invoice_lines", records_metadata,
    sa.Column("invoice_id", sa.Text, sa.ForeignKey("invoices.invoice_id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("creditor_id", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("entry", sa.Text, nullable=False),  # the ledger entry (source reference)
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("case_id", sa.Text),
    sa.Column("reference", sa.Text),
    sa.Column("position", sa.BigInteger),
    sa.Column("commission", sa.Text, nullable=False),
    sa.Column("line", sa.Text, nullable=False),  # the line as billed (JSON)
    sa.UniqueConstraint("creditor_id", "agency_id", "entry", name="uq_invoice_line_entry"),
)

parties = sa.Table(
    "parties", records_metadata,
    sa.Column("party_kind", sa.Text, primary_key=True),  # creditor | agency
    sa.Column("party_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON of PartyDetails
    sa.Column("recorded_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)
