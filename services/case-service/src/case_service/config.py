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
    max_body_bytes: int = 64 * 1024 * 1024
