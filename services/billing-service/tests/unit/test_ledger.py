"""The commission ledger and run selection, on hand-made facts (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from billing_service.domain.contracts import ContractTerms, ContractVersion, RateTier
from billing_service.domain.invoice import Period, select_lines
from billing_service.domain.ledger import (
    Assignment,
    CaseFacts,
    LedgerLine,
    PaymentFact,
    ReversalFact,
    case_ledger,
    payment_entry,
)

D = Decimal


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def contract(rate: str = "0.18", tail_days: int = 0, **terms: object) -> list[ContractVersion]:
    """A one-version contract; UTC days unless `timezone` says otherwise (these tests do UTC
    arithmetic: a payment at 23:00 UTC is on that UTC day)."""
    fields: dict[str, object] = {"effective_from": date(2026, 1, 1), "currency": "CNY",
                                 "rates": {"M2": D(rate)}, "tail_days": tail_days,
                                 "timezone": "UTC", **terms}
    return [ContractVersion("BANK", "AG-A", 1, ContractTerms(**fields),  # type: ignore[arg-type]
                            "2026-01-01T00:00:00+00:00", "test")]


def case(*facts: PaymentFact | ReversalFact, assignments: tuple[Assignment, ...] | None = None
         ) -> CaseFacts:
    return CaseFacts(
        case_id="c1", creditor_id="BANK", account_ref="ACC-1", bucket="M2", currency="CNY",
        placed_amount=D("10000"), placed_at=at("2026-01-05", 9),
        assignments=assignments or (Assignment(1, "AG-A", at("2026-01-05", 9),
                                               date(2026, 1, 31)),),
        payments=tuple(f for f in facts if isinstance(f, PaymentFact)),
        reversals=tuple(f for f in facts if isinstance(f, ReversalFact)))


positions = iter(range(1, 10_000))


def paid(reference: str, amount: str, day: str, *, source: str = "agency", hour: int = 10,
         agency: str = "AG-A") -> PaymentFact:
    return PaymentFact(reference, D(amount), source, at(day, hour), agency, next(positions))


def reversed_(reference: str, amount: str, day: str) -> ReversalFact:
    n = next(positions)
    return ReversalFact(f"ev-{n}", reference, D(amount), "bounced", at(day, 12), n)


def summary(lines: list[LedgerLine]) -> list[tuple[str | None, str, str, bool]]:
    return [(line.reference, str(line.amount), str(line.commission), line.commissionable)
            for line in lines]


def test_without_a_tail_the_last_term_day_pays_and_the_next_day_does_not() -> None:
    lines = case_ledger(case(paid("LAST", "100.00", "2026-01-31", hour=23),
                             paid("NEXT", "100.00", "2026-02-01", hour=0)), "AG-A", contract())
    # 100 x 0.18 = 18.00 on the last day of the term; nothing the day after
    assert summary(lines) == [("LAST", "100.00", "18.00", True), ("NEXT", "100.00", "0.00", False)]
    assert lines[1].explanation == ("outside the placement term + tail: term end on 2026-01-31, "
                                    "tail of 0 days ended 2026-01-31")


def test_money_on_the_day_of_a_recall_still_counts_for_that_day() -> None:
    recalled = (Assignment(1, "AG-A", at("2026-01-05", 9), date(2026, 3, 31),
                           ended_at=at("2026-01-20", 8), end_reason="recalled"),)
    lines = case_ledger(case(paid("SAME-DAY", "100.00", "2026-01-20", hour=15),
                             paid("DAY-AFTER", "100.00", "2026-01-21"),
                             assignments=recalled), "AG-A", contract())
    assert summary(lines) == [("SAME-DAY", "100.00", "18.00", True),
                              ("DAY-AFTER", "100.00", "0.00", False)]
    assert lines[0].explanation == "on the day of the recall (2026-01-20)"


def test_money_received_before_the_placement_is_not_the_agencys() -> None:
    lines = case_ledger(case(paid("EARLY", "100.00", "2026-01-04")), "AG-A", contract())
    assert summary(lines) == [("EARLY", "100.00", "0.00", False)]
    assert lines[0].explanation == ("not this agency's case at the time: received 2026-01-04, "
                                    "before the case was placed with AG-A on 2026-01-05")


def test_partial_reversals_claw_back_exactly_the_commission_billed() -> None:
    lines = case_ledger(case(paid("P", "100.10", "2026-01-10"),
                             reversed_("P", "50.05", "2026-01-11"),
                             reversed_("P", "50.05", "2026-01-12")),
                        "AG-A", contract(rate="0.125"))
    # payment: 100.10 x 0.125 = 12.5125 -> 12.51
    # first half back: 50.05 x 0.125 = 6.25625 -> -6.26
    # second half completes the reversal: what is left, 12.51 - 6.26 = -6.25 (not -6.26)
    assert [str(line.commission) for line in lines] == ["12.51", "-6.26", "-6.25"]
    assert sum(line.commission for line in lines) == 0
    assert [str(line.commission_unrounded) for line in lines] == [
        "12.51250", "-6.25625", "-6.25625"]


def test_a_reversal_of_tiered_money_leaves_from_the_top_slice() -> None:
    tiers = {"M2": (RateTier(D("1000"), D("0.20")), RateTier(None, D("0.10")))}
    lines = case_ledger(case(paid("P", "1500.00", "2026-01-10"),
                             reversed_("P", "600.00", "2026-01-11"),
                             paid("Q", "200.00", "2026-01-12")),
                        "AG-A", contract(tiers=tiers))
    # P: 1000 x 0.20 + 500 x 0.10 = 250.00
    # reverse 600: the top 500 at 10 % and 100 at 20 %: -(50 + 20) = -70.00
    # Q: recovered is back to 900: 100 x 0.20 + 100 x 0.10 = 30.00
    assert [str(line.commission) for line in lines] == ["250.00", "-70.00", "30.00"]
    assert lines[1].rule == ("clawback at tier 1 of M2 (20%) on 100.00 + "
                             "tier 2 of M2 (10%) on 500.00")


def test_a_billed_line_stands_as_billed_and_its_clawback_uses_the_billed_rate() -> None:
    payment = paid("P", "1000.00", "2026-01-10")
    billed_at_20 = case_ledger(case(payment), "AG-A", contract(rate="0.20"))[0]
    lines = case_ledger(case(payment, reversed_("P", "1000.00", "2026-02-01")), "AG-A",
                        contract(rate="0.18"), {billed_at_20.entry: billed_at_20})
    assert [str(line.commission) for line in lines] == ["200.00", "-200.00"]


def test_a_run_bills_a_reversal_only_with_or_after_its_payment() -> None:
    ledger = case_ledger(case(paid("P1", "100.00", "2026-01-10"),
                              paid("P2", "100.00", "2026-02-03"),
                              reversed_("P1", "100.00", "2026-02-01"),
                              reversed_("P2", "100.00", "2026-01-30")),  # a skewed clock
                         "AG-A", contract(tail_days=30))
    january = select_lines(ledger, set(), Period(date(2026, 1, 1), date(2026, 1, 31)))
    assert [(s.line.reference, s.line.kind) for s in january] == [("P1", "payment")]
    invoiced = {s.line.entry for s in january}
    february = select_lines(ledger, invoiced, Period(date(2026, 2, 1), date(2026, 2, 28)))
    assert [(s.line.reference, s.line.kind, s.earlier_credit) for s in february] == [
        ("P2", "payment", False), ("P1", "reversal", True), ("P2", "reversal", False)]
    assert payment_entry("c1", "P1") in invoiced


def test_a_payment_s_day_is_its_day_in_the_contract_s_zone() -> None:
    # 2026-01-31 23:00 UTC is 2026-02-01 07:00 in Beijing.
    payment = paid("P", "100.00", "2026-01-31", hour=23)
    [beijing] = case_ledger(case(payment), "AG-A", contract(timezone="Asia/Shanghai"))
    [utc] = case_ledger(case(payment), "AG-A", contract())
    assert (beijing.occurred_on, utc.occurred_on) == (date(2026, 2, 1), date(2026, 1, 31))
    assert beijing.occurred_at == utc.occurred_at == "2026-01-31T23:00:00+00:00"
    january, february = (Period(date(2026, 1, 1), date(2026, 1, 31)),
                         Period(date(2026, 2, 1), date(2026, 2, 28)))
    assert select_lines([beijing], set(), january) == []
    assert [s.line.reference for s in select_lines([beijing], set(), february)] == ["P"]
    assert [s.line.reference for s in select_lines([utc], set(), january)] == ["P"]


def test_the_last_term_day_and_the_version_in_force_are_days_in_the_contract_s_zone() -> None:
    versions = [*contract(timezone="Asia/Shanghai"),
                ContractVersion("BANK", "AG-A", 2, ContractTerms(
                    effective_from=date(2026, 1, 20), currency="CNY", rates={"M2": D("0.20")},
                    timezone="Asia/Shanghai"), "2026-01-01T00:00:00+00:00", "test")]
    lines = case_ledger(case(paid("ON-20TH", "100.00", "2026-01-19", hour=17),
                             paid("LAST-DAY", "100.00", "2026-01-31", hour=15),
                             paid("DAY-AFTER", "100.00", "2026-01-31", hour=16)),
                        "AG-A", versions)
    # 01-19 17:00 UTC is 01-20 in Beijing: version 2 (20 %); 01-31 15:00 UTC is still the
    # term's last day there (23:00); 16:00 UTC is 02-01 00:00 there, after the term.
    assert [(line.reference, line.occurred_on, line.contract_version, str(line.commission))
            for line in lines] == [
        ("ON-20TH", date(2026, 1, 20), 2, "20.00"),
        ("LAST-DAY", date(2026, 1, 31), 2, "20.00"),
        ("DAY-AFTER", date(2026, 2, 1), 2, "0.00")]


def test_a_recall_s_day_is_its_day_in_the_contract_s_zone() -> None:
    # Recalled 2026-01-20 17:00 UTC: 01-21 01:00 in Beijing, so money on 01-21 there still
    # counts (the day of the recall), and 01-22 there does not (no tail).
    recalled = (Assignment(1, "AG-A", at("2026-01-05", 9), date(2026, 3, 31),
                           ended_at=at("2026-01-20", 17), end_reason="recalled"),)
    lines = case_ledger(case(paid("SAME-DAY", "100.00", "2026-01-21", hour=10),
                             paid("NEXT-DAY", "100.00", "2026-01-21", hour=16),
                             assignments=recalled), "AG-A", contract(timezone="Asia/Shanghai"))
    assert summary(lines) == [("SAME-DAY", "100.00", "18.00", True),
                              ("NEXT-DAY", "100.00", "0.00", False)]
    assert lines[0].explanation == "on the day of the recall (2026-01-21)"
