# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""Parties on documents: the legal details of creditors and agencies, as versioned records,
and what an invoice or credit note freezes of them.

A party record holds what a finance department needs on a commercial document: the legal
name (Chinese first, an English one optional), the registered address, the unified social
credit code (统一社会信用代码, GB 32100-2015, checked here), a bank account and a contact
email. An agency's record also states its payment terms (`payment_terms_days`, default 30):
the agency issues the documents, so its terms set their due date.

A record is never edited: a change is a new version. A document copies the versions in force
when it was issued into its content (so under its content hash); re-rendering it later shows
what it was issued with, whatever the parties changed since.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from billing_service.domain.errors import InvalidParty

CREDITOR, AGENCY = "creditor", "agency"
PARTY_KINDS = (CREDITOR, AGENCY)
DEFAULT_PAYMENT_TERMS_DAYS = 30
MAX_PAYMENT_TERMS_DAYS = 365

# GB 32100-2015: 18 characters from 31 (digits and capitals without I, O, S, V, Z); the
# 18th checks the first 17: weight 3^i mod 31 at position i, check = 31 - sum mod 31.
TAX_ID_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
TAX_ID_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
TAX_ID_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
ACCOUNT_NUMBER = re.compile(r"^[0-9A-Z]{6,34}$")
HAN = re.compile(r"[\u3400-\u9fff]")

# What anyone allowed to read another party's record sees: what its documents print for
# every reader (no bank account, no contact email).
PUBLIC_FIELDS = ("party_kind", "party_id", "version", "legal_name", "legal_name_en",
                 "registered_address", "tax_id", "payment_terms_days", "recorded_at")


def tax_id_check_character(first17: str) -> str:
    """The 18th character of a unified social credit code whose first 17 are given."""
    total = sum(TAX_ID_CHARSET.index(c) * w for c, w in zip(first17, TAX_ID_WEIGHTS,
                                                               strict=True))
    return TAX_ID_CHARSET[(31 - total % 31) % 31]


def check_tax_id(value: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015), upper-cased: 18
    characters of its alphabet, digits for the administrative division (3rd-8th), and the
    right check character; else InvalidParty."""
    code = value.strip().upper()
    if len(code) != 18:
        raise InvalidParty(f"a unified social credit code has 18 characters, not {len(code)}",
                           path="tax_id")
    if not TAX_ID_SHAPE.match(code):
        raise InvalidParty("a unified social credit code uses digits and capitals except I, "
                           "O, S, V and Z, with digits in the 3rd to 8th places (the "
                           "administrative division)", path="tax_id")
    expected = tax_id_check_character(code[:17])
    if code[17] != expected:
        raise InvalidParty(f"the check character of {code} is wrong: GB 32100-2015 gives "
                           f"{expected!r} for its first 17 characters", path="tax_id")
    return code


def check_email(value: str) -> str:
    """A plausible mailbox address (one @, a dotted domain), as given; else InvalidParty."""
    if not EMAIL.match(value) or len(value) > 254:
        raise InvalidParty("not an email address", path="contact_email")
    return value


def check_account_number(value: str) -> str:
    """A bank account number without its spaces: 6 to 34 digits or capitals."""
    number = re.sub(r"[\s-]", "", value).upper()
    if not ACCOUNT_NUMBER.match(number):
        raise InvalidParty("a bank account number has 6 to 34 digits (or capitals, for an "
                           "IBAN); spaces and hyphens are ignored",
                           path="bank_account.account_number")
    return number


def check_legal_name(value: str) -> str:
    """A legal name in Chinese (the name on the business licence): it has Han characters."""
    if not HAN.search(value):
        raise InvalidParty("the legal name is the Chinese one on the business licence "
                           "(e.g. 某某银行股份有限公司); give an English name as "
                           "legal_name_en", path="legal_name")
    return value


@dataclass(frozen=True)
class BankAccount:
    """Where a party is paid."""

    bank_name: str
    account_name: str
    account_number: str

    def to_json(self) -> dict[str, str]:
        """As stored and shown."""
        return {"bank_name": self.bank_name, "account_name": self.account_name,
                "account_number": self.account_number}


@dataclass(frozen=True)
class PartyDetails:
    """What one version of a party record says (without its number and stamps)."""

    legal_name: str
    registered_address: str
    tax_id: str
    bank_account: BankAccount
    contact_email: str
    legal_name_en: str | None = None
    payment_terms_days: int | None = None  # agencies only; None: the default

    def check(self, party_kind: str) -> PartyDetails:
        """Refuse details no version may hold (InvalidParty at the field); returns self,
        normalised (tax id upper case, account number without spaces)."""
        if party_kind not in PARTY_KINDS:
            raise InvalidParty(f"a party is a creditor or an agency, not {party_kind!r}",
                               path="party_kind")
        check_legal_name(self.legal_name)
        check_email(self.contact_email)
        if self.payment_terms_days is not None:
            if party_kind != AGENCY:
                raise InvalidParty("payment terms are the issuer's: only an agency record "
                                   "states them", path="payment_terms_days")
            if not 0 <= self.payment_terms_days <= MAX_PAYMENT_TERMS_DAYS:
                raise InvalidParty(f"payment terms are 0 to {MAX_PAYMENT_TERMS_DAYS} days",
                                   path="payment_terms_days")
        account = replace(self.bank_account,
                          account_number=check_account_number(self.bank_account.account_number))
        return replace(self, tax_id=check_tax_id(self.tax_id), bank_account=account)

    def to_json(self) -> dict[str, Any]:
        """As stored (canonical JSON) and shown."""
        return {"legal_name": self.legal_name, "legal_name_en": self.legal_name_en,
                "registered_address": self.registered_address, "tax_id": self.tax_id,
                "bank_account": self.bank_account.to_json(),
                "contact_email": self.contact_email,
                "payment_terms_days": self.payment_terms_days}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartyDetails:
        """From `to_json`'s form."""
        return cls(legal_name=data["legal_name"], legal_name_en=data.get("legal_name_en"),
                   registered_address=data["registered_address"], tax_id=data["tax_id"],
                   bank_account=BankAccount(**data["bank_account"]),
                   contact_email=data["contact_email"],
                   payment_terms_days=data.get("payment_terms_days"))


@dataclass(frozen=True)
class PartyVersion:
    """One recorded version of a party's record."""

    party_kind: str
    party_id: str
    version: int
    details: PartyDetails
    recorded_at: str
    actor: str

    def to_json(self) -> dict[str, Any]:
        """The full record (its owner, admins and auditors see this)."""
        return {"party_kind": self.party_kind, "party_id": self.party_id,
                "version": self.version, **self.details.to_json(),
                "recorded_at": self.recorded_at, "actor": self.actor}

    def public_json(self) -> dict[str, Any]:
        """What another tenant may see: no bank account, no contact email."""
        full = self.to_json()
        return {key: full[key] for key in PUBLIC_FIELDS}

    def on_document(self) -> dict[str, Any]:
        """What a document freezes of this version: the details and which version they are
        (not who recorded it, nor when)."""
        return {"party_kind": self.party_kind, "party_id": self.party_id,
                "version": self.version, **self.details.to_json()}


def payment_terms_days(issuer: PartyVersion | None) -> int:
    """The days a document gives its payer: the issuing agency's terms, else 30."""
    if issuer is None or issuer.details.payment_terms_days is None:
        return DEFAULT_PAYMENT_TERMS_DAYS
    return issuer.details.payment_terms_days


def document_parties(issuer: PartyVersion | None, billed: PartyVersion | None,
                     number: str, *, credit: bool) -> dict[str, Any]:
    """The parties and payment part of a document's content (hashed): the issuer (the
    agency) and the billed party (the creditor) as recorded (null if not recorded), and who
    pays whom. An invoice is paid by the creditor into the agency's account; a credit note
    is paid back by the agency into the creditor's. The payer quotes the document number."""
    payee = billed if credit else issuer
    return {
        "parties": {"issuer": None if issuer is None else issuer.on_document(),
                    "billed": None if billed is None else billed.on_document()},
        "payment": {"terms_days": payment_terms_days(issuer),
                    "payer": AGENCY if credit else CREDITOR,
                    "payee": CREDITOR if credit else AGENCY,
                    "pay_to": None if payee is None else payee.details.bank_account.to_json(),
                    "reference": number},
    }


def due_date(issue_date: date, content: dict[str, Any]) -> date | None:
    """The day a document is due: its issue date plus the payment terms it states (None
    for a document issued before documents stated parties and terms)."""
    payment = content.get("payment")
    if payment is None:
        return None
    return issue_date + timedelta(days=int(payment["terms_days"]))


def payment_instructions(content: dict[str, Any], due: date | None) -> str | None:
    """The payment instructions a document prints (Chinese, then English), from what it
    froze; None for a document issued before documents stated them."""
    payment = content.get("payment")
    if payment is None or due is None:
        return None
    amount = f"{content['currency']} {content['totals']['total'].lstrip('-')}"
    reference = payment["reference"]
    pay_to = payment["pay_to"]
    payer_words = {CREDITOR: ("付款方", "the billed party"), AGENCY: ("开票方", "the issuer")}
    payee_words = {CREDITOR: ("付款方", "the billed party's"), AGENCY: ("开票方", "the issuer's")}
    payer_zh, payer_en = payer_words[payment["payer"]]
    payee_zh, payee_en = payee_words[payment["payee"]]
    if pay_to is None:
        account_zh = f"{payee_zh}账户（银行账户未登记，请联系{payee_zh}）"
        account_en = f"{payee_en} account (not registered: ask for it)"
    else:
        account_zh = (f"开户行 {pay_to['bank_name']}，户名 {pay_to['account_name']}，"
                      f"账号 {pay_to['account_number']}")
        account_en = (f"{pay_to['bank_name']}, account name {pay_to['account_name']}, "
                      f"account number {pay_to['account_number']}")
    return (f"请{payer_zh}于 {due.isoformat()} 前将 {amount} 汇至：{account_zh}。"
            f"汇款时请在附言中注明单据号码 {reference}。\n"
            f"Please pay {amount} by {due.isoformat()} ({payment['terms_days']} days after "
            f"issue) to {account_en}; {payer_en} quotes {reference} as the payment reference.")
