"""GET with retries: timeouts, 5xx and 429 (honouring Retry-After) are retried with exponential backoff.

Also the pacer for hosts that ask for a minimum interval between requests (arXiv).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 120.0


class SourceUnavailable(Exception):
    """A source stayed down after every retry; `source` names it for the report."""

    def __init__(self, source: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.status = status  # the HTTP status of a non-retryable answer (404 ...); None otherwise


class Pacer:
    """At most one request per interval from this process; share one instance per host.

    One lock per event loop: a process may run several loops in turn (the CLI, tests), and an asyncio.Lock
    that has been waited on belongs to the loop it was first waited on."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._last = float("-inf")
        self._clock = clock  # tests step these instead of racing the wall clock
        self._sleep = sleep

    async def wait(self, interval_s: float) -> None:
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with lock:
            pause = self._last + interval_s - self._clock()
            if pause > 0:
                await self._sleep(pause)
            self._last = self._clock()


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    source: str,
    params: Mapping[str, str | int] | None = None,
    retries: int = 4,
    backoff_s: float = 1.0,
    max_bytes: int | None = None,
    pace: Callable[[], Awaitable[None]] | None = None,
) -> httpx.Response:
    """GET `url`; raise SourceUnavailable(source, why) once retries are spent or on a non-retryable answer.

    With `max_bytes` the body is streamed and reading stops after `max_bytes + 1` bytes, so a caller can tell a
    body that was cut (longer than `max_bytes`) from one that fits, without holding an unbounded body.
    `pace` is awaited before every attempt, retries included (a Pacer's wait, for hosts that ask for one)."""
    reason = "no attempt made"
    for attempt in range(retries + 1):
        delay = backoff_s * (2**attempt) * (0.75 + random.random() / 2)
        if pace is not None:
            await pace()
        try:
            if max_bytes is None:
                response = await client.get(url, params=params)
            else:
                response = await _get_capped(client, url, params, max_bytes)
        except httpx.TimeoutException:
            reason = "timed out"
        except httpx.TransportError as exc:
            reason = f"connection failed ({type(exc).__name__})"
        else:
            status = response.status_code
            if status < 400:
                return response
            if status == 429 or status >= 500:
                reason = f"HTTP {status}"
                hinted = retry_after_seconds(response.headers.get("Retry-After"))
                if hinted is not None:
                    delay = min(hinted, MAX_RETRY_AFTER_S)
            else:
                raise SourceUnavailable(source, f"HTTP {status} for {response.request.url.path}", status)
        if attempt < retries:
            log.warning("%s: %s; retry %d/%d in %.1fs", source, reason, attempt + 1, retries, delay)
            await asyncio.sleep(delay)
    raise SourceUnavailable(source, f"{reason} after {retries + 1} attempts")


# Headers that describe the body as sent; the capped body is already decoded and maybe shorter.
_BODY_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


async def _get_capped(
    client: httpx.AsyncClient, url: str, params: Mapping[str, str | int] | None, max_bytes: int
) -> httpx.Response:
    chunks: list[bytes] = []
    size = 0
    async with client.stream("GET", url, params=params) as streamed:
        if streamed.status_code < 400:
            async for chunk in streamed.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    break
    headers = [(k, v) for k, v in streamed.headers.multi_items() if k.lower() not in _BODY_HEADERS]
    content = b"".join(chunks)[: max_bytes + 1]
    return httpx.Response(streamed.status_code, headers=headers, content=content, request=streamed.request)
