"""What the case service's use cases refuse, besides the domain's own errors (domain/errors.py).
Each has one answer over HTTP, in the error map (entrypoints/errors.py)."""

from __future__ import annotations


class CaseNotFound(Exception):
    """No such case (or none the caller may see)."""

    def __init__(self, case_id: str, message: str | None = None):
        super().__init__(case_id)
        self.case_id = case_id
        self.message = message or f"no case {case_id} visible to this key"


class VersionConflict(Exception):
    """The caller's expected version is stale, or another writer got there first."""

    def __init__(self, message: str, current_version: int | None = None):
        super().__init__(message)
        self.current_version = current_version


class PlacementConflict(Exception):
    """A placement reference was reused for a different batch."""


class PlacementNotFound(Exception):
    """No placement of this reference for this creditor."""


class DebtorErased(Exception):
    """The debtor's personal data was erased on request: nothing new is sealed for them."""

    def __init__(self, debtor_id: str):
        super().__init__(f"the personal data of debtor {debtor_id} was erased on request: "
                         "no number or address can be stored for them again; record the "
                         "contact without contact_point")
        self.debtor_id = debtor_id


class UnknownDebtor(Exception):
    """No data key was ever made for this debtor id."""


class InvalidCurrentBucket(ValueError):
    """A `current_bucket` filter that is no bucket of the creditor's scheme (or has no
    creditor to judge it by)."""


class NoCheckpoint(Exception):
    """No checkpoint of the log has been signed yet."""

    def __init__(self) -> None:
        super().__init__("no checkpoint has been signed yet: run `casetrail audit checkpoint`")


class CheckpointNotFound(LookupError):
    """No stored checkpoint of the requested tree size."""


class NotSettled(Exception):
    """A settlement certificate was asked for a case not closed as paid in full or settled."""


class PartiesUnavailable(Exception):
    """The service that keeps the parties' legal details did not answer: a document that
    prints them is not issued without them."""
