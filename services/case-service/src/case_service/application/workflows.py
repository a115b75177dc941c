"""Use cases of the collection workflows beside contacts and money: the creditor's rules that
the aggregate's commands need (complaint deadlines, approval limits), and the settlement
certificate (结清证明) of a case that ended paid in full or settled. The commands themselves
are the aggregate's (domain/case.py), run through `commands.record_async` by the routes."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import orjson
from casetrail.security import Principal

from case_service.adapters.certificate_pdf import certificate_pdf
from case_service.adapters.integration import event_data, event_type
from case_service.adapters.parties import PartiesUnavailable as BillingUnavailable
from case_service.application.access import check_readable
from case_service.application.allocation import rules_in_force
from case_service.application.cases import CaseApplication
from case_service.application.errors import NotSettled, PartiesUnavailable
from case_service.application.views import case_view
from case_service.domain.case import Case
from case_service.domain.values import CloseReason
from case_service.domain.workflows import ComplaintRules, SettlementLimits

CERTIFIED_CLOSURES = (CloseReason.PAID_IN_FULL, CloseReason.SETTLED)


def complaint_rules(app: CaseApplication, case: Case) -> ComplaintRules:
    """The complaint handling rules in force for the case's creditor."""
    return rules_in_force(app, case.creditor_id).complaints


def settlement_limits(app: CaseApplication, case: Case) -> SettlementLimits:
    """The approval limits in force for the case's creditor."""
    return rules_in_force(app, case.creditor_id).settlement_limits


def facts_digest(app: CaseApplication, case_id: UUID) -> str:
    """The SHA-256 of a case's events as recorded (type, version, data; canonical JSON): what
    a document resting on them names, so that anyone with the history can check it."""
    digest = hashlib.sha256()
    for e in app.case_events(case_id):
        digest.update(orjson.dumps({"type": event_type(e), "version": e.originator_version,
                                    "data": event_data(e)}, option=orjson.OPT_SORT_KEYS))
        digest.update(b"\n")
    return digest.hexdigest()


def certificate(app: CaseApplication, caller: Principal, case_id: UUID,
                api_key: str | None = None) -> tuple[bytes, str]:
    """The settlement certificate of a case closed as paid in full or settled, and the
    SHA-256 of its bytes (the same history and the same party versions always give the same
    document). With a parties service (CASE_BILLING_URL), the creditor's and the closing
    agency's legal details are printed as the caller's key may read them."""
    case = app.get_case(case_id)
    check_readable(caller, case)
    if not case.closed or case.close_reason not in CERTIFIED_CLOSURES:
        raise NotSettled(f"case {case_id} is not closed as paid in full or settled "
                         f"(status {case.status.value}, close reason {case.close_reason})")
    assert case.closed_at is not None
    view = case_view(app, case, unmask=False)
    parties: dict[str, dict[str, Any] | None] = {}
    if app.parties is not None and api_key is not None:
        try:
            parties = {"creditor": app.parties.party("creditor", case.creditor_id, api_key),
                       "agency": app.parties.party("agency", case.agency_id, api_key)}
        except BillingUnavailable as exc:
            raise PartiesUnavailable(str(exc)) from exc
    pdf = certificate_pdf(view, number=f"JQ-{case.id.hex[:12].upper()}-{case.version}",
                          facts_sha256=facts_digest(app, case_id), issued_at=case.closed_at,
                          parties=parties)
    return pdf, hashlib.sha256(pdf).hexdigest()
