"""Quality control: monthly QA samples (reproducible from a seed), reviews, and contact KPIs
(who may do what: `application/quality.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from casetrail.web import Identifier, IdentifierPath, Instant, error_responses
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StrictBool, StrictInt

from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["quality"])


# ---------------------------------------------------------------------- schemas

class SampleIn(BaseModel):
    """Draw the QA sample of an agency's month."""

    model_config = {"extra": "forbid"}

    agency_id: Identifier
    month: str = Field(description="YYYY-MM, a calendar month in the agency's time zone "
                                   "(its last setting before the month ended): a past month or the "
                                   "current one",
                       examples=["2026-10"], pattern=r"^[0-9]{4}-[0-9]{2}$")
    seed: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="default: 32 random hex digits, recorded; the same agency, month and seed "
                    "always give the same sample")


class SampledContactOut(BaseModel):
    """The contact a call or visit item names (as the contact log has it now)."""

    contact_id: str
    channel: str
    direction: str
    party: str
    outcome: str
    action_code: str
    agent_id: str | None
    recording_ref: str | None
    occurred_at: str


class ItemOut(BaseModel):
    """One sampled item: a contact event id (calls, visits) or a case id (repaid cases)."""

    item_id: str
    case_id: str
    contact: SampledContactOut | None


class PopulationOut(BaseModel):
    """What was drawn from one population."""

    population_size: int
    rate: str
    required: int = Field(description="ceil(population_size x rate), at least 1 if any")
    selected: int
    digest: str = Field(description="sha256 of the population's sorted ids, one per line")
    items: list[ItemOut]


class ReviewIn(BaseModel):
    """A reviewer's verdict on one sampled item."""

    model_config = {"extra": "forbid"}

    item_id: str = Field(min_length=1, max_length=200)
    score: StrictInt = Field(ge=0, le=100)
    findings: str = Field(max_length=20_000)
    serious: StrictBool
    review_id: Identifier | None = Field(
        default=None,
        description="optional retry key: resending the same review returns it with 200")


class ReviewOut(BaseModel):
    """A recorded review; serious findings carry the time they must be escalated by."""

    review_id: str
    sample_id: str
    population: str
    item_id: str
    score: int
    findings: str
    serious: bool
    reviewer: str
    reviewed_at: str
    collector_id: str | None = Field(
        description="the collector of the item when the review was recorded: the agent of a "
                    "sampled call or visit; null for a repaid case or a contact naming none")
    escalate_by: str | None = Field(description="reviewed_at + 24 h for serious findings")


class SampleOut(BaseModel):
    """A recorded QA sample with its items and reviews."""

    sample_id: str
    agency_id: str
    creditor_id: str | None = Field(description="the creditor whose cases alone were sampled")
    month: str
    timezone: str = Field(description="the zone the month was read in (the agency's, "
                                      "recorded when drawn; UTC for samples drawn before "
                                      "months were local)")
    month_starts_at: datetime = Field(description="the month's first instant in `timezone`")
    month_ends_at: datetime = Field(description="the next month's first instant (excluded)")
    seed: str
    rates: dict[str, str]
    algorithm: str
    created_at: str
    actor: str
    populations: dict[str, PopulationOut]
    reviews: list[ReviewOut]


class PopulationCheckOut(BaseModel):
    """One population, as recorded and as it is now."""

    recorded_size: int
    current_size: int
    recorded_digest: str
    current_digest: str
    population_unchanged: bool
    selection_matches: bool


class VerificationOut(BaseModel):
    """The sample re-derived from its seed and the current populations."""

    checked_at: datetime
    matches: bool = Field(description="every population unchanged and every selection equal")
    populations: dict[str, PopulationCheckOut]


class VerifiedSampleOut(SampleOut):
    """A recorded sample and whether its seed still draws it."""

    verification: VerificationOut


class RatioOut(BaseModel):
    """A KPI with the counts behind it."""

    value: str | None = Field(description="decimal, 4 places, half-up; null over 0")
    numerator: int
    denominator: int
    definition: str


class ComplaintCountsOut(BaseModel):
    """The agency's complaints in the period (received while it held the case)."""

    received: int
    resolved: int
    overdue: int = Field(description="complaints whose first missed deadline fell in the period")
    upheld: int = Field(description="resolved in the period with outcome `upheld`")
    partially_upheld: int


class ActionCodeOut(BaseModel):
    """The agency's contacts in the period with one action code."""

    action_code: str
    contacts: int
    right_party_contacts: int = Field(description="contacts with party `debtor`")
    promises: int = Field(description="promises made on the same case at the very instant of "
                                      "a contact with this code")


class KpisOut(BaseModel):
    """An agency's contact KPIs for [from, to)."""

    agency_id: str
    creditor_id: str | None = Field(description="set when only this creditor's cases count")
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to")
    kpis: dict[str, RatioOut]
    complaints: ComplaintCountsOut
    action_codes: list[ActionCodeOut] = Field(description="sorted by action code")


class CollectorScoreOut(BaseModel):
    """One collector's QA reviews of the month."""

    collector_id: str | None = Field(description="null: reviews of items naming no collector "
                                                  "(repaid cases, contacts without an agent)")
    reviews: int
    average_score: str | None = Field(description="decimal, 2 places, half-up")
    min_score: int | None
    serious_findings: int
    review_ids: list[str] = Field(description="sorted")


class ScoreTotalOut(BaseModel):
    """Every review of the month counted."""

    reviews: int
    average_score: str | None
    min_score: int | None
    serious_findings: int
    review_ids: list[str]


class CollectorScoresOut(BaseModel):
    """An agency's monthly QA scores per collector."""

    agency_id: str
    month: str
    creditor_id: str | None = Field(description="a creditor key: only its own samples count")
    samples: list[str] = Field(description="the samples of the month whose reviews count")
    collectors: list[CollectorScoreOut] = Field(description="by collector id, null last")
    total: ScoreTotalOut


class CollectorActionCodeOut(BaseModel):
    """A collector's contacts with one action code."""

    action_code: str
    contacts: int
    right_party_contacts: int


class CollectorFiguresOut(BaseModel):
    """A collector's (or the agency's) work in the period."""

    contacts: int
    right_party_contacts: int = Field(description="contacts with party `debtor`")
    visits_performed: int = Field(description="field visits performed in the period "
                                              "(`VisitPerformed.visitor_id`)")
    action_codes: list[CollectorActionCodeOut]


class CollectorKpiOut(CollectorFiguresOut):
    """One collector's figures."""

    collector_id: str | None = Field(description="the agent or visitor; null: work naming "
                                                  "none")


class CollectorKpisOut(BaseModel):
    """An agency's figures per collector for [from, to)."""

    agency_id: str
    creditor_id: str | None
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to")
    collectors: list[CollectorKpiOut] = Field(description="by collector id, null last")
    total: CollectorFiguresOut


# ---------------------------------------------------------------------- routes

@router.post("/qa/samples", status_code=201, response_model=SampleOut,
             summary="Draw an agency's monthly QA sample", responses={
                 201: {"description": "drawn now", "links": {
                     "GetSample": {"operationRef": "#/paths/~1v1~1qa~1samples~1{sample_id}/get",
                                   "parameters": {"sample_id": "$response.body#/sample_id"}},
                     "ReviewItem": {
                         "operationRef": "#/paths/~1v1~1qa~1samples~1{sample_id}~1reviews/post",
                         "parameters": {"sample_id": "$response.body#/sample_id"}}}},
                 200: {"model": SampleOut, "description": "the sample drawn before with the "
                       "same agency, month and seed"}, **error_responses(403)})
async def create_sample(body: SampleIn, response: Response, service: ServiceDep,
                        caller: PrincipalDep) -> dict[str, Any]:
    """At least 15 % of recorded calls, 30 % of field-visit records and 10 % of repaid cases of
    the month (rounded up, at least one of each non-empty population), drawn reproducibly from
    the seed. The month is a calendar month in the agency's time zone (its last setting made
    before the month ended), recorded with the sample and stated in the answer. 201 when
    drawn now; 200 with the recorded sample when the same agency, month and seed were sampled
    before (by the same scope)."""
    sample, created = await run_in_threadpool(
        service.quality.draw_sample, caller, body.agency_id, body.month, body.seed)
    if not created:
        response.status_code = 200
    return sample


@router.get("/qa/samples/{sample_id}", response_model=VerifiedSampleOut,
            summary="A QA sample, its reviews, and whether its seed still draws it",
            responses=error_responses(404))
async def get_sample(sample_id: str, service: ServiceDep, caller: PrincipalDep
                     ) -> dict[str, Any]:
    """The recorded sample with its reviews, and `verification`: the sample re-derived from its
    seed and rates over the populations as they are now, population by population."""
    return await run_in_threadpool(service.quality.sample, caller, sample_id)


@router.post("/qa/samples/{sample_id}/reviews", status_code=201, response_model=ReviewOut,
             summary="Record the review of a sampled item", responses={
                 200: {"model": ReviewOut, "description": "the same review (by `review_id`) "
                       "recorded before"},
                 **error_responses(403, 404, 409, _409="`review_id_conflict`: that review_id "
                                   "was used for another review")})
async def record_review(sample_id: str, body: ReviewIn, response: Response,
                        service: ServiceDep, caller: PrincipalDep) -> dict[str, Any]:
    """Record a score (0-100) and findings for an item of the sample. A serious finding comes
    back with `escalate_by`: it must be escalated within 24 hours of the review."""
    review, created = await run_in_threadpool(
        service.quality.record_review, caller, sample_id, item_id=body.item_id,
        score=body.score, findings=body.findings, serious=body.serious,
        review_id=body.review_id)
    if not created:
        response.status_code = 200
    return review


@router.get("/agencies/{agency_id}/contact-kpis", response_model=KpisOut,
            response_model_by_alias=True, summary="An agency's contact KPIs",
            responses=error_responses(403))
async def agency_contact_kpis(
    agency_id: IdentifierPath, service: ServiceDep, caller: PrincipalDep,
    since: Annotated[Instant, Query(alias="from", description="start, included")],
    until: Annotated[Instant, Query(alias="to", description="end, excluded")],
) -> dict[str, Any]:
    """Contact rate, right-party contact rate, promise rate, promise-kept rate, violations
    per 1000 contacts and complaints per 1000 cases assigned, each with its numerator,
    denominator and definition; the complaints received, resolved, overdue and upheld; and the
    contacts per action code (with right-party contacts and promises), over the instants
    [from, to) as given (each with its offset): no day or zone is implied. An agency key sees
    only its own agency; a creditor key gets the KPIs over its own cases only."""
    return await run_in_threadpool(service.quality.contact_kpis, caller, agency_id, since, until)


@router.get("/agencies/{agency_id}/collector-scores", response_model=CollectorScoresOut,
            summary="An agency's monthly QA scores per collector",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "JSON or CSV; `X-Content-SHA256` (and `ETag`) is "
                                            "the SHA-256 of the body"},
                       **error_responses(403)})
async def agency_collector_scores(
    agency_id: IdentifierPath, service: ServiceDep, caller: PrincipalDep,
    month: Annotated[str, Query(description="YYYY-MM: the month the QA samples were drawn "
                                            "for", examples=["2026-10"])],
    format: Annotated[Literal["json", "csv"], Query(
        description="json (default) or csv (UTF-8 with a BOM; a last row `total`)")] = "json",
) -> Response:
    """Every QA review of the agency's samples of the month (those the caller may see: an
    agency key its own agency's, a creditor key the samples of its own cases, auditors and
    admins all), per collector (the agent of the reviewed call or visit, stored with the
    review when it was recorded; null for repaid cases) and in total: reviews, average score
    (2 places, half-up), lowest score, serious findings and the review ids."""
    rendered = await run_in_threadpool(service.quality.collector_scores_in, caller, agency_id,
                                       month, format)
    return Response(rendered.body, media_type=rendered.media_type, headers={
        "X-Content-SHA256": rendered.sha256, "ETag": f'"{rendered.sha256}"',
        "Content-Disposition": f'inline; filename="{rendered.filename}"'})


@router.get("/agencies/{agency_id}/collector-kpis", response_model=CollectorKpisOut,
            response_model_by_alias=True, summary="An agency's figures per collector",
            responses=error_responses(403))
async def agency_collector_kpis(
    agency_id: IdentifierPath, service: ServiceDep, caller: PrincipalDep,
    since: Annotated[Instant, Query(alias="from", description="start, included")],
    until: Annotated[Instant, Query(alias="to", description="end, excluded")],
) -> dict[str, Any]:
    """Per collector over the instants [from, to) as given: contacts (`Contacted.agent_id`),
    right-party contacts (party `debtor`, as the contact KPIs), field visits performed
    (`VisitPerformed.visitor_id`) and contacts per action code; work naming no collector
    under `collector_id` null. Promises are not per collector: the case's `PromisedToPay`
    names no agent. An agency key sees only its own agency; a creditor key its own cases."""
    return await run_in_threadpool(service.quality.collector_kpis, caller, agency_id, since,
                                   until)
