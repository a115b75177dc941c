"""Records people make (policy assignments, agency settings): appended with the instant they
take effect from, never retroactive, never edited.

A record never takes effect before it was made, so a verdict already given for an earlier
instant (a contact judged, a day read in a zone) never changes, live or in a rebuild that
reads the record later. A time a few seconds in the past is clock skew between the caller
and this service, and is taken as now.

Pure: no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

RETROACTIVE_GRACE = timedelta(seconds=5)  # clock skew between the caller and this service


class Retroactive(ValueError):
    """A record may not take effect before it was made."""


class RetroactiveAssignment(Retroactive):
    """A policy assignment may not take effect before it was made."""


class RetroactiveSetting(Retroactive):
    """An agency setting may not take effect before it was made."""


class AssignmentConflict(ValueError):
    """Another policy pack is assigned to the creditor from that very instant."""


class SettingConflict(ValueError):
    """Another zone is set for the agency from that very instant."""


def effective_start(requested: datetime | None, now: datetime, refusal: Retroactive
                    ) -> datetime:
    """The instant (UTC) a record made `now` takes effect from: `requested` (default now),
    never before now; `refusal` is raised when `requested` is further in the past than
    clock skew explains."""
    start = (requested or now).astimezone(UTC)
    if start < now - RETROACTIVE_GRACE:
        raise refusal
    return max(start, now)
