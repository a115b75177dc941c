"""The contact log: every contact attempt per case, agency, agent and number, from case events.

Also keeps one row per case with what contact rules need (agency, debtor timezone, holds), so
the contact service never reads the case service's database.
"""

from __future__ import annotations

import sqlalchemy as sa
from casetrail.envelope import EventEnvelope
from casetrail.projections.base import Projection
from sqlalchemy.engine import Connection

metadata = sa.MetaData()

contact_cases = sa.Table(
    "contact_cases", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("creditor_id", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("debtor_id", sa.Text, nullable=False),
    sa.Column("debtor_timezone", sa.Text, nullable=False),
    sa.Column("placed_at", sa.Text, nullable=False),
    sa.Column("assigned_at", sa.Text, nullable=False),
    sa.Column("cease_contact", sa.Boolean, nullable=False, default=False),
    sa.Column("dispute_open", sa.Boolean, nullable=False, default=False),
    sa.Column("recalled", sa.Boolean, nullable=False, default=False),
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
    sa.Column("version", sa.Integer, nullable=False),
)

contacts = sa.Table(
    "contacts", metadata,
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
    sa.Column("occurred_at", sa.Text, nullable=False, index=True),
    sa.Column("flags", sa.Text, nullable=False),
)

HOLD_FLAGS = {"CeaseContactRequested": ("cease_contact", True), "Disputed": ("dispute_open", True),
              "DisputeResolved": ("dispute_open", False), "Recalled": ("recalled", True),
              "Closed": ("closed", True)}


class ContactLog(Projection):
    """Contacts and per-case contact facts."""

    name = "contact-log"
    metadata = metadata
    database_env = "CONTACT_DATABASE_URL"
    default_database_url = "sqlite:///var/contact.db"
    event_types = frozenset({"Placed", "Contacted", "Reassigned", *HOLD_FLAGS})

    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        """Apply one case event."""
        p, case_id = event.payload, str(event.case_id)
        if event.type == "Placed":
            conn.execute(contact_cases.insert().values(
                case_id=case_id, creditor_id=p["creditor_id"], agency_id=p["agency_id"],
                debtor_id=p["debtor_id"], debtor_timezone=p["debtor_timezone"],
                placed_at=p["placed_at"], assigned_at=p["placed_at"], cease_contact=False,
                dispute_open=False, recalled=False, closed=False, version=event.version))
            return
        case = conn.execute(sa.select(contact_cases).where(
            contact_cases.c.case_id == case_id)).mappings().one()
        where = contact_cases.c.case_id == case_id
        if event.type == "Contacted":
            conn.execute(contacts.insert().values(
                event_id=str(event.event_id), position=event.position, case_id=case_id,
                creditor_id=case["creditor_id"], agency_id=p["agency_id"],
                debtor_id=case["debtor_id"], contact_id=p["contact_id"], channel=p["channel"],
                direction=p["direction"], party=p["party"], outcome=p["outcome"],
                action_code=p["action_code"], agent_id=p.get("agent_id"),
                recording_ref=p.get("recording_ref"), contact_point=p.get("contact_point"),
                occurred_at=p["occurred_at"], flags=",".join(p.get("flags", []))))
        elif event.type == "Reassigned":
            conn.execute(contact_cases.update().where(where).values(
                agency_id=p["to_agency_id"], assigned_at=p["reassigned_at"], recalled=False))
        else:
            column, value = HOLD_FLAGS[event.type]
            conn.execute(contact_cases.update().where(where).values({column: value}))
        conn.execute(contact_cases.update().where(where).values(version=event.version))


def contact_log() -> ContactLog:
    """Entry point for `casetrail consume contact-log`."""
    return ContactLog()
