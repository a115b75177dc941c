"""Typed settings of the case service (prefix CASE_; DATABASE_URL also works)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
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
        "collections.bank.example/case-log, and never change it afterwards")
    deadline_poll_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="how often `casetrail deadlines` looks for "
        "what fell due (a deadline is recorded as of when it fell due, whenever it is found)")
    max_body_bytes: int | None = Field(
        default=None, description="overrides CASETRAIL_MAX_BODY_BYTES for this service only "
        "(kept for deployments that set it; every service has the same limit by default)")
