"""Per-collector figures: QA scores (average 2 places half-up) and collector KPIs."""

from __future__ import annotations

from decimal import Decimal

from contact_service.domain.collectors import (
    CollectorContact,
    CollectorVisit,
    ReviewFact,
    average,
    collector_kpis,
    collector_scores,
    scores_csv,
)


def test_the_average_is_rounded_half_up_to_two_places() -> None:
    assert average([80] * 7 + [81]) == Decimal("80.13")  # 80.125: half-up, not half-even
    assert average([80, 81, 81]) == Decimal("80.67")
    assert average([100]) == Decimal("100.00")
    assert average([]) is None


def test_reviews_are_grouped_by_their_collector_with_none_last() -> None:
    per, total = collector_scores([
        ReviewFact("r3", None, 100, False), ReviewFact("r2", "b", 40, True),
        ReviewFact("r1", "a", 90, False), ReviewFact("r4", "a", 81, True)])
    assert [(s.collector_id, s.reviews, s.average_score, s.min_score, s.serious_findings,
             s.review_ids) for s in per] == [
        ("a", 2, Decimal("85.50"), 81, 1, ("r1", "r4")),
        ("b", 1, Decimal("40.00"), 40, 1, ("r2",)),
        (None, 1, Decimal("100.00"), 100, 0, ("r3",))]
    assert (total.reviews, total.average_score, total.min_score, total.serious_findings) == (
        4, Decimal("77.75"), 40, 2)


def test_no_reviews_give_no_average() -> None:
    per, total = collector_scores([])
    assert per == []
    assert total.as_dict() == {"collector_id": None, "reviews": 0, "average_score": None,
                               "min_score": None, "serious_findings": 0, "review_ids": []}


def test_the_scores_csv_ends_with_the_total() -> None:
    per, total = collector_scores([ReviewFact("r1", "a", 90, False),
                                   ReviewFact("r2", "a", 70, True)])
    text = scores_csv({"collectors": [s.as_dict() for s in per], "total": total.as_dict()})
    assert text.splitlines() == [
        "collector_id,reviews,average_score,min_score,serious_findings,review_ids",
        "a,2,80.00,70,1,r1 r2", "total,2,80.00,70,1,r1 r2"]


def test_collector_kpis_count_contacts_right_party_contacts_and_visits() -> None:
    found = collector_kpis(
        [CollectorContact("e1", "a", "debtor", "PTP"), CollectorContact("e2", "a", "none", "NA"),
         CollectorContact("e2", "a", "none", "NA"),  # the same contact twice: once
         CollectorContact("e3", None, "third_party", "TP")],
        [CollectorVisit("c/V1", "v"), CollectorVisit("c/V2", "a")])
    assert [(c["collector_id"], c["contacts"], c["right_party_contacts"],
             c["visits_performed"]) for c in found["collectors"]] == [
        ("a", 2, 1, 1), ("v", 0, 0, 1), (None, 1, 0, 0)]
    assert found["total"]["contacts"] == 3
    assert found["total"]["visits_performed"] == 2
    assert [a["action_code"] for a in found["total"]["action_codes"]] == ["NA", "PTP", "TP"]
