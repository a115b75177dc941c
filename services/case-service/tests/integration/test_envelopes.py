"""The lean envelope decoder (stored bytes straight to the public envelope, used by the feed,
the relay and rebuilds) gives exactly what the library's path gives, for every event type,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from case_service.adapters.eventstore.decoding import (
    _handler,
    apply_stored_event,
    domain_event_from_row,
    envelope_from_stored,
)
from case_service.adapters.integration import OCCURRED_AT_FIELD, to_envelope
from case_service.application import CaseApplication, pii, placement
from case_service.application.placement import AccountInput, DebtorInput, PlacementBatch
from case_service.domain.workflows import ComplaintRules, SettlementLimits
from eventsourcing.domain import OriginatorIDError, OriginatorVersionError
from eventsourcing.persistence import StoredEvent

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def place(app: CaseApplication, ref: str) -> UUID:
    receipt, _ = placement.place(app, PlacementBatch(
        creditor_id="BANK1", placement_ref=f"P-{ref}", received_at=AT, request_sha256=ref,
        accounts=[AccountInput(
            index=0, account_ref=ref, currency="CNY", dpd=75, agency_id="AG-A",
            balances={"principal": Decimal("1200.50"), "fees": Decimal("30")},
            debtor=DebtorInput(name="张三", national_id="110101199003070011",
                               phones=("+8613800000000",), address="北京", email=None,
                               timezone="Asia/Shanghai"))]), actor="creditor")
    return UUID(receipt["accepted"][0]["case_id"])


def act(app: CaseApplication, case_id: UUID, command: Any) -> None:
    app.execute(case_id, command, expected_version=None, authorize=lambda _: None)


def every_event_type(app: CaseApplication) -> None:
    """A log holding each event type at least once."""
    first, second, third = place(app, "A1"), place(app, "A2"), place(app, "A3")
    t = [AT + timedelta(hours=h) for h in range(1, 40)]
    act(app, first, lambda c: c.record_contact(
        contact_id="c1", channel="phone", direction="outbound", party="debtor",
        outcome="conversation", action_code="PTP", agent_id="ag-1", recording_ref="rec-1",
        contact_point=pii.contact_point(app, c, "+8613800000000"), occurred_at=t[0],
        note="\"quoted\" \\ note", actor="agent"))
    act(app, first, lambda c: c.promise_to_pay(promise_id="p1", amount=Decimal("100.00"),
                                               due_date=t[1].date(), promised_at=t[1],
                                               actor="agent"))
    act(app, first, lambda c: c.receive_payment(reference="pay-1", amount=Decimal("100.00"),
                                                currency="CNY", source="agency",
                                                received_at=t[2], method="transfer",
                                                actor="agent"))
    act(app, first, lambda c: c.reverse_payment(reference="pay-1", amount=None,
                                                reason="bounced", reversed_at=t[3],
                                                actor="creditor"))
    act(app, first, lambda c: c.promise_to_pay(promise_id="p2", amount=Decimal("10.00"),
                                               due_date=t[4].date(), promised_at=t[4],
                                               actor="agent"))
    act(app, first, lambda c: c.break_promise(promise_id="p2", as_of=t[4] + timedelta(days=5),
                                              actor="system"))
    act(app, first, lambda c: c.agree_repayment_plan(
        plan_id="plan-1", installments=[(t[5].date() + timedelta(days=30), Decimal("50")),
                                        (t[5].date() + timedelta(days=60), Decimal("50.5"))],
        agreed_at=t[5], actor="agent"))
    act(app, first, lambda c: c.dispute(reason="amount wrong", disputed_at=t[6], actor="agent"))
    act(app, first, lambda c: c.resolve_dispute(outcome="upheld", note=None, resolved_at=t[7],
                                                actor="creditor"))
    act(app, first, lambda c: c.flag_hardship(reason="unemployed", flagged_at=t[8],
                                              actor="agent"))
    act(app, first, lambda c: c.escalate(kind="supervisor", reason="complaint",
                                         escalated_at=t[9], actor="agent"))
    act(app, first, lambda c: c.request_cease_contact(requested_at=t[10], channel="letter",
                                                      note=None, actor="agent"))
    act(app, second, lambda c: c.recall(reason="rotation", recalled_at=t[11],
                                        actor="creditor"))
    act(app, second, lambda c: c.reassign(to_agency_id="AG-B", reason="second placement",
                                          term_end=None, reassigned_at=t[12],
                                          actor="creditor"))
    act(app, third, lambda c: c.receive_payment(reference="pay-3", amount=Decimal("1230.50"),
                                                currency="CNY", source="creditor_direct",
                                                received_at=t[13], method=None,
                                                actor="creditor"))
    act(app, third, lambda c: c.close(reason="paid_in_full", closed_at=t[14], note=None,
                                      actor="creditor"))
    workflows(app, place(app, "W1"), place(app, "W2"), t[15:])
    rotated = place(app, "R1")  # a term run out, rotated by a scorecard
    ended = AT + timedelta(days=400)
    act(app, rotated, lambda c: c.expire_term(
        seq=1, as_of=ended, to_agency_id="AG-B", new_term_end=ended.date() + timedelta(days=30),
        actor="system", scorecard={"rules_version": 1, "bucket": "M3", "agencies": [
            {"agency_id": "AG-B", "role": "champion", "weight": 70,
             "recovery_rate": "0.5000"}]}))


def workflows(app: CaseApplication, fourth: UUID, fifth: UUID, t: list[datetime]) -> None:
    """Complaints, visits and settlements: each of their event types once."""
    act(app, fourth, lambda c: c.receive_complaint(
        complaint_id="cmp-1", channel="regulator", category="conduct", received_at=t[0],
        note=None, rules=ComplaintRules(), actor="agent"))
    act(app, fourth, lambda c: c.acknowledge_complaint(complaint_id="cmp-1",
                                                       acknowledged_at=t[1], actor="agent"))
    act(app, fourth, lambda c: c.investigate_complaint(
        complaint_id="cmp-1", finding="rude call", investigated_at=t[2], actor="agent"))
    act(app, fourth, lambda c: c.resolve_complaint(complaint_id="cmp-1", outcome="upheld",
                                                   note=None, resolved_at=t[3],
                                                   actor="creditor"))
    act(app, fourth, lambda c: c.receive_complaint(
        complaint_id="cmp-2", channel="phone", category="amount", received_at=t[3],
        note=None, rules=ComplaintRules(), actor="agent"))
    act(app, fourth, lambda c: c.miss_complaint_deadline(
        complaint_id="cmp-2", step="acknowledge", as_of=t[3] + timedelta(days=2),
        actor="system"))
    act(app, fourth, lambda c: c.request_visit(visit_id="v1", reason="unreachable",
                                               urgent=False, requested_at=t[4],
                                               actor="agent"))
    act(app, fourth, lambda c: c.approve_visit(visit_id="v1", approved_at=t[5], actor="sup"))
    act(app, fourth, lambda c: c.perform_visit(
        visit_id="v1", performed_at=t[6], outcome="found", visitor_id="col-1",
        evidence=[{"kind": "photo", "sha256": "0" * 64, "ref": "photo-1"}], actor="agent"))
    act(app, fourth, lambda c: c.report_visit(visit_id="v1", summary="met the debtor",
                                              reported_at=t[7], actor="agent"))
    act(app, fourth, lambda c: c.request_visit(visit_id="v2", reason="again", urgent=False,
                                               requested_at=t[7], actor="agent"))
    act(app, fourth, lambda c: c.reject_visit(visit_id="v2", reason="no", rejected_at=t[8],
                                              actor="sup"))
    limits = SettlementLimits(Decimal(50), 365)
    act(app, fourth, lambda c: c.propose_settlement(
        settlement_id="s1", kind="settlement", amount=Decimal("1000"),
        due_date=t[8].date() + timedelta(days=30), proposed_at=t[8], actor="agent"))
    act(app, fourth, lambda c: c.reject_settlement(settlement_id="s1", reason="too low",
                                                   rejected_at=t[9], actor="creditor"))
    act(app, fourth, lambda c: c.propose_settlement(
        settlement_id="s2", kind="settlement", amount=Decimal("1100"),
        due_date=t[9].date() + timedelta(days=30), proposed_at=t[9], actor="agent"))
    act(app, fourth, lambda c: c.approve_settlement(settlement_id="s2", approved_at=t[10],
                                                    limits=limits, actor="creditor"))
    act(app, fourth, lambda c: c.receive_payment(
        reference="pay-4", amount=Decimal("1100"), currency="CNY", source="agency",
        received_at=t[11], method=None, actor="agent"))  # fulfilled: closed as settled
    act(app, fifth, lambda c: c.propose_settlement(
        settlement_id="d1", kind="deferral", amount=Decimal("100"),
        due_date=t[0].date() + timedelta(days=10), proposed_at=t[0], actor="agent"))
    act(app, fifth, lambda c: c.approve_settlement(settlement_id="d1", approved_at=t[1],
                                                   limits=limits, actor="creditor"))
    act(app, fifth, lambda c: c.default_settlement(
        settlement_id="d1", as_of=t[0] + timedelta(days=12), actor="system"))
    act(app, fifth, lambda c: c.receive_complaint(
        complaint_id="cmp-3", channel="letter", category="privacy", received_at=t[2],
        note=None, rules=ComplaintRules(), actor="agent"))
    act(app, fifth, lambda c: c.reveal_pii(reveal_id="r1", reason="call back", revealed_at=t[2],
                                           actor="collector"))
    act(app, fifth, lambda c: c.recall(reason="complaint", recalled_at=t[3], actor="creditor",
                                       complaint_id="cmp-3"))
    act(app, fifth, lambda c: c.reassign(to_agency_id="LF-1", reason="litigation",
                                         term_end=None, reassigned_at=t[4], actor="creditor",
                                         to_law_firm=True))
    act(app, fifth, lambda c: c.record_litigation_stage(
        stage_ref="st-1", stage="filed", occurred_at=t[5], court="某法院", docket_no="(2026)1",
        note=None, actor="lawfirm"))
    act(app, fifth, lambda c: c.reference_legal_document(
        document_id="doc-1", kind="statement_of_claim", sha256="ab" * 32, referenced_at=t[6],
        note=None, actor="lawfirm"))


def test_lean_envelopes_equal_library_envelopes(application: CaseApplication) -> None:
    every_event_type(application)
    notifications = application.recorder.select_notifications(start=0, limit=1000)
    library = [to_envelope(application.mapper.to_domain_event(n), n.id) for n in notifications]
    seen = {e.type for e in library}
    assert set(OCCURRED_AT_FIELD) - {"PromiseKept"} <= seen  # kept: needs a kept promise
    # The path the feed, relay and rebuilds take on this backend, and the stored-event path.
    served = application.events_after(0, 1000)
    lean = [envelope_from_stored(n, n.id, application.mapper) for n in notifications]
    for ours in (served, lean):
        assert [e.model_dump() for e in ours] == [e.model_dump() for e in library]
        assert [e.to_json_bytes() for e in ours] == [e.to_json_bytes() for e in library]


def test_a_value_the_lean_decoder_does_not_know_takes_the_library_path(
        application: CaseApplication) -> None:
    place(application, "A9")
    [n] = application.recorder.select_notifications(start=0, limit=1)
    # A UUID in the payload is stored as {"_type_": "uuid_hex", ...}: only the library
    # knows how the envelope prints it.
    state = n.state.replace(b'"actor":"creditor"',
                            b'"actor":{"_type_":"uuid_hex","_data_":"'
                            + UUID(int=7).hex.encode() + b'"}')
    stored = StoredEvent(originator_id=n.originator_id, originator_version=1, topic=n.topic,
                         state=state)
    envelope = envelope_from_stored(stored, 1, application.mapper)
    assert envelope.payload["actor"] == str(UUID(int=7))
    assert envelope == to_envelope(application.mapper.to_domain_event(stored), 1)


def test_a_log_page_decodes_only_the_types_asked_for(application: CaseApplication) -> None:
    every_event_type(application)
    everything = application.events_after(0, 1000)
    wanted = frozenset({"Placed", "PaymentReceived"})
    first = application.log_page(0, 7, wanted)
    assert first.read == 7
    assert first.last_position == everything[6].position
    assert first.events == [e for e in everything[:7] if e.type in wanted]
    pages, after = [], 0
    while (page := application.log_page(after, 7, wanted)).read:
        pages += page.events
        after = page.last_position
    assert after == everything[-1].position
    assert pages == [e for e in everything if e.type in wanted]
    assert application.log_page(0, 1000) == (everything, everything[-1].position,
                                             len(everything))
    assert application.log_page(after, 10) == ([], 0, 0)


def test_lean_domain_events_equal_the_library_s(application: CaseApplication) -> None:
    every_event_type(application)
    notifications = application.recorder.select_notifications(start=0, limit=1000)
    assert len({n.topic for n in notifications}) >= len(OCCURRED_AT_FIELD) - 1
    for n in notifications:
        library = application.mapper.to_domain_event(n)
        lean = domain_event_from_row(n.originator_id, n.originator_version, n.topic, n.state,
                                     application.mapper)
        assert type(lean) is type(library)
        # repr: the same keys in the same order, and Decimals with the same exponent.
        assert repr(lean.__dict__) == repr(library.__dict__)
        assert [type(v) for v in lean.__dict__.values()] == \
            [type(v) for v in library.__dict__.values()]


def test_applied_rows_equal_the_library_s_mutate(application: CaseApplication) -> None:
    """`apply_stored_event` (the case list's replay) calls the aggregate's @event methods
    straight from the decoded attributes: after every event of every type, each case is what
    the library's event objects make of it."""
    every_event_type(application)
    kept = place(application, "A4")
    act(application, kept, lambda c: c.promise_to_pay(
        promise_id="p1", amount=Decimal("20"), due_date=AT.date() + timedelta(days=2),
        promised_at=AT + timedelta(hours=1), actor="agent"))
    act(application, kept, lambda c: c.receive_payment(
        reference="pay-4", amount=Decimal("20"), currency="CNY", source="agency",
        received_at=AT + timedelta(hours=2), method=None, actor="agent"))
    notifications = application.recorder.select_notifications(start=0, limit=1000)
    topics = {n.topic for n in notifications}
    assert {t.rsplit(".", 1)[1] for t in topics} == set(OCCURRED_AT_FIELD) | {"PromiseKept"}
    # Every type but the opening one takes the direct path (else this test compares the
    # library with itself).
    assert [t for t in topics if _handler(t) is None] == [
        t for t in topics if t.endswith(".Placed")]
    library: dict[UUID, Any] = {}
    lean: dict[UUID, Any] = {}
    mapper = application.mapper
    for n in notifications:
        case_id = n.originator_id
        library[case_id] = mapper.to_domain_event(n).mutate(library.get(case_id))
        lean[case_id] = apply_stored_event(lean.get(case_id), case_id, n.originator_version,
                                           n.topic, n.state, mapper)
        # repr: the same attributes in the same order, Decimals with the same exponent.
        assert repr(vars(lean[case_id])) == repr(vars(library[case_id]))
        assert [type(v) for v in vars(lean[case_id]).values()] == \
            [type(v) for v in vars(library[case_id]).values()]
    assert lean.keys() == library.keys()
    assert len(lean) == 7
    for case_id, case in lean.items():
        assert repr(vars(case)) == repr(vars(application.get_case(case_id)))


def test_applying_rows_checks_the_case_and_the_sequence(application: CaseApplication) -> None:
    case_id = place(application, "A5")
    act(application, case_id, lambda c: c.flag_hardship(reason="ill", flagged_at=AT,
                                                         actor="agent"))
    opened, flagged = application.recorder.select_notifications(start=0, limit=10)
    mapper = application.mapper
    case = apply_stored_event(None, case_id, 1, opened.topic, opened.state, mapper)
    with pytest.raises(OriginatorVersionError):  # version 3 after version 1: one is missing
        apply_stored_event(case, case_id, 3, flagged.topic, flagged.state, mapper)
    with pytest.raises(OriginatorIDError):
        apply_stored_event(case, UUID(int=1), 2, flagged.topic, flagged.state, mapper)
    # An attribute the event lacks: the library's path, which leaves the parameter to its
    # default (here there is none, so both paths refuse the same way).
    missing = flagged.state.replace(b',"reason":"ill"', b"")
    assert missing != flagged.state
    for apply in (lambda: mapper.to_domain_event(StoredEvent(
            originator_id=case_id, originator_version=2, topic=flagged.topic,
            state=missing)).mutate(case),
                  lambda: apply_stored_event(case, case_id, 2, flagged.topic, missing,
                                             mapper)):
        with pytest.raises(TypeError, match="reason"):
            apply()
    assert case.version == 1
    assert not case.hardship
    assert apply_stored_event(case, case_id, 2, flagged.topic, flagged.state, mapper) is case
    assert case.version == 2
    assert case.hardship
