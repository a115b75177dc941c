"""The case service's use cases, one module per capability, around the eventsourcing
Application that loads and saves cases (cases.py):

- placement.py: a creditor's batch of accounts, one case per new account; receipts;
- allocation.py: a creditor's allocation rules and today;
- commands.py: the facts recorded on a case (contacts, payments, promises, ...);
- views.py: a case and its history as a caller sees them, now or as of an instant;
- listing.py: the case list, a page at a time, with each case's aging today;
- aging.py: DPD and bucket on a day, roll rates;
- deadlines.py: what falls due when nobody posts it (`casetrail deadlines`);
- replay.py: every case rebuilt from the log (the case list's rebuild);
- pii.py: sealing a contact's number, erasure, master key rotation;
- audit.py: checkpoints, verification, proofs and the regulator export;
- access.py: which cases a caller may see and change; errors.py: what the use cases refuse.

Commands in, primitives out: nothing here knows HTTP.
"""

from case_service.application.cases import CaseApplication, CommandResult
from case_service.application.errors import (
    CaseNotFound,
    DebtorErased,
    PlacementConflict,
    VersionConflict,
)
from case_service.application.placement import (
    AccountInput,
    DebtorInput,
    PlacementBatch,
    canonical_json,
    request_digest,
)

__all__ = ["AccountInput", "CaseApplication", "CaseNotFound", "CommandResult", "DebtorErased",
           "DebtorInput", "PlacementBatch", "PlacementConflict", "VersionConflict",
           "canonical_json", "request_digest"]
