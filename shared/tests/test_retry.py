"""casetrail.retry: bounded attempts on named exceptions, the last one raised as it was."""

from __future__ import annotations

import asyncio

import pytest
from casetrail.retry import retrying, retrying_async


class Lost(Exception):
    pass


def test_a_block_is_tried_again_until_it_succeeds() -> None:
    calls = []
    for attempt in retrying(3, on=Lost):
        with attempt:
            calls.append(1)
            if len(calls) < 3:
                raise Lost
    assert len(calls) == 3


def attempts(times: int, failure: Exception, calls: list[int]) -> None:
    for attempt in retrying(times, on=Lost):
        with attempt:
            calls.append(1)
            raise failure


def test_the_last_exception_is_raised_as_it_was_after_the_last_attempt() -> None:
    calls: list[int] = []
    with pytest.raises(Lost):
        attempts(2, Lost(), calls)
    assert len(calls) == 2


def test_other_exceptions_are_not_retried() -> None:
    calls: list[int] = []
    with pytest.raises(ValueError, match="no"):
        attempts(5, ValueError("no"), calls)
    assert len(calls) == 1


def test_a_predicate_decides_what_is_retried_and_async_blocks_wait() -> None:
    calls: list[int] = []

    async def run() -> None:
        async for attempt in retrying_async(4, on=lambda e: "again" in str(e),
                                            backoff=(0.001, 0.002)):
            with attempt:
                calls.append(1)
                if len(calls) < 4:
                    raise RuntimeError("again")

    asyncio.run(run())
    assert len(calls) == 4


def test_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least one"):
        retrying(0, on=Lost)
