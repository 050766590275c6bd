"""GET with retries: timeouts, 5xx and 429 (honouring Retry-After) are retried with exponential backoff."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 120.0


class SourceUnavailable(Exception):
    """A source stayed down after every retry; `source` names it for the report."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


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
) -> httpx.Response:
    """GET `url`; raise SourceUnavailable(source, why) once retries are spent or on a non-retryable answer."""
    reason = "no attempt made"
    for attempt in range(retries + 1):
        delay = backoff_s * (2**attempt) * (0.75 + random.random() / 2)
        try:
            response = await client.get(url, params=params)
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
                raise SourceUnavailable(source, f"HTTP {status} for {response.request.url.path}")
        if attempt < retries:
            log.warning("%s: %s; retry %d/%d in %.1fs", source, reason, attempt + 1, retries, delay)
            await asyncio.sleep(delay)
    raise SourceUnavailable(source, f"{reason} after {retries + 1} attempts")
