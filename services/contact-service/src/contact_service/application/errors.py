"""Errors the contact service's use cases raise besides the domain's: what the caller may not
see or do, and requests the data cannot answer yet."""

from __future__ import annotations


class Forbidden(Exception):
    """The caller's key may not do this."""


class CaseNotFound(LookupError):
    """No such case visible to the caller's key (the same answer as no such case)."""

    def __init__(self, case_id: str):
        super().__init__(f"no case {case_id} visible to this key")


class SampleNotFound(LookupError):
    """No such QA sample visible to the caller's key."""

    def __init__(self, sample_id: str):
        super().__init__(f"no QA sample {sample_id} visible to this key")


class ProjectionBehind(Exception):
    """The contact log has not yet reached the case version the caller asked for: retry."""

    def __init__(self, current_version: int, min_version: int):
        super().__init__(f"the contact log has case version {current_version}, not yet "
                         f"{min_version}; retry shortly")
        self.current_version = current_version


class VersionTooFarAhead(ValueError):
    """A case version further ahead of the projected case than the log could ever be behind:
    it did not come from the case service, and waiting for it would never end."""

    def __init__(self, min_version: int, current_version: int, most_ahead: int):
        super().__init__(f"min_version {min_version} is more than {most_ahead} versions ahead "
                         f"of the case's version {current_version}: it cannot come from the "
                         "case service")
        self.current_version = current_version


class AgencyRequired(ValueError):
    """The request is about one agency, and the caller's key names none."""


class PeriodOutOfOrder(ValueError):
    """A period whose start is not before its end."""


class InvalidMonthQuery(ValueError):
    """A `month` query parameter that is not a `YYYY-MM` month (the collector scores)."""
