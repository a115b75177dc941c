"""Typed settings of the console (prefix CONSOLE_)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """Where the console keeps its sessions, where the three services answer, and how long a
    sign-in lasts."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore",
                                      populate_by_name=True,
                                      hide_input_in_errors=True)  # URLs may hold secrets

    environment: Literal["development", "production"] = Field(
        default="development", validation_alias=AliasChoices("CONSOLE_ENV", "CASETRAIL_ENV"),
        description="production: cookies are always Secure")
    database_url: str = Field(default="sqlite:///var/console.db",
                              description="the console's own database (sessions only)")
    create_schema: bool = True
    case_url: str = Field(default="http://127.0.0.1:8000", description="the case service")
    contact_url: str = Field(default="http://127.0.0.1:8001", description="the contact service")
    billing_url: str = Field(default="http://127.0.0.1:8002", description="the billing service")
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60,
                                      description="a session ends after this long unused")
    session_absolute_hours: float = Field(default=12, gt=0, le=7 * 24,
                                          description="and this long after sign-in, whatever")
    secure_cookies: bool | None = Field(
        default=None, description="mark cookies Secure; default: yes unless the console is "
        "reached on a loopback address in development")
    default_language: str = Field(default="zh", pattern=r"^(zh|en)$")
    api_timeout_seconds: float = Field(default=30, gt=0, le=300)
    page_size: int = Field(default=50, ge=1, le=500, description="rows per page of a list")
