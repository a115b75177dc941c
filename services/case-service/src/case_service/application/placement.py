"""Use case: a creditor places a batch of accounts; one case opens per new account.

Idempotent twice over: by (creditor, placement_ref), whose receipt is stored with the opening
events and returned again for the same content, and by (creditor, account_ref), whose case id
is deterministic (an account placed before is `already_placed`). Each row is judged on its
own (duplicate in the batch, no bucket, no agency, a term ending before the placement, an
erased debtor); the rest are placed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from casetrail.retry import retrying
from eventsourcing.persistence import IntegrityError

from case_service.adapters.eventstore import Opening
from case_service.application.allocation import allocation_rules, creditor_timezone
from case_service.application.cases import CaseApplication
from case_service.application.errors import PlacementConflict, PlacementNotFound
from case_service.application.registry import qualifications_of, qualified_rules
from case_service.domain.allocation import AllocationRules
from case_service.domain.case import case_id_for, local_day

ACK_DEADLINE = timedelta(hours=1)  # the tender: placements are acknowledged within 1 hour
PLACE_ATTEMPTS = 3  # another request may place one of the accounts (or the batch) meanwhile


@dataclass(frozen=True)
class DebtorInput:
    """A debtor as placed: PII fields are sealed before anything is stored."""

    name: str
    national_id: str
    phones: tuple[str, ...]
    address: str | None
    email: str | None
    timezone: str


@dataclass(frozen=True)
class AccountInput:
    """One validated account row of a placement."""

    index: int
    account_ref: str
    currency: str
    balances: dict[str, Decimal]
    dpd: int
    debtor: DebtorInput
    agency_id: str | None = None
    term_end: date | None = None
    product: str | None = None


@dataclass
class PlacementBatch:
    """A creditor's batch after row validation: good rows, and rows already rejected."""

    creditor_id: str
    placement_ref: str
    received_at: datetime
    request_sha256: str
    accounts: list[AccountInput]
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _ToOpen:
    """An account that passed the placement rules, and the case it opens."""

    account: AccountInput
    case_id: str
    agency_id: str
    bucket: str
    term_end: date
    allocation: dict[str, Any]


@dataclass
class _Sorted:
    """A batch's rows by outcome so far."""

    accepted: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    to_open: list[_ToOpen]


def place(app: CaseApplication, batch: PlacementBatch, actor: str
          ) -> tuple[dict[str, Any], bool]:
    """Open a case per new account; returns (receipt, replayed). A lost race with another
    placement of the same accounts (or batch) is judged again on fresh state."""
    for attempt in retrying(PLACE_ATTEMPTS, on=IntegrityError):
        with attempt:
            return _place_once(app, batch, actor)
    raise AssertionError("unreachable")


def receipt(app: CaseApplication, creditor_id: str, placement_ref: str) -> dict[str, Any]:
    """The stored receipt of a creditor's placement."""
    stored = app.store.receipt(creditor_id, placement_ref)
    if stored is None:
        raise PlacementNotFound(f"no placement {placement_ref!r}")
    return stored


def request_digest(body: bytes) -> str:
    """The hash that tells a replayed placement from a different one under the same reference."""
    return hashlib.sha256(body).hexdigest()


def canonical_json(data: Any) -> bytes:
    """Stable JSON bytes for hashing (sorted keys, compact, UTF-8)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)


def _place_once(app: CaseApplication, batch: PlacementBatch, actor: str
                ) -> tuple[dict[str, Any], bool]:
    previous = app.store.receipt(batch.creditor_id, batch.placement_ref)
    if previous is not None:
        if previous["request_sha256"] != batch.request_sha256:
            raise PlacementConflict(
                f"placement {batch.placement_ref!r} was already received with other content")
        return previous, True
    rules = allocation_rules(app, batch.creditor_id)
    zone = creditor_timezone(app, rules)
    placed_on = local_day(batch.received_at, zone)  # the creditor's day
    rows = _apply_rules(app, batch, rules, placed_on)
    openings = _openings(app, batch, rows, actor, zone, placed_on)
    acknowledged_at = app.clock.now()
    stored: dict[str, Any] = {
        "creditor_id": batch.creditor_id,
        "placement_ref": batch.placement_ref,
        "request_sha256": batch.request_sha256,
        "received_at": batch.received_at.isoformat(),
        "acknowledged_at": acknowledged_at.isoformat(),
        "acknowledge_by": (batch.received_at + ACK_DEADLINE).isoformat(),
        "acknowledged_within_deadline": acknowledged_at - batch.received_at <= ACK_DEADLINE,
        "counts": {
            "received": len(batch.accounts) + len(batch.rejected),
            "placed": len(openings),
            "already_placed": len(rows.accepted) - len(openings),
            "rejected": len(rows.rejected),
        },
        "accepted": sorted(rows.accepted, key=lambda r: r["index"]),
        "rejected": sorted(rows.rejected, key=lambda r: r["index"]),
    }
    app.open_cases(openings, stored)
    return stored, False


def _apply_rules(app: CaseApplication, batch: PlacementBatch, rules: AllocationRules,
                 placed_on: date) -> _Sorted:
    """Each account judged by the placement rules: duplicates in the batch, accounts placed
    before, the bucket of its DPD, its agency (named, or by the rules), its term."""
    ids = [str(case_id_for(batch.creditor_id, a.account_ref)) for a in batch.accounts]
    # A creditor that requires qualified agencies places with those approved and unexpired
    # on the placement's day only: named ones are checked, the rules' shares narrowed.
    qualified = (qualifications_of(app, batch.creditor_id)
                 if rules.require_qualified_agencies else {})
    allocating = qualified_rules(app, batch.creditor_id, rules, placed_on)
    existing = app.store.existing_case_ids(ids)
    rows = _Sorted(accepted=[], rejected=list(batch.rejected), to_open=[])
    seen: set[str] = set()
    for account, case_id in zip(batch.accounts, ids, strict=True):
        if case_id in seen:
            rows.rejected.append(_rejection(account, "account_ref",
                                            "account appears twice in this placement"))
            continue
        seen.add(case_id)
        if case_id in existing:
            rows.accepted.append({"index": account.index, "account_ref": account.account_ref,
                                  "case_id": case_id, "outcome": "already_placed"})
            continue
        bucket = rules.bucket(account.dpd)
        if bucket is None:
            rows.rejected.append(_rejection(account, "dpd",
                                            f"no bucket covers {account.dpd} days past due"))
            continue
        agency_id = account.agency_id
        allocation: dict[str, Any] = {"method": "named"}
        if agency_id is not None and rules.require_qualified_agencies and not (
                agency_id in qualified and qualified[agency_id].valid_on(placed_on)):
            rows.rejected.append(_rejection(
                account, "agency_id", f"agency {agency_id} is not qualified by the creditor "
                f"on {placed_on} (its rules require qualified agencies)"))
            continue
        if agency_id is None:
            share = allocating.allocate(UUID(case_id), bucket)
            if share is None:
                rows.rejected.append(_rejection(
                    account, "agency_id",
                    f"no agency named and no allocation rule for bucket {bucket}"
                    + (" with a qualified agency" if rules.require_qualified_agencies
                       else "")))
                continue
            agency_id = share.agency_id
            allocation = {"method": "rules", "rules_version": rules.version}
        term_end = account.term_end or (placed_on + timedelta(days=rules.default_term_days))
        if term_end < placed_on:
            rows.rejected.append(_rejection(account, "term_end",
                                            "placement term ends before the placement"))
            continue
        rows.to_open.append(_ToOpen(account, case_id, agency_id, bucket, term_end, allocation))
        rows.accepted.append({"index": account.index, "account_ref": account.account_ref,
                              "case_id": case_id, "outcome": "placed", "agency_id": agency_id,
                              "bucket": bucket})
    return rows


def _openings(app: CaseApplication, batch: PlacementBatch, rows: _Sorted, actor: str,
              zone: str, placed_on: date) -> list[Opening]:
    """The Placed facts of each account to open, its debtor's PII sealed under the debtor's
    data key. An erased debtor's account is rejected instead: their data is never taken
    again."""
    debtor_ids = [app.vault.debtor_id(batch.creditor_id, o.account.debtor.national_id)
                  for o in rows.to_open]
    keys = app.vault.ensure_keys(debtor_ids)
    openings: list[Opening] = []
    for opening, debtor_id in zip(rows.to_open, debtor_ids, strict=True):
        account = opening.account
        if debtor_id not in keys:
            rows.accepted = [a for a in rows.accepted if a["index"] != account.index]
            rows.rejected.append(_rejection(
                account, "debtor", "this debtor's personal data was erased on request; no "
                "account can be placed for them again"))
            continue
        debtor = account.debtor
        sealed = app.vault.seal(debtor_id, keys[debtor_id], {
            "name": debtor.name, "national_id": debtor.national_id,
            "phones": list(debtor.phones), "address": debtor.address, "email": debtor.email,
        })
        openings.append((opening.case_id, {  # Case(...)'s arguments, in its signature's order
            "creditor_id": batch.creditor_id, "account_ref": account.account_ref,
            "placement_ref": batch.placement_ref, "agency_id": opening.agency_id,
            "allocation": opening.allocation, "debtor_id": debtor_id, "debtor_pii": sealed,
            "debtor_timezone": debtor.timezone, "contact_points": len(debtor.phones),
            "currency": account.currency, "balances": account.balances, "dpd": account.dpd,
            "bucket": opening.bucket, "product": account.product,
            "placed_at": batch.received_at, "term_end": opening.term_end, "actor": actor,
            "creditor_timezone": zone,
            "delinquent_since": placed_on - timedelta(days=account.dpd),
        }))
    return openings


def _rejection(account: AccountInput, path: str, message: str) -> dict[str, Any]:
    return {"index": account.index, "account_ref": account.account_ref,
            "errors": [{"path": path, "message": message}]}
