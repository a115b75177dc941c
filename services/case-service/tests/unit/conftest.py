"""Fixtures for the pure unit tests of the case domain: no database, no network, no clock.

Tests run with `--import-mode=importlib`, so helpers shared between test files live here as
fixtures rather than as importable functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import reduce
from typing import Any

import pytest
from case_service.domain.case import Case

CREDITOR = "BANK1"
ACCOUNT = "ACC-1"
AGENCY = "AG-A"
ACTOR = "agency:AG-A:k1"
PLACED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
TERM_END = date(2026, 3, 3)


def _placement(**overrides: Any) -> dict[str, Any]:
    """The keyword arguments of a valid placement; 1020.50 CNY outstanding, bucket M2."""
    kwargs: dict[str, Any] = {
        "creditor_id": CREDITOR,
        "account_ref": ACCOUNT,
        "placement_ref": "P-1",
        "agency_id": AGENCY,
        "allocation": {"rules_version": 1, "bucket": "M2", "chosen": "named"},
        "debtor_id": "debtor-1",
        "debtor_pii": "pii1:opaque",
        "debtor_timezone": "Asia/Shanghai",
        "contact_points": 2,
        "currency": "CNY",
        "balances": {"principal": Decimal("1000.00"), "interest": Decimal("20.50")},
        "dpd": 45,
        "bucket": "M2",
        "product": "card",
        "placed_at": PLACED_AT,
        "term_end": TERM_END,
        "actor": "creditor:BANK1:k9",
        "creditor_timezone": "UTC",
        "delinquent_since": None,  # derived: the placement day less the DPD
    }
    kwargs.update(overrides)
    return kwargs


@pytest.fixture(scope="session")
def make_case() -> Callable[..., Case]:
    """`make_case(account_ref="ACC-2", balances=...)`: place a case; its Placed event is pending."""

    def factory(**overrides: Any) -> Case:
        return Case(**_placement(**overrides))

    return factory


@pytest.fixture
def case(make_case: Callable[..., Case]) -> Case:
    """A freshly placed case, 1020.50 CNY with agency AG-A; its Placed event is pending."""
    return make_case()


@pytest.fixture(scope="session")
def replay() -> Callable[[Sequence[Any]], Case]:
    """Rebuild an aggregate from its events alone, as the event store does."""

    def rebuild(events: Sequence[Any]) -> Case:
        aggregate: Case = reduce(lambda agg, e: e.mutate(agg), events, None)
        return aggregate

    return rebuild


@pytest.fixture(scope="session")
def state_of() -> Callable[[Case], dict[str, Any]]:
    """Everything an aggregate holds, except the events still waiting to be collected."""

    def state(aggregate: Case) -> dict[str, Any]:
        return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}

    return state
