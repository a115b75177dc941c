"""Use cases on debtors' personal data: a contact's number sealed under the debtor's key,
erasure on request (crypto-shredding, with every copy of the key purged from the database
files), and re-wrapping every key under a new master key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from casetrail.crypto import contact_point_ref, mask

from case_service.adapters.debtor_keys import KeyPurge, KeyPurgeIncomplete
from case_service.application.cases import CaseApplication
from case_service.application.errors import DebtorErased, UnknownDebtor
from case_service.domain.case import Case
from case_service.domain.values import ContactPoint

__all__ = ["Erasure", "KeyPurgeIncomplete", "contact_point", "erase_debtor",
           "rotate_master_key"]


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: whether it destroyed the key now (False: it was already), and
    how the copies were purged."""

    destroyed: bool
    purge: KeyPurge


def contact_point(app: CaseApplication, case: Case, number: str | None,
                  contact_id: str | None = None) -> ContactPoint | None:
    """Protect the number or address a contact used: sealed, referenced, masked. For an
    erased debtor, raises DebtorErased (a key is never re-created), unless the contact is
    already recorded (a retry: nothing will be stored)."""
    if number is None or (contact_id is not None and contact_id in case.contact_ids):
        return None
    key = app.vault.ensure_keys([case.debtor_id]).get(case.debtor_id)
    if key is None:
        raise DebtorErased(case.debtor_id)
    return ContactPoint(ref=contact_point_ref(app.vault.master, case.debtor_id, number),
                        hint=mask(number),
                        sealed=app.vault.seal(case.debtor_id, key, {"number": number}))


def erase_debtor(app: CaseApplication, debtor_id: str) -> Erasure:
    """Destroy a debtor's data key (their PII becomes unreadable everywhere, for good) and
    purge every copy of it from the database files; for a debtor erased before, purge again.
    Raises UnknownDebtor for an id that never had a key, KeyPurgeIncomplete when the purge
    could not finish in time (the key is destroyed all the same)."""
    destroyed = app.vault.erase(debtor_id)
    if app.vault.last_purge is None:
        raise UnknownDebtor(f"no data key for {debtor_id!r} (unknown debtor id)")
    return Erasure(destroyed=destroyed, purge=app.vault.last_purge)


def rotate_master_key(app: CaseApplication, progress: Callable[[int], None] | None = None
                      ) -> int:
    """Re-wrap every live data key under the current master key; returns how many."""
    return app.vault.rotate_master(progress)
