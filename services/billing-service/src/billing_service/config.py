"""Typed settings of the billing service (prefix BILLING_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BillingSettings(BaseSettings):
    """Where the billing service keeps its read models, contracts and invoices."""

    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore",
                                      hide_input_in_errors=True)  # URLs and keys are secrets

    database_url: str = Field(default="sqlite:///var/billing.db",
                              description="the billing service's own database")
    create_schema: bool = True
    pdf_lines_shown: int = Field(default=30, ge=1, le=500,
                                 description="invoice lines listed one by one in the PDF; "
                                 "longer invoices list the first ones and a summary")
