"""Request bodies and parameters of the billing API. Field paths in 422s come from these
models; the value rules themselves are the domain's (`billing_service.domain.contracts`)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from casetrail.clock import check_zone
from casetrail.money import PLAIN_DECIMAL_PATTERN, MoneyError, check_currency
from casetrail.web import EARLIEST_DAY, IDENTIFIER_PATTERN, LATEST_DAY, Day, Identifier
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from billing_service.domain.contracts import (
    MAX_TAIL_DAYS,
    ContractTerms,
    RateTier,
    check_amount,
    check_bucket,
    check_money,
    check_rate,
    check_stage,
    check_tiers,
)
from billing_service.domain.errors import InvalidPeriod
from billing_service.domain.invoice import Period
from billing_service.domain.parties import (
    MAX_PAYMENT_TERMS_DAYS,
    BankAccount,
    PartyDetails,
    check_account_number,
    check_email,
    check_legal_name,
    check_tax_id,
)

ID_PATTERN = IDENTIFIER_PATTERN
TenantId = Identifier
Bucket = Annotated[str, AfterValidator(check_bucket)]
Stage = Annotated[str, AfterValidator(check_stage)]  # one of STAGES
DECIMAL_TEXT = {"type": "string", "pattern": PLAIN_DECIMAL_PATTERN}
Rate = Annotated[Decimal, BeforeValidator(check_rate), WithJsonSchema(
    {**DECIMAL_TEXT, "description": "a fraction from 0 to 1 as a decimal string: \"0.18\""})]
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def check_currency_code(code: str) -> str:
    """A supported ISO 4217 code, upper case (else ValueError, a 422 naming the field)."""
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


_currency = check_currency_code


def _optional_amount(value: object) -> Decimal | None:
    return None if value is None else check_amount(value)


def _optional_zone(value: str | None) -> str | None:
    return None if value is None else check_zone(value)


TimeZone = Annotated[Annotated[str, Field(max_length=64)] | None,
                     AfterValidator(_optional_zone), Field(
    examples=["Asia/Shanghai", "UTC"],
    description="an IANA time zone name; default: the service's (CASETRAIL_DEFAULT_TIMEZONE)")]


class Model(BaseModel):
    """Strict about unknown fields, so typos are reported rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TierIn(Model):
    """One marginal bracket over the case's cumulative recovered amount."""

    up_to: Annotated[Decimal | None, BeforeValidator(_optional_amount), WithJsonSchema(
        {"anyOf": [DECIMAL_TEXT, {"type": "null"}]})] = Field(
        description="upper limit of cumulative recovered money; null for the last tier")
    rate: Rate


def _tiers(tiers: list[TierIn]) -> list[TierIn]:
    check_tiers([RateTier(t.up_to, t.rate) for t in tiers])
    return tiers


class ContractIn(Model):
    """A new contract version for a creditor-agency pair."""

    effective_from: Day = Field(description="the first day this version is in force")
    currency: Annotated[str, AfterValidator(_currency)] = "CNY"
    tiers: dict[Bucket, Annotated[list[TierIn], AfterValidator(_tiers)]] = Field(
        default_factory=dict, description="marginal tiers per bucket, instead of its flat rate",
        examples=[{"M3": [{"up_to": "10000", "rate": "0.20"}, {"up_to": None, "rate": "0.15"}]}])
    stage_fees: dict[Stage, Annotated[Decimal, BeforeValidator(check_amount),
                                      WithJsonSchema(DECIMAL_TEXT)]] = Field(
        default_factory=dict, description=(
            "a law firm's fixed fee per litigation stage (filed, hearing, judgment, "
            "enforcement), billed once per stage it records on a case; a contract may state "
            "stage fees only"),
        examples=[{"filed": "800.00", "judgment": "1200.00", "enforcement": "500.00"}])
    rates: dict[Bucket, Rate] = Field(
        default_factory=dict, description="rate per bucket, as decimal strings",
        examples=[{"M1": "0.12", "M2": "0.18", "M3": "0.25", "M4+": "0.35"}])
    tail_days: StrictInt = Field(default=0, ge=0, le=MAX_TAIL_DAYS, description=(
        "days after the term end (or an earlier recall) in which payments still earn "
        "commission"))
    creditor_direct_commissionable: StrictBool = True
    minimum_fee: Annotated[Decimal, BeforeValidator(check_amount),
                           WithJsonSchema(DECIMAL_TEXT)] = Field(
        default=Decimal(0), description="per invoice; a lower subtotal is topped up")
    tax_rate: Rate = Field(default=Decimal(0), description="e.g. \"0.06\" for 6% VAT")
    timezone: TimeZone = Field(default=None, description=(
        "the IANA time zone the contract's days are counted in (a payment's billing day, "
        "invoice periods); every version of a pair states the same one. Omitted: the "
        "service's default zone (CASETRAIL_DEFAULT_TIMEZONE), written into the version. "
        "UTC days are a choice: \"UTC\""), examples=["Asia/Shanghai"])

    @field_validator("rates")
    @classmethod
    def _some_bucket(cls, rates: dict[str, Decimal], info: ValidationInfo
                     ) -> dict[str, Decimal]:
        if not rates and not info.data.get("tiers") and not info.data.get("stage_fees"):
            raise ValueError("give a rate (or tiers) for at least one bucket, or stage_fees")
        return rates

    @field_validator("stage_fees")
    @classmethod
    def _stage_fees_in_currency(cls, fees: dict[str, Decimal], info: ValidationInfo
                                ) -> dict[str, Decimal]:
        if "currency" in info.data:
            for fee in fees.values():
                check_money(fee, info.data["currency"])
        return fees

    @field_validator("minimum_fee")
    @classmethod
    def _fee_in_currency(cls, fee: Decimal, info: ValidationInfo) -> Decimal:
        if "currency" in info.data:
            check_money(fee, info.data["currency"])
        return fee

    @field_validator("tiers")
    @classmethod
    def _limits_in_currency(cls, tiers: dict[str, list[TierIn]], info: ValidationInfo
                            ) -> dict[str, list[TierIn]]:
        if "currency" in info.data:
            for bucket_tiers in tiers.values():
                for tier in bucket_tiers:
                    if tier.up_to is not None:
                        check_money(tier.up_to, info.data["currency"])
        return tiers

    def to_terms(self, default_timezone: str) -> ContractTerms:
        """The domain's terms (in `default_timezone` unless the body states a zone)."""
        return ContractTerms(
            effective_from=self.effective_from, currency=self.currency, rates=self.rates,
            tiers={b: tuple(RateTier(t.up_to, t.rate) for t in tiers)
                   for b, tiers in self.tiers.items()},
            tail_days=self.tail_days,
            creditor_direct_commissionable=self.creditor_direct_commissionable,
            minimum_fee=self.minimum_fee, tax_rate=self.tax_rate,
            timezone=self.timezone or default_timezone, stage_fees=self.stage_fees)


class BillingRunIn(Model):
    """Bill a creditor-agency pair for a period of whole days in the contract's time zone,
    both ends included. Only a period that has ended there is billed (422
    `period_not_ended` before; a preview is allowed). A period that has not begun yet has
    nothing to bill and is refused (422 `period_not_begun`): it would stand in the way of
    every run of the periods before it. Both are judged by the service's clock."""

    creditor_id: TenantId
    agency_id: TenantId
    period_start: Day = Field(description="the first day (included); begun in the contract's "
                              "zone")
    period_end: Day = Field(description="the last day of the period (included); a run needs "
                            "it to have ended in the contract's zone")

    @field_validator("period_end")
    @classmethod
    def _ends_after_start(cls, end: date, info: ValidationInfo) -> date:
        if "period_start" in info.data:
            Period(info.data["period_start"], end).check()
        return end

    @property
    def period(self) -> Period:
        """The period as the domain knows it."""
        return Period(self.period_start, self.period_end)


class BankAccountIn(Model):
    """Where the party is paid (an agency: invoices; a creditor: credit notes)."""

    bank_name: str = Field(min_length=1, max_length=120, examples=["中国工商银行北京分行营业部"])
    account_name: str = Field(min_length=1, max_length=200, examples=["某某资产管理有限公司"])
    account_number: Annotated[str, Field(min_length=1, max_length=64),
                              AfterValidator(check_account_number)] = Field(
        description="6 to 34 digits (or capitals); spaces and hyphens are dropped",
        examples=["0200 0011 0900 0123 456"])


class PartyIn(Model):
    """A new version of a creditor's or agency's legal details (every field, every time)."""

    legal_name: Annotated[str, Field(min_length=1, max_length=200),
                          AfterValidator(check_legal_name)] = Field(
        description="the Chinese legal name on the business licence",
        examples=["某某银行股份有限公司"])
    legal_name_en: str | None = Field(default=None, min_length=1, max_length=200,
                                      examples=["Mouzhou Bank Co., Ltd."])
    registered_address: str = Field(min_length=1, max_length=300,
                                    examples=["北京市西城区金融大街 1 号"])
    tax_id: Annotated[str, Field(min_length=1, max_length=32),
                      AfterValidator(check_tax_id)] = Field(
        description="统一社会信用代码: 18 characters, check character per GB 32100-2015",
        examples=["91350100M000100Y43"])
    bank_account: BankAccountIn
    contact_email: Annotated[str, Field(min_length=3, max_length=254),
                             AfterValidator(check_email)] = Field(
        examples=["finance@example.com"])
    payment_terms_days: StrictInt | None = Field(
        default=None, ge=0, le=MAX_PAYMENT_TERMS_DAYS, description=(
            "agencies only: the days between a document's issue date and its due date "
            "(omitted: 30)"))
    expected_version: StrictInt | None = Field(default=None, ge=0, description=(
        "the version the writer read (0: none yet); a record that has moved on since is "
        "409 `party_version_conflict`. Not stored"))

    def to_details(self) -> PartyDetails:
        """The domain's details."""
        account = self.bank_account
        return PartyDetails(
            legal_name=self.legal_name, legal_name_en=self.legal_name_en,
            registered_address=self.registered_address, tax_id=self.tax_id,
            bank_account=BankAccount(account.bank_name, account.account_name,
                                     account.account_number),
            contact_email=self.contact_email, payment_terms_days=self.payment_terms_days)


def month_period(month: str | None, start: date | None, end: date | None) -> Period:
    """A report period from `period=YYYY-MM` or `from`/`to` days (both included)."""
    if month is not None:
        if start is not None or end is not None:
            raise InvalidPeriod("give either period=YYYY-MM or from/to, not both",
                                path="period")
        found = MONTH.match(month)
        if found is None:
            raise InvalidPeriod(f"{month!r} is not a month like 2026-01", path="period")
        year, number = int(found.group(1)), int(found.group(2))
        if not EARLIEST_DAY.year <= year <= LATEST_DAY.year:
            raise InvalidPeriod(f"{month!r} is outside {EARLIEST_DAY.year}-{LATEST_DAY.year}",
                                path="period")
        following = date(year + number // 12, number % 12 + 1, 1)
        return Period(date(year, number, 1), following - timedelta(days=1))
    if start is None or end is None:
        raise InvalidPeriod("give period=YYYY-MM, or both from and to", path="period")
    return Period(start, end).check()


# ---------------------------------------------------------------------------------- answers


class Out(BaseModel):
    """An answer; fields may be added over time, so clients should ignore unknown ones."""

    model_config = ConfigDict(extra="allow")


class PartyOut(Out):
    """One version of a party's record: in full for its owner, admins and auditors; the
    public part (no bank_account, contact_email, actor) for another tenant."""

    party_kind: str
    party_id: str
    version: int
    legal_name: str
    legal_name_en: str | None
    registered_address: str
    tax_id: str
    payment_terms_days: int | None
    recorded_at: str
    bank_account: dict[str, str] | None = None
    contact_email: str | None = None
    actor: str | None = None


class PartyVersionsOut(Out):
    """Every version of a party's record, oldest first."""

    party_kind: str
    party_id: str
    versions: list[PartyOut]


class ContractVersionOut(Out):
    """One version of a pair's contract, as recorded."""

    creditor_id: str
    agency_id: str
    version: int
    effective_from: str
    currency: str
    rates: dict[str, str]
    tiers: dict[str, list[dict[str, str | None]]]
    tail_days: int
    creditor_direct_commissionable: bool
    minimum_fee: str
    tax_rate: str
    timezone: str = Field(description="the IANA zone the contract's days are counted in "
                          "(\"UTC\" for versions recorded before contracts stated one)")
    stage_fees: dict[str, str] = Field(default_factory=dict, description=(
        "a law firm's fixed fee per litigation stage (empty: none)"))
    recorded_at: str
    actor: str


class ContractOut(Out):
    """Every version of a pair's contract, oldest first."""

    creditor_id: str
    agency_id: str
    versions: list[ContractVersionOut]


class PortionOut(Out):
    """The slice of a line's amount earned at one rate."""

    amount: str
    rate: str
    rule: str


class InvoiceLineOut(Out):
    """A payment, a reversal (a credit), a law firm's litigation stage fee (`stage_fee`) or
    the minimum-fee top-up billed on the invoice, and why at that rate; what a line is not
    about is null (the top-up has no case)."""

    line_no: int
    entry: str
    kind: str
    amount: str
    commissionable: bool
    commission: str
    explanation: str
    case_id: str | None = None
    position: int | None = None
    account_ref: str | None = None
    bucket: str | None = None
    reference: str | None = None
    source: str | None = None
    occurred_at: str | None = None
    occurred_on: str | None = None
    rate: str | None = None
    portions: list[PortionOut] | None = None
    commission_unrounded: str | None = None
    rule: str | None = None
    contract_version: int | None = None
    stage: str | None = Field(default=None, description=(
        "a `stage_fee` line's litigation stage (filed, hearing, judgment, enforcement); "
        "absent from other lines"))
    docket_no: str | None = Field(default=None, description=(
        "a `stage_fee` line's court docket number, if the law firm recorded one"))


class InvoiceTermsOut(Out):
    """The contract terms the invoice applied."""

    contract_version: int | None
    minimum_fee: str
    tax_rate: str
    tax_label: str


class InvoiceTotalsOut(Out):
    """Counts and sums of the invoice."""

    payments: int
    reversals: int
    stage_fee_lines: int | None = Field(default=None, description=(
        "litigation stage-fee lines billed (absent when none)"))
    stage_fees: str | None = Field(default=None, description=(
        "their sum, part of the subtotal like commission (absent when none)"))
    subtotal: str
    tax: str
    total: str


class InvoiceContentOut(Out):
    """What an invoice or credit note says (what its content hash covers)."""

    document_type: str | None = Field(default=None, description=(
        "`invoice`, or `credit_note` when the period's lines net to a credit (absent only "
        "from the recomputed content of a document issued before documents stated it)"))
    timezone: str | None = Field(default=None, description=(
        "the zone of the document's days (period, line days): the contract's"))
    invoice_number: str
    creditor_id: str
    agency_id: str
    currency: str
    period_start: str
    period_end: str
    period_end_inclusive: bool
    terms: InvoiceTermsOut
    lines: list[InvoiceLineOut]
    totals: InvoiceTotalsOut
    parties: dict[str, dict[str, Any] | None] | None = Field(default=None, description=(
        "`issuer` (the agency) and `billed` (the creditor): the party record versions the "
        "document was issued with (null: not recorded then); absent from documents issued "
        "before parties were recorded"))
    payment: dict[str, Any] | None = Field(default=None, description=(
        "terms_days, payer, payee, pay_to (the payee's bank account as recorded) and the "
        "reference to quote"))


class DataAsOfOut(Out):
    """How far the data went when the invoice was issued."""

    position: int | None
    contract_version: int | None


class InvoiceOut(InvoiceContentOut):
    """An issued invoice or credit note: its content, content hash and issue facts."""

    document_type: str = Field(description="`invoice` or `credit_note` (a document issued "
                               "before documents stated it is an invoice)")
    timezone: str = Field(description="the zone of the document's days (\"UTC\" for a "
                          "document issued before documents stated it)")
    invoice_id: str
    content_hash: str
    issued_at: str
    issue_date: str = Field(description="the day issued_at falls on in the document's zone")
    due_date: str | None = Field(default=None, description=(
        "issue_date plus the payment terms the document froze (null: issued before "
        "documents stated parties and terms)"))
    payment_instructions: str | None = Field(default=None, description=(
        "who pays whom, into which account, by when, quoting the document number (Chinese, "
        "then English)"))
    issued_by: str
    data_as_of: DataAsOfOut


class PreviewOut(Out):
    """A run recomputed without storing it, compared with the stored invoice if any."""

    invoice_id: str
    stored: bool
    timezone: str = Field(description="the zone of the period's days: the contract's")
    period_ends_at: str = Field(description="the instant the period's last day ends there "
                                "(UTC): a run is refused before it")
    provisional: bool = Field(description="true while the period has not ended: what it "
                              "shows may still change, and a run would be refused")
    content_hash: str
    stored_hash: str | None
    matches: bool | None = Field(description="null when the period was never invoiced")
    stored_content_intact: bool | None = None
    content: InvoiceContentOut


class InvoiceSummaryOut(Out):
    """An invoice or credit note in the list."""

    invoice_id: str
    document_type: str
    creditor_id: str
    agency_id: str
    seq: int
    period_start: str
    period_end: str
    currency: str
    subtotal: str
    tax: str
    total: str
    content_hash: str
    issued_at: str
    issued_by: str


class InvoicePage(Out):
    """A page of invoices; pass `next_after` as `after` for the next one."""

    invoices: list[InvoiceSummaryOut]
    next_after: str | None


class PeriodOut(Out):
    """A report period, both days included."""

    from_: str = Field(alias="from")
    to: str


class PerformanceOut(Out):
    """An agency's figures over the placements it received in the period."""

    agency_id: str
    creditor_id: str | None
    period: PeriodOut
    as_of: str
    timezone: str = Field(description="the zone of the period's days and of as_of")
    currency: str | None = None
    by_bucket: list[dict[str, Any]] | None = None
    by_vintage: list[dict[str, Any]] | None = None


class ComparisonOut(Out):
    """A creditor's agencies side by side; the best recovery rate is the champion."""

    creditor_id: str
    period: PeriodOut
    as_of: str
    timezone: str = Field(description="the zone of the period's days and of as_of")
    currency: str | None
    champion: str | None
    agencies: list[dict[str, Any]]
