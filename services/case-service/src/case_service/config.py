"""Typed settings of the case service (prefix CASE_; DATABASE_URL also works)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CaseSettings(BaseSettings):
    """Where the case service stores events and how it takes placements."""

    model_config = SettingsConfigDict(env_prefix="CASE_", extra="ignore", populate_by_name=True,
                                      hide_input_in_errors=True)  # URLs and keys are secrets

    database_url: str = Field(
        default="sqlite:///var/case.db",
        validation_alias=AliasChoices("CASE_DATABASE_URL", "DATABASE_URL"),
    )
    create_schema: bool = Field(
        default=True, description="create tables at start-up; production runs `casetrail "
        "migrate case` once instead and sets this false")
    audit_origin: str = Field(
        default="casetrail.example/case-log", pattern=r"^[^\s+\x00-\x1f]+$",
        description="the log's name in its signed checkpoint notes (origin line and key "
        "name; no spaces or '+'): set a name of your own, e.g. "
        "collections.bank.example/case-log, and never change it afterwards; with "
        "CASE_SHARD it defaults to casetrail.example/case-log/<shard>")
    shard: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
        description="the name of this case log among several (creditors split into shards, "
        "docs/scaling.md), e.g. shard-1: carried in every published event so consumers keep "
        "positions per log, and the last segment of the audit origin; unset: the single log")
    billing_url: str | None = Field(
        default=None, description="the billing service's base URL: settlement certificates "
        "print the creditor's and the agency's legal details from its party records (read "
        "with the caller's key); unset: they print the ids only")
    group_commit: bool = Field(
        default=True, description="concurrent commands of one process share one transaction "
        "(one table lock, one fsync; each keeps its own answer); false: one transaction per "
        "command (docs/case-service.md)")
    deadline_poll_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="how often `casetrail deadlines` looks for "
        "what fell due (a deadline is recorded as of when it fell due, whenever it is found)")
    max_body_bytes: int | None = Field(
        default=None, description="overrides CASETRAIL_MAX_BODY_BYTES for this service only "
        "(kept for deployments that set it; every service has the same limit by default)")

    @model_validator(mode="after")
    def _origin_names_the_shard(self) -> CaseSettings:
        """A shard's checkpoints name it: the default origin gains `/<shard>`, and an origin
        set by hand must end with it (two shards never sign under one name)."""
        if self.shard is None:
            return self
        suffix = f"/{self.shard}"
        if "audit_origin" not in self.model_fields_set:
            self.audit_origin += suffix
        elif not self.audit_origin.endswith(suffix):
            raise ValueError(f"audit_origin must end with {suffix!r} on shard {self.shard!r}")
        return self
