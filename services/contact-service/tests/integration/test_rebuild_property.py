"""Property: for any workload, the projections rebuilt from the log equal the live ones.

Hypothesis drives random commands (contacts at random hours, promises, payments, reversals,
disputes, escalations, cease-contact, recalls) through a real case application. The live
contact-log store applies the log in small batches as it grows; a shadow store rebuilds it in
one pass from position 0. The case list the case service wrote beside the events is rebuilt
too, case by case from the event store. The per-bucket checksums of every table must agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from case_service.adapters.case_list import CaseSummaries
from case_service.application import AccountInput, DebtorInput, PlacementBatch
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.domain.errors import DomainError
from casetrail.crypto import MasterKey
from casetrail.projections.rebuild import StoreSource, compare, rebuild
from casetrail.projections.store import Delivery, ProjectionStore, make_engine
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from contact_service.bootstrap import contact_log_projection
from contact_service.config import ContactSettings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

START = datetime(2026, 6, 1, tzinfo=UTC)

commands = st.lists(st.tuples(
    st.sampled_from(["call", "call", "call", "promise", "pay", "reverse", "dispute", "resolve",
                     "escalate", "cease", "recall", "visit"]),
    st.integers(0, 3),          # which case
    st.integers(0, 24 * 20),    # hours after the start
    st.sampled_from(["conversation", "no_answer", "busy", "invalid_number", "debtor_not_found"]),
), min_size=1, max_size=40)


def sync(cases: Any, store: ProjectionStore, batch: int) -> None:
    after = max(0, store.position("feed"))
    while events := cases.events_after(after, batch):
        store.apply("feed", 0, [Delivery(e.position, e) for e in events])
        after = events[-1].position


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(workload=commands, batch=st.integers(1, 7))
def test_rebuilt_contact_projections_equal_the_live_ones(tmp_path_factory: Any,
                                                         workload: list[Any], batch: int
                                                         ) -> None:
    tmp: Path = tmp_path_factory.mktemp("w")
    key = generate_key(Role.AUDITOR)
    common = CommonSettings(master_key=MasterKey.generate_b64(), var_dir=tmp / "var",
                            api_keys=json.dumps([KeyEntry("a", hash_key(key), Role.AUDITOR,
                                                          None).to_json()]))
    cases = build_application(CaseSettings(database_url=f"sqlite:///{tmp}/case.db"), common)
    projection = contact_log_projection(ContactSettings(default_policy_pack="us-reg-f"))
    live = ProjectionStore(make_engine(f"sqlite:///{tmp}/live.db"), projection)
    shadow = ProjectionStore(make_engine(f"sqlite:///{tmp}/shadow.db"), projection)
    live.create_schema()
    shadow.create_schema()
    receipt, _ = cases.place(PlacementBatch(
        creditor_id="BANK", placement_ref="P", received_at=START, request_sha256="x",
        accounts=[AccountInput(index=i, account_ref=f"A{i}", currency="CNY",
                               balances={"principal": Decimal("500.00")}, dpd=40,
                               agency_id="AG", debtor=DebtorInput(
                                   name="n", national_id=f"N{i % 2}", phones=("+1555000",),
                                   address=None, email=None, timezone="America/New_York"))
                  for i in range(4)]), actor="t")
    ids = [UUID(r["case_id"]) for r in receipt["accepted"]]
    for n, (kind, which, hours, outcome) in enumerate(workload):
        at = START + timedelta(hours=hours)
        run(cases, ids[which], kind, n, at, outcome)
        if n % 5 == 0:
            sync(cases, live, batch)  # the live store follows the log as it grows
    sync(cases, live, batch)
    sync(cases, shadow, 1000)  # the rebuild: one pass from position 0
    assert compare(live, shadow) == []
    summaries = CaseSummaries()
    written = ProjectionStore(make_engine(f"sqlite:///{tmp}/case.db"), summaries)
    replayed = asyncio.run(rebuild(written, f"sqlite:///{tmp}/case.db", store=StoreSource(
        partial(build_application, CaseSettings(database_url=f"sqlite:///{tmp}/case.db"),
                common))))
    assert compare(written, replayed) == []
    for store in (live, shadow, written, replayed):
        store.engine.dispose()
    cases.close()


def run(cases: Any, case_id: UUID, kind: str, n: int, at: datetime, outcome: str) -> None:
    def command(case: Any) -> Any:
        if kind in ("call", "visit"):
            point = cases.contact_point(case, "+1555000") if kind == "call" else None
            return case.record_contact(
                contact_id=f"c{n}", channel="phone" if kind == "call" else "visit",
                direction="outbound", party="debtor" if outcome == "conversation" else "none",
                outcome=outcome, action_code="X", agent_id=f"agent-{n % 3}",
                recording_ref=f"r{n}", contact_point=point, occurred_at=at, note=None,
                actor="t")
        if kind == "promise":
            return case.promise_to_pay(promise_id=f"p{n}", amount=Decimal("50.00"),
                                       due_date=(at + timedelta(days=3)).date(),
                                       promised_at=at, actor="t")
        if kind == "pay":
            return case.receive_payment(reference=f"pay{n}", amount=Decimal("60.00"),
                                        currency="CNY", source="agency", received_at=at,
                                        method=None, actor="t")
        if kind == "reverse":
            paid = [r for r, p in case.payments.items() if p.reversed < p.amount]
            if paid:
                return case.reverse_payment(reference=paid[0], amount=None, reason="bounced",
                                            reversed_at=at, actor="t")
            return False
        if kind == "dispute":
            return case.dispute(reason="not mine", disputed_at=at, actor="t")
        if kind == "resolve":
            return case.resolve_dispute(outcome="rejected", note=None, resolved_at=at,
                                        actor="t")
        if kind == "escalate":
            return case.escalate(kind="field_visit", reason="unreachable", escalated_at=at,
                                 actor="t")
        if kind == "cease":
            return case.request_cease_contact(requested_at=at, channel="letter", note=None,
                                              actor="t")
        return case.recall(reason="rotation", recalled_at=at, actor="t")

    with contextlib.suppress(DomainError):  # refused intents are part of any real workload
        cases.execute(case_id, command, expected_version=None, authorize=lambda _: None)
