"""Use case: every case of the log rebuilt from its stored events, for what is derived case by
case (the case list: `casetrail projections rebuild case-summaries`). The next page of events
is read in a thread while the current one is applied; each event is applied by the aggregate's
own handlers (`CaseLog.apply`: the fast path where it can, tested equal to the library's)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from case_service.adapters.case_list import CaseSummary, summarize
from case_service.adapters.eventstore import EventRow
from case_service.application.cases import CaseApplication
from case_service.domain.case import Case

REPLAY_PAGE = 20_000  # events per read when replaying every case


def replay_cases(app: CaseApplication, *, through: int | None = None,
                 part: tuple[int, int] = (0, 1), page: int | None = None
                 ) -> Iterator[tuple[int, list[tuple[Case, int]]]]:
    """Every case of the log through a position (default: the newest event now), rebuilt
    from its stored events as `get_case` rebuilds one, in case id order, one case in memory
    at a time.
    Per page of about `page` events: (events read, [(case, position of its opening
    event)]). Events stored after `through` are left out, so the result is the log as of
    that position even while the service keeps writing.

    `part` = (i, n) replays only the i-th of n equal ranges of case ids: n processes
    replaying one part each replay every case once."""
    through = app.last_position() if through is None else through
    page = page or REPLAY_PAGE
    index, parts = part
    if not 0 <= index < parts:
        raise ValueError(f"part {index} of {parts}")
    after: tuple[UUID, int] = (UUID(int=(index << 128) // parts), 0)
    before = UUID(int=((index + 1) << 128) // parts) if index + 1 < parts else None
    log = app.case_log
    carried: list[EventRow] = []
    with ThreadPoolExecutor(1, thread_name_prefix="replay-read") as reader:
        pending = reader.submit(log.case_rows, after, before, through, page)
        while True:
            fetched = pending.result()
            finished = len(fetched) < page
            if not finished:
                after = (fetched[-1][1], fetched[-1][2])
                pending = reader.submit(log.case_rows, after, before, through, page)
            rows = carried + fetched
            carried = []
            if not finished:  # the last case may go on in the next page: keep it
                cut = len(rows)
                while cut and rows[cut - 1][1] == rows[-1][1]:
                    cut -= 1
                rows, carried = rows[:cut], rows[cut:]
            cases: list[tuple[Case, int]] = []
            case: Case | None = None
            opened, current = 0, None
            for row in rows:
                if row[1] != current:
                    if case is not None:
                        cases.append((case, opened))
                    case, opened, current = None, row[0], row[1]
                case = log.apply(case, row)
            if case is not None:
                cases.append((case, opened))
            if rows:
                yield len(rows), cases
            if finished:
                return


def summaries_from_log(app: CaseApplication, *, through: int | None = None,
                       part: tuple[int, int] = (0, 1)
                       ) -> Iterator[tuple[int, list[tuple[CaseSummary, int]]]]:
    """The case list as the log implies it (`replay_cases`): per page, (events read,
    [(summary, position of the case's opening event)]). What the service writes beside
    each event must equal this: `casetrail projections rebuild case-summaries --verify`."""
    for read, cases in replay_cases(app, through=through, part=part):
        yield read, [(summarize(case), opened) for case, opened in cases]
