"""The agencies a creditor works with, as the creditor and the agencies record them (seeds 000,
001: 合作机构准入与尽职调查, 催收人员资质): an agency's profile (a collection agency or a law
firm), the collectors it registers (status, training, the day their qualification runs
until), and the qualification a creditor grants an agency after due diligence (checklist,
score, approved until). Each is kept as versions, never edited (application/registry.py).
Values and rules only: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from case_service.domain.errors import DomainError

# ------------------------------------------------------------------------------ profiles


class AgencyKind(StrEnum):
    """What an agency is: a collection agency, or a law firm that litigates (诉讼)."""

    COLLECTION = "collection"
    LAW_FIRM = "law_firm"


@dataclass(frozen=True)
class AgencyProfile:
    """An agency's record: its kind and the name it is shown by."""

    kind: str
    display_name: str

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"kind": self.kind, "display_name": self.display_name}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgencyProfile:
        """Rebuild a profile from its stored form."""
        return cls(kind=AgencyKind(data["kind"]).value, display_name=str(data["display_name"]))


# ------------------------------------------------------------------------------ collectors


class CollectorStatus(StrEnum):
    """Where a collector stands with the agency."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    LEFT = "left"


@dataclass(frozen=True)
class Training:
    """A course a collector completed (合规培训)."""

    course: str
    completed_on: date


@dataclass(frozen=True)
class Collector:
    """A collector an agency registered: who records its contacts must be one of these,
    active and qualified on the contact's day."""

    name: str
    status: str
    training: tuple[Training, ...]
    qualified_until: date  # the last day their licence or certificate is valid

    def qualified_on(self, day: date) -> bool:
        """Whether the collector may work on a day: active, and qualified until then."""
        return self.status == CollectorStatus.ACTIVE and day <= self.qualified_until

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"name": self.name, "status": self.status,
                "training": [{"course": t.course, "completed_on": t.completed_on.isoformat()}
                             for t in self.training],
                "qualified_until": self.qualified_until.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Collector:
        """Rebuild a collector from its stored form."""
        return cls(name=str(data["name"]), status=CollectorStatus(data["status"]).value,
                   training=tuple(Training(str(t["course"]),
                                           date.fromisoformat(t["completed_on"]))
                                  for t in data.get("training") or ()),
                   qualified_until=date.fromisoformat(data["qualified_until"]))


class UnknownCollector(DomainError):
    """A contact names no collector the agency registered (or none at all)."""

    code = "unknown_collector"


class CollectorNotQualified(DomainError):
    """A contact names a registered collector who was not active and qualified that day."""

    code = "collector_not_qualified"


def check_collector(registry: dict[str, Collector], agent_id: str | None, day: date,
                    agency_id: str) -> None:
    """An agency with registered collectors records contacts only by one of them, active and
    qualified on the contact's day; an agency with none registered is not checked."""
    if not registry:
        return
    if agent_id is None or agent_id not in registry:
        named = "no agent_id" if agent_id is None else f"agent_id {agent_id!r}"
        raise UnknownCollector(f"{named}: agency {agency_id} records contacts by its "
                               "registered collectors only")
    collector = registry[agent_id]
    if not collector.qualified_on(day):
        why = (f"is {collector.status}" if collector.status != CollectorStatus.ACTIVE
               else f"was qualified until {collector.qualified_until}")
        raise CollectorNotQualified(f"collector {agent_id!r} of agency {agency_id} {why}, "
                                    f"not qualified on {day}")


# ------------------------------------------------------------------------------ qualification


class QualificationStatus(StrEnum):
    """Where a creditor's due diligence on an agency stands."""

    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the due diligence checklist, whether it passed, and why."""

    item: str
    passed: bool
    note: str | None = None


@dataclass(frozen=True)
class Qualification:
    """A creditor's qualification of an agency (准入): approved agencies may be given cases
    from `approved_on` to `expires_on` (both in the creditor's zone)."""

    checklist: tuple[ChecklistItem, ...]
    score: Decimal  # 0-100
    status: str
    approved_on: date | None = None
    expires_on: date | None = None

    def valid_on(self, day: date) -> bool:
        """Approved, and the day lies in [approved_on, expires_on]."""
        return (self.status == QualificationStatus.APPROVED
                and self.approved_on is not None and self.expires_on is not None
                and self.approved_on <= day <= self.expires_on)

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for each rule the record breaks (empty: a valid record)."""
        found: list[tuple[str, str]] = []
        if not Decimal(0) <= self.score <= Decimal(100):
            found.append(("score", "the score lies from 0 to 100"))
        if self.status == QualificationStatus.APPROVED:
            if self.approved_on is None:
                found.append(("approved_on", "an approval states the day it was given"))
            if self.expires_on is None:
                found.append(("expires_on", "an approval states the day it expires"))
        if (self.approved_on is not None and self.expires_on is not None
                and self.expires_on < self.approved_on):
            found.append(("expires_on", "cannot expire before it was approved"))
        return found

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"checklist": [{"item": c.item, "passed": c.passed, "note": c.note}
                              for c in self.checklist],
                "score": str(self.score), "status": self.status,
                "approved_on": self.approved_on.isoformat() if self.approved_on else None,
                "expires_on": self.expires_on.isoformat() if self.expires_on else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Qualification:
        """Rebuild a qualification from its stored form."""
        return cls(
            checklist=tuple(ChecklistItem(str(c["item"]), bool(c["passed"]), c.get("note"))
                            for c in data.get("checklist") or ()),
            score=Decimal(str(data["score"])), status=QualificationStatus(data["status"]).value,
            approved_on=date.fromisoformat(data["approved_on"]) if data.get("approved_on")
            else None,
            expires_on=date.fromisoformat(data["expires_on"]) if data.get("expires_on")
            else None)


class AgencyNotQualified(DomainError):
    """The creditor requires qualified agencies and this one is not, on that day."""

    code = "agency_not_qualified"


def check_qualified(qualification: Qualification | None, agency_id: str, day: date) -> None:
    """Refuse an agency without an approved qualification valid on the day."""
    if qualification is None:
        raise AgencyNotQualified(f"agency {agency_id} has no qualification from this creditor "
                                 "(it requires qualified agencies)")
    if not qualification.valid_on(day):
        raise AgencyNotQualified(
            f"agency {agency_id} is not qualified on {day}: {qualification.status}"
            + (f", approved {qualification.approved_on} to {qualification.expires_on}"
               if qualification.approved_on else ""))
