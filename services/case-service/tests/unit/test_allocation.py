"""Allocation rules: DPD buckets and the deterministic, weighted choice of an agency."""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from case_service.domain.allocation import (
    NO_RULES,
    AgencyScore,
    AgencyShare,
    AllocationRules,
    ScorecardRule,
    scorecard_shares,
)
from case_service.domain.case import case_id_for
from case_service.domain.values import DEFAULT_BUCKETS, BucketRange, bucket_for

CHAMPION_CHALLENGER = AllocationRules(
    version=3,
    buckets={
        "M1": (AgencyShare("AG-A", 70), AgencyShare("AG-B", 30)),
        "M2": (AgencyShare("AG-C", 1),),
        "M3": (AgencyShare("AG-A", 0), AgencyShare("AG-D", 5)),
        "M4+": (AgencyShare("AG-X", 0),),
    },
    default_term_days=180,
)


@pytest.mark.parametrize(("dpd", "bucket"), [
    (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (61, "M3"), (90, "M3"), (91, "M4+"),
    (10_000, "M4+"),
])
def test_default_buckets_follow_days_past_due(dpd: int, bucket: str) -> None:
    assert bucket_for(dpd) == bucket
    assert NO_RULES.bucket(dpd) == bucket


@pytest.mark.parametrize("dpd", [0, -1])
def test_an_account_not_yet_past_due_has_no_bucket(dpd: int) -> None:
    assert bucket_for(dpd) is None


def test_a_creditor_scheme_with_gaps_leaves_uncovered_dpd_without_a_bucket() -> None:
    scheme = (BucketRange("early", 1, 15), BucketRange("late", 60, None))
    rules = AllocationRules(version=1, bucket_scheme=scheme)
    assert rules.bucket(15) == "early"
    assert rules.bucket(16) is None
    assert rules.bucket(59) is None
    assert rules.bucket(60) == "late"
    assert rules.bucket(5000) == "late"


def test_the_same_case_always_goes_to_the_same_agency() -> None:
    case_id = case_id_for("BANK1", "ACC-42")
    choices = {CHAMPION_CHALLENGER.allocate(case_id, "M1") for _ in range(20)}
    assert len(choices) == 1
    rebuilt = AllocationRules.from_json(CHAMPION_CHALLENGER.to_json())
    assert rebuilt.allocate(case_id, "M1") == CHAMPION_CHALLENGER.allocate(case_id, "M1")


def test_a_bucket_with_one_agency_always_picks_it() -> None:
    for n in range(50):
        share = CHAMPION_CHALLENGER.allocate(case_id_for("BANK1", f"ACC-{n}"), "M2")
        assert share == AgencyShare("AG-C", 1)


def test_an_agency_with_zero_weight_is_never_picked() -> None:
    picked = {CHAMPION_CHALLENGER.allocate(case_id_for("BANK1", f"ACC-{n}"), "M3")
              for n in range(200)}
    assert picked == {AgencyShare("AG-D", 5)}


@pytest.mark.parametrize("bucket", ["M4+", "M9", ""])
def test_a_bucket_without_weighted_agencies_allocates_nobody(bucket: str) -> None:
    assert CHAMPION_CHALLENGER.allocate(uuid4(), bucket) is None


def test_no_rules_allocate_nobody() -> None:
    assert NO_RULES.version == 0
    assert NO_RULES.allocate(uuid4(), "M1") is None
    assert NO_RULES.default_term_days == 365


def test_a_split_of_many_accounts_follows_the_weights() -> None:
    counts = Counter(
        share.agency_id
        for n in range(4000)
        if (share := CHAMPION_CHALLENGER.allocate(case_id_for("BANK1", f"ACC-{n}"), "M1"))
    )
    assert sum(counts.values()) == 4000
    assert set(counts) == {"AG-A", "AG-B"}
    assert 0.65 < counts["AG-A"] / 4000 < 0.75


def test_allocation_depends_only_on_the_case_id_not_on_share_objects() -> None:
    twin = AllocationRules(version=99, buckets={
        "M1": (AgencyShare("AG-A", 70), AgencyShare("AG-B", 30))})
    for n in range(100):
        case_id = UUID(int=n * 7919)
        assert twin.allocate(case_id, "M1") == CHAMPION_CHALLENGER.allocate(case_id, "M1")


def test_rules_survive_their_stored_form() -> None:
    rules = dataclasses.replace(
        CHAMPION_CHALLENGER,
        bucket_scheme=(BucketRange("B1", 1, 45), BucketRange("B2", 46, None)),
    )
    stored = rules.to_json()
    assert stored["bucket_scheme"][1] == {"name": "B2", "min_dpd": 46, "max_dpd": None}
    assert stored["buckets"]["M1"] == [{"agency_id": "AG-A", "weight": 70},
                                       {"agency_id": "AG-B", "weight": 30}]
    assert AllocationRules.from_json(stored) == rules


def test_stored_rules_without_scheme_or_term_use_the_defaults() -> None:
    rules = AllocationRules.from_json({"version": "2", "buckets": {
        "M1": [{"agency_id": "AG-A", "weight": "3"}]}})
    assert rules.version == 2
    assert rules.bucket_scheme == DEFAULT_BUCKETS
    assert rules.default_term_days == 365
    assert rules.buckets["M1"] == (AgencyShare("AG-A", 3),)


def test_an_empty_stored_scheme_falls_back_to_the_default_buckets() -> None:
    rules = AllocationRules.from_json({"version": 1, "bucket_scheme": []})
    assert rules.bucket_scheme == DEFAULT_BUCKETS


def test_rules_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CHAMPION_CHALLENGER.version = 4  # type: ignore[misc]


def test_a_scorecard_ranks_by_recovery_and_weights_champion_and_challengers() -> None:
    scores = [AgencyScore("AG-C", 3, Decimal("3000"), Decimal("2700")),
              AgencyScore("AG-A", 0, Decimal(0), Decimal(0)),
              AgencyScore("AG-B", 2, Decimal("2000"), Decimal("1000")),
              AgencyScore("AG-D", 1, Decimal("1000"), Decimal("900"))]
    shares, card = scorecard_shares(scores, ScorecardRule(champion_weight=70))
    assert [(s.agency_id, s.weight) for s in shares] == [
        ("AG-B", 70), ("AG-C", 10), ("AG-D", 10), ("AG-A", 10)]
    assert [(r["agency_id"], r["rank"], r["role"], r["recovery_rate"]) for r in card] == [
        ("AG-B", 1, "champion", "0.5000"), ("AG-C", 2, "challenger", "0.1000"),
        ("AG-D", 3, "challenger", "0.1000"), ("AG-A", 4, "challenger", None)]
    only, _ = scorecard_shares(scores[:1], ScorecardRule(champion_weight=60))
    assert [(s.agency_id, s.weight) for s in only] == [("AG-C", 100)]
    assert scorecard_shares([], ScorecardRule()) == ((), [])
    uneven, _ = scorecard_shares(scores[:3], ScorecardRule(champion_weight=99))
    assert [s.weight for s in uneven] == [99, 1]  # a zero weight takes no cases
