"""Migrations contact_0003 (payments.currency) and contact_0004 (qa_reviews.collector_id) on
a database at contact_0002 with rows in it, on SQLite and PostgreSQL: every row is kept, old
payments get no currency (the log never kept one to fill it from), and old reviews of calls
and visits get the agent of their contact."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from casetrail import migrations
from casetrail.projections.store import make_engine
from casetrail.testing import BACKENDS, fresh_database
from contact_service.adapters import schema
from contact_service.adapters.contact_log import contacts

AT = "2026-10-05T02:00:00+00:00"


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "contact") as database_url:
        yield database_url


def contact(event_id: str, agent_id: str | None) -> dict[str, object]:
    return {"event_id": event_id, "position": 1, "case_id": "case-1", "creditor_id": "BANK1",
            "agency_id": "AG-A", "debtor_id": "d-1", "contact_id": f"K-{event_id}",
            "channel": "phone", "direction": "outbound", "party": "debtor",
            "outcome": "conversation", "action_code": "TALK", "agent_id": agent_id,
            "recording_ref": "rec/1.wav", "contact_point": None, "contact_point_hint": None,
            "occurred_at": AT, "flags": "", "recorded_at": AT}


def test_old_payments_and_reviews_upgrade_to_head(url: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    migrations.upgrade(url, script_location=schema.SCRIPT_LOCATION,
                       version_table=schema.VERSION_TABLE, metadata=schema.metadata,
                       revision="contact_0002")
    m = sa.MetaData()
    old_payments = sa.Table("payments", m, *(sa.Column(n, sa.Text) for n in (
        "case_id", "reference", "agency_id", "amount", "reversed", "source", "received_at",
        "flags")))
    old_reviews = sa.Table("qa_reviews", m, *(sa.Column(n, sa.Text) for n in (
        "review_id", "sample_id", "population", "item_id", "findings", "reviewer",
        "reviewed_at")), sa.Column("score", sa.Integer), sa.Column("serious", sa.Boolean))
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(contacts.insert(), [contact("e-1", "agent-1"), contact("e-2", None)])
            conn.execute(old_payments.insert().values(
                case_id="case-1", reference="PAY-1", agency_id="AG-A", amount="100.00",
                reversed="20.00", source="agency", received_at=AT, flags=""))
            conn.execute(old_reviews.insert(), [
                {"review_id": rid, "sample_id": "s-1", "population": population,
                 "item_id": item, "score": 80, "findings": "ok", "serious": False,
                 "reviewer": "admin:*:k", "reviewed_at": AT}
                for rid, population, item in (
                    ("r-call", "recorded_calls", "e-1"), ("r-none", "visit_records", "e-2"),
                    ("r-case", "repaid_cases", "case-1"), ("r-gone", "recorded_calls", "e-9"))])

        with caplog.at_level(logging.WARNING, logger="casetrail.migrations.contact"):
            assert schema.migrate(url) == schema.head() == "contact_0004"
        assert "payments.currency is NULL in 1 payment rows" in caplog.text
        assert "1 QA reviews name a contact the contact log does not hold" in caplog.text
        assert migrations.differences(url, schema.metadata, schema.VERSION_TABLE) == []

        with engine.connect() as conn:
            payment = conn.execute(sa.text(
                "SELECT amount, reversed, currency FROM payments")).one()
            collectors = dict(conn.execute(sa.text(
                "SELECT review_id, collector_id FROM qa_reviews")).all())
        assert tuple(payment) == ("100.00", "20.00", None)
        assert collectors == {"r-call": "agent-1", "r-none": None, "r-case": None,
                              "r-gone": None}
        assert schema.migrate(url) == "contact_0004"  # again: nothing to do
    finally:
        engine.dispose()
