"""A creditor's allocation rules: which agency gets an account with no agency named.

Rules map a DPD bucket to agencies with weights, so a creditor can split a bucket between a
champion and a challenger. The choice is a pure function of the case id, so the same account
always lands with the same agency and a split of many accounts follows the weights.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

from case_service.domain.values import DEFAULT_BUCKETS, BucketRange, bucket_for
from case_service.domain.workflows import ActionCode, ComplaintRules, SettlementLimits

# What a creditor does when a term runs out: recall the case, reallocate it by the bucket's
# weights, or by a scorecard of the bucket's agencies (champion/challenger).
RECALL, REALLOCATE, SCORECARD = "recall", "reallocate", "scorecard"
RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class AgencyShare:
    """One agency's weight within a bucket."""

    agency_id: str
    weight: int


@dataclass(frozen=True)
class ScorecardRule:
    """Champion/challenger rotation at a term's end: the bucket's agencies are ranked by
    recovery rate; the best (the champion) gets `champion_weight` of 100 of the cases whose
    term ends, the challengers share the rest equally."""

    champion_weight: int = 70

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"champion_weight": self.champion_weight}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ScorecardRule:
        """Rebuild the rule from its stored form (None: the defaults)."""
        return cls(champion_weight=int((data or {}).get("champion_weight", 70)))


@dataclass(frozen=True)
class AgencyScore:
    """What an agency's book of a creditor's bucket shows: the cases it holds, what they
    were placed for and what they still owe (one currency)."""

    agency_id: str
    cases: int
    placed: Decimal
    outstanding: Decimal

    @property
    def recovery_rate(self) -> Decimal | None:
        """(placed - outstanding) / placed, 4 places; None with nothing placed."""
        if self.placed <= 0:
            return None
        return ((self.placed - max(self.outstanding, Decimal(0))) / self.placed).quantize(
            RATE_PLACES)


def scorecard_shares(scores: list[AgencyScore], rule: ScorecardRule
                     ) -> tuple[tuple[AgencyShare, ...], list[dict[str, Any]]]:
    """The weights a scorecard gives (champion first) and the scorecard itself, one row per
    agency: its measures, rank, role and weight. Agencies without a measure rank last; ties
    go by agency id."""
    ranked = sorted(scores, key=lambda s: (s.recovery_rate is None,
                                           -(s.recovery_rate or Decimal(0)), s.agency_id))
    if not ranked:
        return (), []
    weights = [100] if len(ranked) == 1 else [rule.champion_weight]
    if len(ranked) > 1:
        rest, n = 100 - rule.champion_weight, len(ranked) - 1
        weights += [rest // n + (1 if i < rest % n else 0) for i in range(n)]
    card = [{"agency_id": s.agency_id, "rank": i + 1,
             "role": "champion" if i == 0 else "challenger", "weight": w, "cases": s.cases,
             "placed": str(s.placed), "outstanding": str(s.outstanding),
             "recovery_rate": None if s.recovery_rate is None else str(s.recovery_rate)}
            for i, (s, w) in enumerate(zip(ranked, weights, strict=True))]
    return tuple(AgencyShare(s.agency_id, w) for s, w in zip(ranked, weights, strict=True)
                 if w > 0), card


@dataclass(frozen=True)
class AllocationRules:
    """A version of a creditor's bucket scheme, agency split and default placement term."""

    version: int
    buckets: dict[str, tuple[AgencyShare, ...]] = field(default_factory=dict)
    bucket_scheme: tuple[BucketRange, ...] = DEFAULT_BUCKETS
    default_term_days: int = 365
    # The creditor's time zone (None: the service's default): the days of its placement
    # terms and of aging are days there.
    timezone: str | None = None
    # What happens when a placement term runs out: "recall" (the case comes back to the
    # creditor) or "reallocate" (to another agency of its bucket, by these weights).
    on_term_end: str = RECALL
    # How complaints are handled: step deadlines and the categories that hold contact.
    complaints: ComplaintRules = field(default_factory=ComplaintRules)
    # How far the creditor approves settlements, reductions and deferrals.
    settlement_limits: SettlementLimits = field(default_factory=SettlementLimits)
    # The action codes contacts must use (empty: any code, as before a catalogue was set).
    action_codes: tuple[ActionCode, ...] = ()
    # Provision rate per aging bucket (a fraction, e.g. 0.25), for the provisioning report.
    provision_rates: dict[str, Decimal] = field(default_factory=dict)
    # Cases go only to agencies the creditor qualified (approved, unexpired on the day):
    # placements, reassignments and reallocations at a term's end (false: any agency).
    require_qualified_agencies: bool = False
    # The rotation `on_term_end: "scorecard"` applies.
    scorecard: ScorecardRule = field(default_factory=ScorecardRule)

    def action_code_known(self, code: str) -> bool:
        """Whether a contact may use this code: any code without a catalogue."""
        return not self.action_codes or any(c.code == code for c in self.action_codes)

    def bucket(self, dpd: int) -> str | None:
        """The bucket for a DPD under this creditor's scheme."""
        return bucket_for(dpd, self.bucket_scheme)

    def allocate(self, case_id: UUID, bucket: str) -> AgencyShare | None:
        """Pick the agency for a case in a bucket; None if the bucket has no agencies."""
        shares = self.buckets.get(bucket, ())
        total = sum(s.weight for s in shares)
        if total <= 0:
            return None
        point = int.from_bytes(hashlib.sha256(case_id.bytes).digest()[:8], "big") % total
        for share in shares:
            if point < share.weight:
                return share
            point -= share.weight
        raise AssertionError("unreachable: point is below the total weight")

    def reallocate(self, case_id: UUID, bucket: str, leaving: str) -> AgencyShare | None:
        """The agency a case whose term ran out goes to under `on_term_end` "reallocate":
        one of its bucket's agencies other than the one it leaves, picked by weight as
        `allocate` picks (None: recall it instead)."""
        if self.on_term_end not in (REALLOCATE, SCORECARD):
            return None
        others = tuple(s for s in self.buckets.get(bucket, ()) if s.agency_id != leaving)
        return replace(self, buckets={bucket: others}).allocate(case_id, bucket)

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "version": self.version,
            "buckets": {b: [{"agency_id": s.agency_id, "weight": s.weight} for s in shares]
                        for b, shares in self.buckets.items()},
            "bucket_scheme": [{"name": r.name, "min_dpd": r.min_dpd, "max_dpd": r.max_dpd}
                              for r in self.bucket_scheme],
            "default_term_days": self.default_term_days,
            "timezone": self.timezone,
            "on_term_end": self.on_term_end,
            "complaints": self.complaints.to_json(),
            "settlement_limits": self.settlement_limits.to_json(),
            "action_codes": [c.to_json() for c in self.action_codes],
            "provision_rates": {b: str(r) for b, r in self.provision_rates.items()},
            "require_qualified_agencies": self.require_qualified_agencies,
            "scorecard": self.scorecard.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AllocationRules:
        """Rebuild rules from their stored form."""
        return cls(
            version=int(data["version"]),
            buckets={b: tuple(AgencyShare(s["agency_id"], int(s["weight"])) for s in shares)
                     for b, shares in data.get("buckets", {}).items()},
            bucket_scheme=tuple(BucketRange(r["name"], int(r["min_dpd"]), r.get("max_dpd"))
                                for r in data.get("bucket_scheme", [])) or DEFAULT_BUCKETS,
            default_term_days=int(data.get("default_term_days", 365)),
            timezone=data.get("timezone"),
            on_term_end=data.get("on_term_end", RECALL),
            complaints=ComplaintRules.from_json(data.get("complaints")),
            settlement_limits=SettlementLimits.from_json(data.get("settlement_limits")),
            action_codes=tuple(ActionCode(c["code"], c.get("label", ""))
                               for c in data.get("action_codes") or ()),
            provision_rates={b: Decimal(str(r))
                             for b, r in (data.get("provision_rates") or {}).items()},
            require_qualified_agencies=bool(data.get("require_qualified_agencies", False)),
            scorecard=ScorecardRule.from_json(data.get("scorecard")),
        )


NO_RULES = AllocationRules(version=0)
