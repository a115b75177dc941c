"""Response bodies of the creditor reports beside schemas.py: the provisioning report."""

from __future__ import annotations

from pydantic import Field

from case_service.entrypoints.schemas import Out


class ProvisionRowOut(Out):
    """One aging bucket's line: its cases, what they owed, the rate and the provision."""

    bucket: str
    cases: int
    outstanding: str = Field(description="what those cases owed at the end of as_of "
                             "(a credit balance counts as 0)", examples=["1020.50"])
    rate: str | None = Field(description="the bucket's provision rate, a fraction from 0 to "
                             "1; null: the rules give none, and the line provisions 0",
                             examples=["0.25"])
    provision: str = Field(description="outstanding x rate, rounded half-up to the "
                           "currency's minor unit", examples=["255.13"])


class ProvisionTotalsOut(Out):
    """The sums of a set of lines, and the coverage ratio."""

    cases: int
    outstanding: str
    provision: str = Field(description="the sum of the rounded lines")
    coverage_ratio: str | None = Field(description="provision / outstanding, 4 places; "
                                       "null when nothing is owed")


class ProvisionAgencyOut(ProvisionTotalsOut):
    """The part of a currency's book one holder had at the end of as_of (`creditor`: no
    agency held the case, as after a recall), with its lines (buckets it had cases in)."""

    agency_id: str
    rows: list[ProvisionRowOut]


class ProvisionCurrencyOut(Out):
    """The book in one currency: every bucket's line in bucket order, totals, by holder."""

    currency: str
    rows: list[ProvisionRowOut]
    totals: ProvisionTotalsOut
    by_agency: list[ProvisionAgencyOut]


class ProvisioningOut(Out):
    """A creditor's bad-debt provision (计提坏账准备金) at the end of a day of its calendar."""

    creditor_id: str
    as_of: str = Field(description="the day (the creditor's, in `timezone`) whose end the "
                       "balances and buckets are taken at")
    timezone: str
    rules_version: int = Field(description="the version of the creditor's rules whose "
                               "rates and bucket scheme were used: those in force at "
                               "`rules_in_force_at` (0: no rules were stored by then)")
    rules_in_force_at: str = Field(description="the end of as_of, or now for a day not over "
                                   "yet: the rules in force then were used")
    bucket_order: list[str] = Field(description="best to worst")
    unrated_buckets: list[str] = Field(description="buckets (other than `paid`) the rules "
                                       "give no rate: they provision 0")
    rates_without_bucket: list[str] = Field(description="rates the rules give to names that "
                                            "are no bucket of the scheme (unused)")
    closed_left_out: dict[str, int] = Field(description="cases left out because they were "
                                            "closed by then as paid in full, settled or "
                                            "written off (uncollectible), by reason")
    currencies: list[ProvisionCurrencyOut]
