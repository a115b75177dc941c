"""Fixtures for the shared library's unit tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_casetrail_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read CASETRAIL_* variables: tests must not see the developer's own."""
    for name in list(os.environ):
        if name.upper().startswith("CASETRAIL_"):
            monkeypatch.delenv(name)
