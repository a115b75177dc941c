"""Use cases: the agency registry. An agency's profile (collection agency or law firm), the
collectors it registers, and the qualification each creditor grants it after due diligence
(domain/agencies.py), each kept as versions, never edited (adapters/registry.py).

A write equal to the current version is a retry and answers it (whatever `expected_version`
says: the retry of a write that succeeded carries the version it read before); otherwise a
writer that states `expected_version` is refused when the record has moved on (409). What
the registry decides elsewhere: contacts name a registered collector (`collectors_in_force`,
read at most every REGISTRY_TTL seconds per process, at once after a write here), and a
creditor that requires qualified agencies gives cases only to those qualified on the day
(`qualified_rules`, `check_assignable`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from casetrail.retry import retrying

from case_service.adapters.case_store import AlreadyStored
from case_service.adapters.registry import StoredVersion, VersionedRecords
from case_service.application.allocation import allocation_rules, creditor_timezone
from case_service.application.cases import CaseApplication
from case_service.application.errors import VersionConflict
from case_service.domain.agencies import (
    AgencyKind,
    AgencyProfile,
    Collector,
    Qualification,
    check_qualified,
)
from case_service.domain.allocation import AllocationRules
from case_service.domain.case import Case, local_day

ATTEMPTS = 3  # a concurrent write took the version number: read again


class RegistryRecordNotFound(LookupError):
    """No such profile, collector or qualification."""


class InvalidRecord(ValueError):
    """A record that breaks a rule of its own (an approval without its days...): `field`
    names where."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def _view(stored: StoredVersion) -> dict[str, Any]:
    return {**stored.keys, "version": stored.version, "created_at": stored.created_at,
            "actor": stored.actor, **stored.record}


def _record(app: CaseApplication, records: VersionedRecords, keys: dict[str, str],
            record: dict[str, Any], actor: str, expected_version: int | None
            ) -> tuple[dict[str, Any], bool]:
    """Append a version unless it repeats the current one: (its view, created)."""
    for attempt in retrying(ATTEMPTS if expected_version is None else 1, on=AlreadyStored):
        with attempt:
            latest = records.latest(**keys)
            if latest is not None and latest.record == record:
                return _view(latest), False
            number = 0 if latest is None else latest.version
            if expected_version is not None and expected_version != number:
                raise VersionConflict(f"the record is at version {number}, not "
                                      f"{expected_version}: read it again and resend", number)
            created_at = app.clock.now().isoformat()
            records.add(keys, number + 1, record, created_at, actor)
            return _view(StoredVersion(keys, number + 1, record, created_at, actor)), True
    raise AssertionError("unreachable: retrying returns or raises")


def _latest(records: VersionedRecords, what: str, **keys: str) -> dict[str, Any]:
    found = records.latest(**keys)
    if found is None:
        raise RegistryRecordNotFound(f"no {what} of {', '.join(keys.values())}")
    return _view(found)


# ------------------------------------------------------------------------------ profiles


def set_profile(app: CaseApplication, agency_id: str, profile: AgencyProfile, actor: str, *,
                expected_version: int | None = None) -> tuple[dict[str, Any], bool]:
    """Record a version of an agency's profile; (view, created)."""
    return _record(app, app.registry.profiles, {"agency_id": agency_id},
                   profile.to_json(), actor, expected_version)


def profile(app: CaseApplication, agency_id: str) -> dict[str, Any]:
    """The current profile of an agency."""
    return _latest(app.registry.profiles, "agency profile", agency_id=agency_id)


def profile_versions(app: CaseApplication, agency_id: str) -> list[dict[str, Any]]:
    """Every version of an agency's profile, oldest first."""
    return [_view(v) for v in app.registry.profiles.versions(agency_id=agency_id)]


def agency_kind(app: CaseApplication, agency_id: str) -> str | None:
    """The kind of an agency by its current profile (None: it has none)."""
    found = app.registry.profiles.latest(agency_id=agency_id)
    return None if found is None else AgencyProfile.from_json(found.record).kind


# ------------------------------------------------------------------------------ collectors


def set_collector(app: CaseApplication, agency_id: str, collector_id: str,
                  collector: Collector, actor: str, *, expected_version: int | None = None
                  ) -> tuple[dict[str, Any], bool]:
    """Record a version of a collector of an agency; (view, created). The agency's cached
    collectors in this process are dropped at once."""
    try:
        return _record(app, app.registry.collectors,
                       {"agency_id": agency_id, "collector_id": collector_id},
                       collector.to_json(), actor, expected_version)
    finally:
        app.collectors_cache.invalidate(agency_id)


def collector(app: CaseApplication, agency_id: str, collector_id: str) -> dict[str, Any]:
    """The current version of a collector."""
    return _latest(app.registry.collectors, "collector", agency_id=agency_id,
                   collector_id=collector_id)


def collectors(app: CaseApplication, agency_id: str) -> list[dict[str, Any]]:
    """The current version of each collector of an agency, by collector id."""
    return [_view(v) for v in app.registry.collectors.newest_under(agency_id=agency_id)]


def collector_versions(app: CaseApplication, agency_id: str, collector_id: str
                       ) -> list[dict[str, Any]]:
    """Every version of a collector, oldest first."""
    return [_view(v) for v in app.registry.collectors.versions(
        agency_id=agency_id, collector_id=collector_id)]


def collectors_in_force(app: CaseApplication, agency_id: str) -> dict[str, Collector]:
    """An agency's registered collectors by id (empty: it registered none), read at most
    every REGISTRY_TTL seconds by one thread (at once after a write in this process)."""
    found: dict[str, Collector] = app.collectors_cache.get(agency_id, lambda: {
        v.keys["collector_id"]: Collector.from_json(v.record)
        for v in app.registry.collectors.newest_under(agency_id=agency_id)})
    return found


# ------------------------------------------------------------------------------ qualification


def set_qualification(app: CaseApplication, creditor_id: str, agency_id: str,
                      qualification: Qualification, actor: str, *,
                      expected_version: int | None = None) -> tuple[dict[str, Any], bool]:
    """Record a version of a creditor's qualification of an agency; (view, created).
    InvalidRecord when it breaks a rule of its own."""
    problems = qualification.problems()
    if problems:
        raise InvalidRecord(problems)
    return _record(app, app.registry.qualifications,
                   {"creditor_id": creditor_id, "agency_id": agency_id},
                   qualification.to_json(), actor, expected_version)


def qualification(app: CaseApplication, creditor_id: str, agency_id: str) -> dict[str, Any]:
    """The current qualification of an agency by a creditor."""
    return _latest(app.registry.qualifications, "qualification",
                   creditor_id=creditor_id, agency_id=agency_id)


def qualification_versions(app: CaseApplication, creditor_id: str, agency_id: str
                           ) -> list[dict[str, Any]]:
    """Every version of a creditor's qualification of an agency, oldest first."""
    return [_view(v) for v in app.registry.qualifications.versions(
        creditor_id=creditor_id, agency_id=agency_id)]


def qualifications(app: CaseApplication, creditor_id: str) -> list[dict[str, Any]]:
    """The current version of each qualification a creditor recorded, by agency id."""
    return [_view(v) for v in
            app.registry.qualifications.newest_under(creditor_id=creditor_id)]


def with_validity(app: CaseApplication, creditor_id: str, view: dict[str, Any]
                  ) -> dict[str, Any]:
    """A qualification's view with `valid_today`: approved and unexpired on the creditor's
    day now."""
    zone = creditor_timezone(app, allocation_rules(app, creditor_id))
    today = local_day(app.clock.now(), zone)
    return {**view, "valid_today": Qualification.from_json(view).valid_on(today)}


def qualification_of(app: CaseApplication, creditor_id: str, agency_id: str
                     ) -> Qualification | None:
    """A creditor's current qualification of an agency (None: none recorded)."""
    found = app.registry.qualifications.latest(creditor_id=creditor_id,
                                                       agency_id=agency_id)
    return None if found is None else Qualification.from_json(found.record)


def qualifications_of(app: CaseApplication, creditor_id: str) -> dict[str, Qualification]:
    """A creditor's current qualification of each agency it recorded one for."""
    return {v.keys["agency_id"]: Qualification.from_json(v.record)
            for v in app.registry.qualifications.newest_under(creditor_id=creditor_id)}


def qualified_rules(app: CaseApplication, creditor_id: str, rules: AllocationRules,
                    day: date) -> AllocationRules:
    """The rules with every bucket's agencies narrowed to those qualified on the day, when
    the creditor requires qualified agencies (else the rules as they are)."""
    if not rules.require_qualified_agencies:
        return rules
    qualified = qualifications_of(app, creditor_id)
    return replace(rules, buckets={
        bucket: tuple(s for s in shares
                      if s.agency_id in qualified and qualified[s.agency_id].valid_on(day))
        for bucket, shares in rules.buckets.items()})


def check_assignable(app: CaseApplication, creditor_id: str, agency_id: str, day: date,
                     rules: AllocationRules | None = None) -> None:
    """AgencyNotQualified when the creditor requires qualified agencies and this one is not
    approved and unexpired on the day (the creditor's)."""
    rules = rules if rules is not None else allocation_rules(app, creditor_id)
    if rules.require_qualified_agencies:
        check_qualified(qualification_of(app, creditor_id, agency_id), agency_id, day)


def reassign(app: CaseApplication, case: Case, *, to_agency_id: str, reason: str,
             term_end: date | None, reassigned_at: datetime, actor: str) -> None:
    """Move a case to another agency as the registry allows: refused (AgencyNotQualified)
    when the creditor requires qualified agencies and this one is not on the day; a move to
    an agency of kind law_firm is the legal hand-off (HandedToLawFirm)."""
    check_assignable(app, case.creditor_id, to_agency_id, case.creditor_day(reassigned_at))
    case.reassign(to_agency_id=to_agency_id, reason=reason, term_end=term_end,
                  reassigned_at=reassigned_at, actor=actor,
                  to_law_firm=agency_kind(app, to_agency_id) == AgencyKind.LAW_FIRM)
