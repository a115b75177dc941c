"""Use cases: a case as a caller sees it, now or as it stood at a past instant, and its
history; the debtor's details opened (and masked) for the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from casetrail.crypto import contact_point_ref, mask
from casetrail.security import Principal

from case_service.adapters.integration import event_data, event_type
from case_service.application.access import check_readable
from case_service.application.aging import aging
from case_service.application.cases import CaseApplication
from case_service.application.errors import CaseNotFound
from case_service.domain.case import Case


def read_case(app: CaseApplication, caller: Principal, case_id: UUID,
              as_of: datetime | None = None) -> dict[str, Any]:
    """The case's state now, or with `as_of` as it stood then, as the caller may see it."""
    case = app.get_case(case_id)
    check_readable(caller, case)
    if as_of is not None:
        case = _case_at(app, case_id, as_of)
    return case_view(app, case, unmask=caller.sees_pii_unmasked,
                     masked=caller.sees_pii_masked)


def read_history(app: CaseApplication, caller: Principal, case_id: UUID,
                 as_of: datetime | None = None) -> dict[str, Any]:
    """Every event of the case; with `as_of` only those recorded by then, and the state then
    (None before the case existed)."""
    check_readable(caller, app.get_case(case_id))
    unmask, masked = caller.sees_pii_unmasked, caller.sees_pii_masked
    events = history(app, case_id, unmask=unmask, masked=masked)
    result: dict[str, Any] = {"case_id": str(case_id), "events": events}
    if as_of is not None:
        version = version_as_of(app, case_id, as_of)
        result["events"] = [e for e in events if e["version"] <= version]
        result["as_of"] = as_of.isoformat()
        result["state"] = (case_view(app, app.get_case(case_id, version=version),
                                     unmask=unmask, masked=masked) if version else None)
    return result


def _case_at(app: CaseApplication, case_id: UUID, as_of: datetime) -> Case:
    version = version_as_of(app, case_id, as_of)
    if version == 0:
        raise CaseNotFound(str(case_id), f"case {case_id} did not exist at {as_of}")
    return app.get_case(case_id, version=version)


def case_view(app: CaseApplication, case: Case, *, unmask: bool,
              masked: bool = False) -> dict[str, Any]:
    """The state of a case, PII opened and masked for the caller (`masked`: as a collector
    sees it, see `debtor_view`)."""
    return {
        "case_id": str(case.id),
        "version": case.version,
        "creditor_id": case.creditor_id,
        "account_ref": case.account_ref,
        "placement_ref": case.placement_ref,
        "agency_id": case.agency_id,
        "assigned_agency_id": case.assigned_agency_id,
        "allocation": case.allocation,
        "status": case.status.value,
        "bucket": case.bucket,
        "dpd_at_placement": case.dpd,
        "product": case.product,
        "currency": case.currency,
        "balances": {k: str(v) for k, v in case.balances.items()},
        "placed_amount": str(case.placed_amount),
        "paid_total": str(case.paid_total),
        "outstanding": str(case.outstanding),
        "placed_at": case.placed_at.isoformat(),
        "assigned_at": case.assigned_at.isoformat(),
        "term_end": case.term_end.isoformat(),
        "aging": aging(app, case),
        "assignments": [
            {"seq": s.seq, "agency_id": s.agency_id, "assigned_at": s.assigned_at.isoformat(),
             "term_end": s.term_end.isoformat(),
             "ended_at": s.ended_at.isoformat() if s.ended_at else None,
             "end_reason": s.end_reason} for s in case.stints],
        "debtor": debtor_view(app, case.debtor_id, case.debtor_pii, case.debtor_timezone,
                              unmask=unmask, masked=masked),
        "contacts": case.contacts,
        "right_party_contacts": case.right_party_contacts,
        "last_contact_at": case.last_contact_at.isoformat() if case.last_contact_at else None,
        "promises": [
            {"promise_id": p.promise_id, "amount": str(p.amount),
             "due_date": p.due_date.isoformat(), "paid": str(p.paid), "state": p.state.value}
            for p in case.promises.values()],
        "payments": [
            {"reference": p.reference, "amount": str(p.amount), "reversed": str(p.reversed),
             "source": p.source.value, "received_at": p.received_at.isoformat(),
             "agency_id": p.agency_id, "flags": p.flags}
            for p in case.payments.values()],
        "repayment_plan": None if case.plan is None else {
            "plan_id": case.plan_id,
            "installments": [{"due_date": i.due_date.isoformat(), "amount": str(i.amount)}
                             for i in case.plan]},
        "dispute_open": case.dispute_open,
        "hardship": case.hardship,
        "cease_contact": case.cease_contact,
        "escalations": [{"kind": e["kind"], "reason": e["reason"],
                         "at": e["at"].isoformat()} for e in case.escalations],
        "recall_reason": case.recall_reason,
        "close_reason": case.close_reason,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "waived_total": str(case.waived_total),
        "complaints": [
            {"complaint_id": c.complaint_id, "channel": c.channel, "category": c.category,
             "received_at": c.received_at.isoformat(), "contact_hold": c.contact_hold,
             "open": c.open, "next_step": c.next_step.value if c.next_step else None,
             "due": {step: at.isoformat() for step, at in c.due.items()},
             "done": {step: at.isoformat() for step, at in c.done.items()},
             "missed": sorted(c.missed), "finding": c.finding, "outcome": c.outcome}
            for c in case.complaints.values()],
        "visits": [
            {"visit_id": v.visit_id, "reason": v.reason, "urgent": v.urgent,
             "requested_at": v.requested_at.isoformat(), "visit_by": v.visit_by.isoformat(),
             "state": v.state.value, "approved": v.approved,
             "performed_at": v.performed_at.isoformat() if v.performed_at else None,
             "outcome": v.outcome} for v in case.visits.values()],
        "settlements": [
            {"settlement_id": st.settlement_id, "kind": st.kind, "amount": str(st.amount),
             "due_date": st.due_date.isoformat() if st.due_date else None,
             "outstanding_at_proposal": str(st.outstanding), "discount": str(st.discount),
             "proposed_at": st.proposed_at.isoformat(), "state": st.state.value}
            for st in case.settlements.values()],
        "legal": None if case.law_firm_id is None else {
            "law_firm_id": case.law_firm_id, "with_law_firm": case.with_law_firm,
            "stages": [{"stage_ref": s.stage_ref, "stage": s.stage,
                        "occurred_at": s.occurred_at.isoformat(), "court": s.court,
                        "docket_no": s.docket_no, "law_firm_id": s.law_firm_id}
                       for s in case.litigation.values()],
            "documents": [{"document_id": d.document_id, "kind": d.kind, "sha256": d.sha256,
                           "referenced_at": d.referenced_at.isoformat(), "actor": d.actor}
                          for d in case.legal_documents.values()]},
    }


def debtor_view(app: CaseApplication, debtor_id: str, sealed: str, timezone: str, *,
                unmask: bool, masked: bool = False) -> dict[str, Any]:
    """A debtor's PII, opened with their data key; national id masked unless `unmask`.
    `masked` (a collector's view): the name partly (张*), each phone number as its contact-
    point reference and a hint, the address and email hidden."""
    pii = app.vault.open(debtor_id, sealed)
    if pii is None:
        return {"debtor_id": debtor_id, "timezone": timezone, "erased": True}
    if not unmask:
        pii["national_id"] = mask(pii["national_id"])
    if masked:
        phones = pii.get("phones") or []
        pii = {"name": mask_name(pii.get("name") or ""),
               "national_id": pii["national_id"],
               "phones": [mask(p) for p in phones],
               "phone_refs": [contact_point_ref(app.vault.master, debtor_id, p)
                              for p in phones],
               "address": None if pii.get("address") is None else "***",
               "email": None if pii.get("email") is None else mask(pii["email"], 0),
               "masked": True}
    return {"debtor_id": debtor_id, "timezone": timezone, "erased": False, **pii}


def mask_name(name: str) -> str:
    """A name as a collector sees it: its first character, the rest starred (张三 → 张*)."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else name


def history(app: CaseApplication, case_id: UUID, *, unmask: bool,
            masked: bool = False) -> list[dict[str, Any]]:
    """Every event of a case with its global position, version, type, data, time and actor."""
    events = app.case_events(case_id)
    if not events:
        raise CaseNotFound(str(case_id))
    positions = app.case_log.positions(case_id)
    found = []
    for e in events:
        data = event_data(e)
        if event_type(e) == "Placed":
            data["debtor"] = debtor_view(app, e.debtor_id, e.debtor_pii, e.debtor_timezone,
                                         unmask=unmask, masked=masked)
        sealed_point = getattr(e, "contact_point_sealed", None)
        if sealed_point is not None and unmask:  # auditors see the number dialled
            opened = app.vault.open(events[0].debtor_id, sealed_point)
            data["contact_point"] = opened["number"] if opened else None
        found.append({
            "position": positions.get(e.originator_version),
            "version": e.originator_version,
            "type": event_type(e),
            "recorded_at": e.timestamp.isoformat(),
            "actor": data.pop("actor", None),
            "data": data,
        })
    return found


def version_as_of(app: CaseApplication, case_id: UUID, as_of: datetime) -> int:
    """The case's version at a past instant (0 if it did not exist yet)."""
    events = app.case_events(case_id)
    if not events:
        raise CaseNotFound(str(case_id))
    return len([e for e in events if e.timestamp <= as_of])


def revealed_debtor(app: CaseApplication, case_id: UUID) -> dict[str, Any]:
    """The debtor's details as an agency supervisor sees them (after a recorded reveal)."""
    case = app.get_case(case_id)
    return debtor_view(app, case.debtor_id, case.debtor_pii, case.debtor_timezone,
                       unmask=False)
