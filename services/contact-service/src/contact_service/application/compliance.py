"""Compliance: contact permission (asked before every contact), the violations contacts
committed, the policy packs, and which pack each creditor's cases are judged by."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from casetrail.clock import Clock
from casetrail.crypto import MasterKey, contact_point_ref
from casetrail.security import Principal, Role

from contact_service.adapters.policies import ComplianceStore
from contact_service.adapters.queries import ContactQueries
from contact_service.application.access import require_roles, sees_case
from contact_service.application.errors import (
    CaseNotFound,
    Forbidden,
    ProjectionBehind,
    VersionTooFarAhead,
)
from contact_service.domain.complaints import complaint_hold
from contact_service.domain.policy import (
    Channel,
    ContactRequest,
    PackNotInForce,
    Party,
    UnknownPolicyPack,
)
from contact_service.domain.records import RetroactiveAssignment, effective_start

# A projection trails the case log by a few events, never by this many versions of one case:
# a `min_version` further ahead than this was not read from the case service, and waiting
# for it would never end.
MAX_VERSIONS_AHEAD = 1000


class Compliance:
    """Contact permission, violations, policy packs and creditors' policy assignments."""

    def __init__(self, store: ComplianceStore, queries: ContactQueries, master: MasterKey,
                 clock: Clock):
        # `master` turns a dialer's number into the reference contacts are counted by.
        self.store, self.queries, self.master, self.clock = store, queries, master, clock

    def contact_permission(self, caller: Principal, case_id: str, *, channel: Channel,
                           party: Party, at: datetime | None, contact_point: str | None,
                           min_version: int | None) -> dict[str, Any]:
        """May this contact be made at `at` (default now)? Every rule of the creditor's pack
        in force then, judged against the debtor's recorded contacts in the contact log, and
        the case's complaint hold (an open complaint with contact_hold refuses every channel
        but letters: denial `complaint_hold`), with the case version and log position the
        answer is based on. With `min_version`, only
        once the log has projected the case up to it (ProjectionBehind until then)."""
        when = (at or self.clock.now()).astimezone(UTC)
        with self.store.reading() as reader:
            case = reader.case(case_id)
            if case is None or not sees_case(caller, case):
                raise CaseNotFound(case_id)
            version = case["version"]
            if min_version is not None and min_version > version + MAX_VERSIONS_AHEAD:
                raise VersionTooFarAhead(min_version, version, MAX_VERSIONS_AHEAD)
            if min_version is not None and version < min_version:
                raise ProjectionBehind(version, min_version)
            point = None if contact_point is None else contact_point_ref(
                self.master, case["debtor_id"], contact_point)
            decision = reader.permission(case, ContactRequest(
                channel=channel, party=party, at=when, contact_point=point))
            held = complaint_hold(reader.complaints(case_id), channel, when)
        if held is not None:  # the case's own hold, beside the pack's rules: no time will do
            decision = decision.model_copy(update={
                "allowed": False, "denials": [*decision.denials, held],
                "earliest_allowed_at": None})
        return {"case_id": case_id, "channel": channel, "party": party, "at": when,
                **decision.model_dump(),
                "data_as_of": {"case_version": version, "position": case["position"]}}

    def violations(self, caller: Principal, *, filters: dict[str, str | None],
                   since: datetime | None, until: datetime | None, after: int, limit: int
                   ) -> dict[str, Any]:
        """A page of the contacts that broke a rule (filters by agency, creditor, rule, kind,
        case; occurred in [since, until)), each with the pack version that flagged it."""
        rows, next_after = self.queries.list_violations(
            tenant=caller.tenant_scope(), filters=filters, since=since, until=until,
            after=after, limit=limit)
        return {"violations": rows, "next_after": next_after}

    def policy_packs(self) -> dict[str, Any]:
        """Every version of every pack with its rules, and the pack of creditors with no
        assignment."""
        policies = self.store.policies
        registry = policies.registry
        return {"default_pack": policies.default_pack, "packs": [
            pack.model_dump(mode="json") for pack_id in registry.pack_ids
            for pack in registry.versions(pack_id)]}

    def assign_policy(self, caller: Principal, creditor_id: str, pack_id: str,
                      effective_from: datetime | None) -> tuple[dict[str, Any], bool]:
        """Assign a pack to a creditor from `effective_from` (default now; never in the past)
        on: earlier contacts stay judged by what was in force then. The same pack from the
        same instant again is a replay; the flag says whether it was recorded now."""
        _check_policy_access(caller, creditor_id, write=True)
        now = self.clock.now()
        start = effective_start(effective_from, now, RetroactiveAssignment(
            "a policy assignment cannot take effect in the past"))
        known = self.store.policies.registry.pack_ids
        if pack_id not in known:
            raise UnknownPolicyPack(f"unknown policy pack {pack_id!r}; known: {list(known)}")
        return self.store.assign(creditor_id, pack_id, start, now, caller.actor,
                                 from_now=effective_from is None)

    def creditor_policy(self, caller: Principal, creditor_id: str) -> dict[str, Any]:
        """A creditor's assignments, oldest first, and the pack version in force now (None
        while no version of it is in force yet)."""
        _check_policy_access(caller, creditor_id, write=False)
        try:
            pack = self.store.pack_in_force(creditor_id, self.clock.now())
        except PackNotInForce:
            in_force = None
        else:
            in_force = {"pack_id": pack.id, "version": pack.version}
        return {"creditor_id": creditor_id, "assignments": self.store.assignments(creditor_id),
                "in_force": in_force}


def _check_policy_access(caller: Principal, creditor_id: str, *, write: bool) -> None:
    """A creditor manages its own policy, admins any; auditors read every one."""
    allowed = (Role.CREDITOR, Role.ADMIN) if write else (Role.CREDITOR, Role.ADMIN, Role.AUDITOR)
    require_roles(caller, *allowed)
    if caller.role is Role.CREDITOR and caller.tenant != creditor_id:
        raise Forbidden("a creditor key manages only its own policy")
