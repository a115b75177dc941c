"""Typed settings of the contact service (prefix CONTACT_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKS_DIR = Path(__file__).parent / "policy_packs"


class ContactSettings(BaseSettings):
    """Where the contact service keeps its read models and which contact rules apply."""

    model_config = SettingsConfigDict(env_prefix="CONTACT_", extra="ignore",
                                      hide_input_in_errors=True)  # URLs and keys are secrets

    database_url: str = Field(default="sqlite:///var/contact.db",
                              description="the contact service's own database")
    create_schema: bool = Field(default=True, description=(
        "bring the database to the newest migration at start-up (the embedded default); "
        "false where `casetrail migrate contact` runs first (a migration Job)"))
    policy_packs_dir: Path = PACKS_DIR
    default_policy_pack: str = Field(default="tender-0800-2100",
                                     description="pack for creditors without an assignment")
