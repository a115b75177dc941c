"""Request and response bodies of the agency registry beside schemas.py: an agency's
profile, its collectors, and a creditor's qualification of an agency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from casetrail.web import Day
from pydantic import Field

from case_service.entrypoints.schemas import Model, Out, ShortText, Text


class RegistryWriteIn(Model):
    """Every registry write may carry the version it expects the record to be at (else 409);
    sending the current content again records nothing whatever it says."""

    expected_version: int | None = Field(default=None, ge=0, description=(
        "the version you read (0: the record does not exist yet)"))


class AgencyProfileIn(RegistryWriteIn):
    """What an agency is: a collection agency, or a law firm that litigates (诉讼)."""

    kind: Literal["collection", "law_firm"]
    display_name: ShortText


class TrainingIn(Model):
    """A course a collector completed (合规培训)."""

    course: ShortText
    completed_on: Day


class CollectorIn(RegistryWriteIn):
    """A collector of the agency: contacts name one by `agent_id` (its collector id) once the
    agency registered any."""

    name: ShortText
    status: Literal["active", "suspended", "left"] = "active"
    training: list[TrainingIn] = Field(default_factory=list, max_length=100)
    qualified_until: Day = Field(description="the last day the collector's qualification "
                                 "(licence, certificate) is valid")


class ChecklistItemIn(Model):
    """One item of the due diligence checklist (尽职调查)."""

    item: ShortText
    passed: bool
    note: Text | None = None


class QualificationIn(RegistryWriteIn):
    """A creditor's qualification of an agency after due diligence (准入)."""

    checklist: list[ChecklistItemIn] = Field(default_factory=list, max_length=200)
    score: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2,
                           allow_inf_nan=False)
    status: Literal["approved", "rejected", "suspended"]
    approved_on: Day | None = None
    expires_on: Day | None = None


class RegistryRecordOut(Out):
    """One version of a registry record: its keys, version, when and by whom, and content."""

    version: int
    created_at: str
    actor: str
    recorded: bool | None = Field(default=None, description=(
        "false: the content equals the current version, nothing was recorded"))


class AgencyProfileOut(RegistryRecordOut):
    agency_id: str
    kind: str
    display_name: str


class CollectorOut(RegistryRecordOut):
    agency_id: str
    collector_id: str
    name: str
    status: str
    training: list[dict[str, str]]
    qualified_until: date


class QualificationOut(RegistryRecordOut):
    creditor_id: str
    agency_id: str
    checklist: list[dict[str, object]]
    score: str
    status: str
    approved_on: date | None
    expires_on: date | None
    valid_today: bool | None = Field(default=None, description=(
        "whether it is approved and unexpired today (the creditor's day)"))


class AgencyProfileVersionsOut(Out):
    versions: list[AgencyProfileOut] = Field(description="oldest first")


class CollectorsOut(Out):
    collectors: list[CollectorOut] = Field(description="by collector id")


class CollectorVersionsOut(Out):
    versions: list[CollectorOut] = Field(description="oldest first")


class QualificationsOut(Out):
    qualifications: list[QualificationOut] = Field(description="by agency id")


class QualificationVersionsOut(Out):
    versions: list[QualificationOut] = Field(description="oldest first")
