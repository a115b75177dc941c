"""Complaints as the contact service reads them: open or resolved, the contact hold, and the
counts the KPIs show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contact_service.domain.complaints import (
    COMPLAINT_HOLD,
    ComplaintFact,
    complaint_counts,
    complaint_hold,
)

RECEIVED = datetime(2026, 10, 3, 2, 0, tzinfo=UTC)
OCTOBER = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def complaint(complaint_id: str = "CP1", *, hold: bool = True, agency: str | None = "AG",
              received: datetime = RECEIVED, resolved: datetime | None = None,
              outcome: str | None = None, missed: datetime | None = None,
              case_id: str = "C1") -> ComplaintFact:
    return ComplaintFact(case_id=case_id, complaint_id=complaint_id, agency_id=agency,
                         received_at=received, contact_hold=hold, resolved_at=resolved,
                         outcome=outcome, first_missed_at=missed)


def test_an_open_complaint_that_holds_contact_denies_a_call() -> None:
    denial = complaint_hold([complaint()], "phone", RECEIVED + timedelta(hours=1))
    assert denial is not None
    assert (denial.rule_id, denial.kind) == (COMPLAINT_HOLD, COMPLAINT_HOLD)
    assert "CP1 (received 2026-10-03 02:00 UTC)" in denial.reason


def test_every_channel_but_letters_is_held() -> None:
    after = RECEIVED + timedelta(hours=1)
    for channel in ("phone", "sms", "email", "visit"):
        assert complaint_hold([complaint()], channel, after) is not None
    assert complaint_hold([complaint()], "letter", after) is None


def test_a_complaint_without_hold_denies_nothing() -> None:
    assert complaint_hold([complaint(hold=False)], "phone", RECEIVED) is None


def test_the_hold_lasts_from_receipt_until_resolution() -> None:
    resolved = RECEIVED + timedelta(days=5)
    held = [complaint(resolved=resolved, outcome="upheld")]
    assert complaint_hold(held, "phone", RECEIVED - timedelta(seconds=1)) is None
    assert complaint_hold(held, "phone", RECEIVED) is not None
    assert complaint_hold(held, "phone", resolved - timedelta(seconds=1)) is not None
    assert complaint_hold(held, "phone", resolved) is None


def test_several_open_holds_are_named_in_one_denial_oldest_first() -> None:
    later = complaint("CP2", received=RECEIVED + timedelta(hours=2))
    denial = complaint_hold([later, complaint()], "phone", RECEIVED + timedelta(days=1))
    assert denial is not None
    assert denial.reason.index("CP1") < denial.reason.index("CP2")


def test_status_is_resolved_only_once_resolved() -> None:
    resolved = RECEIVED + timedelta(days=5)
    fact = complaint(resolved=resolved)
    assert (fact.status(RECEIVED), fact.status(resolved)) == ("open", "resolved")


def test_counts_are_the_agencys_complaints_in_the_period() -> None:
    in_october = RECEIVED + timedelta(days=1)
    facts = [
        complaint("A", resolved=in_october, outcome="upheld", missed=in_october),
        complaint("B", resolved=in_october, outcome="partially_upheld"),
        complaint("C", resolved=datetime(2026, 11, 2, tzinfo=UTC), outcome="upheld"),
        complaint("D", received=datetime(2026, 9, 30, tzinfo=UTC), resolved=in_october,
                  outcome="not_upheld"),  # received before: resolved in the period
        complaint("E", agency="OTHER"),
        complaint("F", agency=None),  # received while the case was recalled
        complaint("A", resolved=in_october, outcome="upheld", missed=in_october),  # again
    ]
    counts = complaint_counts(facts, "AG", *OCTOBER)
    assert (counts.received, counts.resolved, counts.overdue, counts.upheld,
            counts.partially_upheld) == (3, 3, 1, 1, 1)
