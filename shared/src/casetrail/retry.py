"""The one way casetrail retries: a bounded number of attempts on named exceptions, then the
last exception is raised as it was (tenacity underneath).

    for attempt in retrying(3, on=IntegrityError):
        with attempt:
            store(...)

    async for attempt in retrying_async(20, on=is_transient, backoff=(0.2, 5.0)):
        with attempt:
            await apply(...)

`on` is an exception type (or tuple of them), or a predicate on the exception; `backoff` is
(first wait, longest wait) in seconds, doubling in between (none: retry at once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_none,
)

RetryOn = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]


def _policy(times: int, on: RetryOn, backoff: tuple[float, float] | None) -> dict[str, Any]:
    if times < 1:
        raise ValueError("at least one attempt")
    condition = (retry_if_exception_type(on) if isinstance(on, type | tuple)
                 else retry_if_exception(on))
    wait = (wait_none() if backoff is None
            else wait_exponential(multiplier=backoff[0], min=backoff[0], max=backoff[1]))
    return {"stop": stop_after_attempt(times), "retry": condition, "wait": wait,
            "reraise": True}


def retrying(times: int, *, on: RetryOn, backoff: tuple[float, float] | None = None
             ) -> Retrying:
    """Up to `times` attempts of a block, again only after an exception `on` matches."""
    return Retrying(**_policy(times, on, backoff))


def retrying_async(times: int, *, on: RetryOn, backoff: tuple[float, float] | None = None,
                   sleep: Callable[[float], Awaitable[Any]] | None = None) -> AsyncRetrying:
    """`retrying` for `async for`: waits without blocking the event loop (with `sleep`, e.g.
    one that ends early when the worker is asked to stop; default asyncio.sleep)."""
    if sleep is None:
        return AsyncRetrying(**_policy(times, on, backoff))
    return AsyncRetrying(sleep=sleep, **_policy(times, on, backoff))
