"""Property: whatever the case service accepts, every consumer applies. No valid API input
ever reaches a dead letter.

Hypothesis drives generated commands, each valid as far as the OpenAPI document says (so the
case service decides, with its edge bounds, what to take), through the case service's HTTP
API: contacts, promises, payments, reversals, plans, disputes, hardship, cease-contact,
escalations, recalls, reassignments, closures, at instants anywhere in the accepted window
(from 2000-01-01, up to now, in any UTC offset), with due dates up to the 10-year bound and
amounts down to the minor unit. Every event the log then holds is applied to the contact-log
and billing-ledger projections exactly as their consumers do; an event that fails to apply
fails the test. The read endpoints built on those projections answer without a 5xx.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.world import World, account

NOW = datetime.now(UTC)
TODAY = NOW.date()
OFFSETS = st.sampled_from([timezone(timedelta(hours=h, minutes=m)) for h, m in
                           [(-12, 0), (-5, 0), (0, 0), (5, 30), (8, 0), (14, 0)]])
# Anywhere the case service takes a business time: 2000-01-01 (inclusive) up to now.
INSTANTS = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=NOW.replace(tzinfo=None)),
    st.sampled_from([datetime(2000, 1, 1), NOW.replace(tzinfo=None) - timedelta(seconds=30)]),
).map(lambda d: d.replace(tzinfo=UTC))
# From the creditor's and debtor's today (Asia/Shanghai: a day ahead of UTC from 16:00 UTC, and
# a placement's term may not end before its day) to the schemas' ten years past UTC today.
LOCAL_TODAY = NOW.astimezone(ZoneInfo("Asia/Shanghai")).date()
DUE_DATES = st.one_of(st.dates(min_value=LOCAL_TODAY, max_value=TODAY + timedelta(days=3652)),
                      st.just(TODAY + timedelta(days=3652)))
AMOUNTS = st.one_of(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("6000"),
                                places=2), st.just(Decimal("0.01")))
IDS = st.sampled_from(["A", "B", "C", "a.1", "Z:9", "x-" + "y" * 126])


def iso(moment: datetime, offset: timezone) -> str:
    """An instant as a caller in that offset writes it."""
    return moment.astimezone(offset).isoformat()


@st.composite
def commands(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """(who, path under the case, body) of one command."""
    kind = draw(st.sampled_from([
        "contacts", "contacts", "contacts", "promises", "payments", "payments", "reversal",
        "repayment-plans", "disputes", "disputes/resolution", "hardship", "cease-contact",
        "escalations", "recall", "reassignment", "closure", "broken"]))
    at = iso(draw(INSTANTS), draw(OFFSETS))
    when = draw(st.sampled_from(["occurred", None]))  # optional times given or defaulted
    if kind == "contacts":
        return "agency", kind, {
            "contact_id": draw(IDS), "channel": draw(st.sampled_from(
                ["phone", "sms", "email", "letter", "visit"])),
            "direction": draw(st.sampled_from(["outbound", "inbound"])),
            "party": draw(st.sampled_from(["debtor", "third_party", "none"])),
            "outcome": draw(st.sampled_from(["conversation", "no_answer", "busy", "refused",
                                             "debtor_not_found", "delivered"])),
            "action_code": draw(st.sampled_from(["PTP", "NA", "X9_Z"])),
            "agent_id": draw(st.one_of(st.none(), IDS)),
            "contact_point": draw(st.one_of(st.none(), st.just("+86 139 0000 0000"))),
            "occurred_at": at}
    if kind == "promises":
        return "agency", kind, {"promise_id": draw(IDS), "amount": str(draw(AMOUNTS)),
                                "due_date": draw(DUE_DATES).isoformat(),
                                **({"promised_at": at} if when else {})}
    if kind == "payments":
        return draw(st.sampled_from(["agency", "bank"])), kind, {
            "reference": draw(IDS), "amount": str(draw(AMOUNTS)), "received_at": at}
    if kind == "reversal":
        body = {"reason": "bounced", **({"reversed_at": at} if when else {})}
        if draw(st.booleans()):
            body["amount"] = str(draw(AMOUNTS))
        return "bank", f"payments/{draw(IDS)}/reversal", body
    if kind == "repayment-plans":
        first = draw(DUE_DATES)
        count = draw(st.integers(1, 4))
        dates = [first + timedelta(days=30 * i) for i in range(count)]
        return "agency", kind, {"plan_id": draw(IDS), "installments": [
            {"due_date": d.isoformat(), "amount": str(draw(AMOUNTS))} for d in dates
            if d <= TODAY + timedelta(days=3652)] or [{"due_date": first.isoformat(),
                                                         "amount": "1.00"}],
            **({"agreed_at": at} if when else {})}
    if kind == "disputes/resolution":
        return "bank", kind, {"outcome": draw(st.sampled_from(["upheld", "rejected"])),
                              **({"resolved_at": at} if when else {})}
    if kind == "escalations":
        return "agency", kind, {"kind": draw(st.sampled_from(["field_visit", "legal",
                                                              "supervisor"])),
                                "reason": "why", **({"escalated_at": at} if when else {})}
    if kind == "recall":
        return "bank", kind, {"reason": draw(st.sampled_from(["rotation", "complaint"])),
                              **({"recalled_at": at} if when else {})}
    if kind == "reassignment":
        term = draw(st.one_of(st.none(), DUE_DATES))
        return "bank", kind, {"to_agency_id": draw(st.sampled_from(["AG-A", "AG-B"])),
                              "reason": "rotation",
                              **({"term_end": term.isoformat()} if term else {}),
                              **({"reassigned_at": at} if when else {})}
    if kind == "closure":
        return "bank", kind, {"reason": draw(st.sampled_from(["settled", "uncollectible",
                                                              "recalled"])),
                              **({"closed_at": at} if when else {})}
    if kind == "broken":
        return "bank", f"promises/{draw(IDS)}/broken", {**({"as_of": at} if when else {})}
    field = {"disputes": "disputed_at", "hardship": "flagged_at",
             "cease-contact": "requested_at"}[kind]
    return draw(st.sampled_from(["agency", "bank"])), kind, {
        "reason": "because", **({field: at} if when else {})}


WORKLOADS = st.lists(st.tuples(st.integers(0, 2), commands()), min_size=1, max_size=25)
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=HEALTH)
@given(workload=WORKLOADS, term_end=st.one_of(st.none(), DUE_DATES),
       sync_every=st.integers(1, 8))
def test_every_event_the_case_service_accepts_is_applied_by_every_consumer(
        tmp_path_factory: Any, workload: list[tuple[int, tuple[str, str, dict[str, Any]]]],
        term_end: date | None, sync_every: int) -> None:
    run_workload(World(tmp_path_factory.mktemp("w")), workload, term_end, sync_every)


@pytest.mark.slow
@pytest.mark.postgres
@settings(max_examples=8, deadline=None, suppress_health_check=HEALTH)
@given(workload=WORKLOADS, term_end=st.one_of(st.none(), DUE_DATES),
       sync_every=st.integers(1, 8))
def test_every_accepted_event_is_applied_on_postgresql_too(
        tmp_path_factory: Any, pg_schemas: Any,
        workload: list[tuple[int, tuple[str, str, dict[str, Any]]]], term_end: date | None,
        sync_every: int) -> None:
    urls = {name: pg_schemas(f"prop_{name}") for name in ("case", "contact", "billing")}
    run_workload(World(tmp_path_factory.mktemp("w"), urls), workload, term_end, sync_every)


def run_workload(world: World, workload: list[tuple[int, tuple[str, str, dict[str, Any]]]],
                 term_end: date | None, sync_every: int) -> None:
    """Place three accounts, send the commands, apply the log as the consumers do."""
    try:
        rows = [account(f"ACC-{i}", principal="5000.00") for i in range(3)]
        if term_end is not None:
            rows[0]["term_end"] = term_end.isoformat()
        placed = world.call("case", "POST", "/v1/placements", "bank",
                            json={"placement_ref": "P-PROP", "accounts": rows})
        assert placed.status_code == 201, placed.text
        case_ids = [r["case_id"] for r in placed.json()["accepted"]]
        contract = world.call("billing", "PUT", "/v1/contracts/BANK/AG-A", "bank", json={
            "effective_from": "2000-01-01", "rates": {"M2": "0.18"}, "tail_days": 3650})
        assert contract.status_code == 201, contract.text
        for n, (which, (who, path, body)) in enumerate(workload):
            r = world.call("case", "POST", f"/v1/cases/{case_ids[which]}/{path}", who,
                           json=body)
            assert r.status_code < 500, r.text
            if n % sync_every == 0:
                world.sync()  # the consumers follow the log as it grows
        world.sync()  # raises if either projection cannot apply an event
        _assert_every_contact_logged(world, case_ids)
        _assert_reads_answer(world, case_ids)
    finally:
        world.close()


def _assert_every_contact_logged(world: World, case_ids: list[str]) -> None:
    for case_id in case_ids:
        events = world.call("case", "GET", f"/v1/cases/{case_id}/history").json()["events"]
        logged = world.call("contact", "GET", "/v1/contacts",
                            params={"case_id": case_id, "limit": 1000}).json()["contacts"]
        assert len(logged) == sum(e["type"] == "Contacted" for e in events)


def _assert_reads_answer(world: World, case_ids: list[str]) -> None:
    """The reads built on the projections answer (no 5xx) over what was applied."""
    month = TODAY.replace(day=1)
    reads = [
        ("contact", "/v1/worklist", {"agency_id": "AG-A"}),
        ("contact", "/v1/worklist", {"agency_id": "AG-A",
                                     "date": (TODAY + timedelta(days=3652)).isoformat()}),
        ("contact", "/v1/sla", {}),
        ("contact", "/v1/compliance/violations", {}),
        ("contact", "/v1/agencies/AG-A/contact-kpis",
         {"from": "2000-01-01T00:00:00Z", "to": NOW.isoformat()}),
        ("billing", "/v1/agencies/AG-A/performance", {"from": "2000-01-01",
                                                      "to": TODAY.isoformat()}),
        ("billing", "/v1/creditors/BANK/agency-comparison", {"period": month.strftime("%Y-%m")}),
        ("billing", "/v1/billing-runs/preview", {
            "creditor_id": "BANK", "agency_id": "AG-A", "period_start": "2000-01-01",
            "period_end": TODAY.isoformat()}),
    ]
    reads += [("contact", f"/v1/cases/{case_id}/contact-permission", {"channel": channel})
              for case_id, channel in itertools.product(case_ids, ["phone", "visit"])]
    for service, path, params in reads:
        r = world.call(service, "GET", path, params=params)
        assert r.status_code < 500, (path, r.text)
    run = world.call("billing", "POST", "/v1/billing-runs", "bank", json={  # ended everywhere
        "creditor_id": "BANK", "agency_id": "AG-A", "period_start": "2000-01-01",
        "period_end": (TODAY - timedelta(days=2)).isoformat()})
    assert run.status_code in (200, 201), run.text
