"""Party records: the legal details of creditors and agencies that documents print, one
version per change."""

from __future__ import annotations

from typing import Any, Literal

from casetrail.web import IdentifierPath, error_responses
from fastapi import APIRouter, Response

from billing_service.entrypoints.access import party_access
from billing_service.entrypoints.deps import PrincipalDep, ServiceDep
from billing_service.entrypoints.errors import billing_errors
from billing_service.entrypoints.schemas import PartyIn, PartyOut, PartyVersionsOut

router = APIRouter(prefix="/v1", tags=["parties"])

PartyKind = Literal["creditor", "agency"]


@router.put("/parties/{party_kind}/{party_id}", status_code=201,
            summary="Record a new version of a party's legal details", response_model=PartyOut,
            response_model_exclude_unset=True,
            responses={200: {"model": PartyOut, "description": "the same details as the "
                             "current version: a retry, answered with that version"},
                       **error_responses(403, 409, 422,
                                         _409="`party_version_conflict`: the record is no "
                                         "longer at `expected_version`",
                                         _422="bad details at their field (a tax id's check "
                                         "character, an email...)")})
def put_party(party_kind: PartyKind, party_id: IdentifierPath, body: PartyIn,
              service: ServiceDep, caller: PrincipalDep, response: Response) -> dict[str, Any]:
    """Append a version (201). A creditor key maintains its own creditor record, an agency
    key its own agency record, admins any. The same details as the current version are a
    retry and return it (200). With `expected_version`, a record that has moved on since is
    refused (409); documents already issued keep the version they were issued with."""
    party_access(caller, party_kind, party_id, write=True)
    with billing_errors("body"):
        version, created = service.parties.record(
            party_kind, party_id, body.to_details(), caller.actor,
            expected_version=body.expected_version)
    if not created:
        response.status_code = 200
    return version.to_json()


@router.get("/parties/{party_kind}/{party_id}", summary="A party's current record",
            response_model=PartyOut, response_model_exclude_unset=True,
            responses=error_responses(403, 404, _404="`party_not_found`"))
def get_party(party_kind: PartyKind, party_id: IdentifierPath, service: ServiceDep,
              caller: PrincipalDep) -> dict[str, Any]:
    """The current version: in full for the party itself, admins and auditors; the public
    part (names, address, tax id, payment terms) for a creditor reading an agency's record
    or an agency reading a creditor's."""
    full = party_access(caller, party_kind, party_id, write=False)
    with billing_errors():
        return service.parties.current(party_kind, party_id, full=full)


@router.get("/parties/{party_kind}/{party_id}/versions", summary="Every version of a party",
            response_model=PartyVersionsOut, response_model_exclude_unset=True,
            responses=error_responses(403))
def get_party_versions(party_kind: PartyKind, party_id: IdentifierPath, service: ServiceDep,
                       caller: PrincipalDep) -> dict[str, Any]:
    """Every version, oldest first (empty if the party has no record), seen as `GET` sees
    the current one."""
    full = party_access(caller, party_kind, party_id, write=False)
    return {"party_kind": party_kind, "party_id": party_id,
            "versions": service.parties.versions(party_kind, party_id, full=full)}
