"""Flood control for the Bot API: 30 messages/s overall and 1 message/s per chat, RetryAfter retried.

PTB's AIORateLimiter limits per chat only for groups (negative ids) and stops *every* chat on a RetryAfter;
the morning fan-out mostly goes to private chats, so this limiter spaces sends per chat for every chat id
and backs off only the chat that was told to wait. One instance is shared by every caller of the bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# Endpoints that post into a chat and count against the flood limits (reads such as getChatMember do not).
_PACED_PREFIXES = ("send", "edit", "copy", "forward")


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is an int before PTB 22.2 and may be a timedelta after; accept both."""
    value: Any = getattr(exc, "_retry_after", None) or exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class Pacer:
    """Hands out send slots at least `interval` apart; a slot is reserved before sleeping, so no lock."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_slot = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        self.next_slot = max(self.next_slot, time.monotonic() + seconds)


class ChatRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        overall_per_s: float = 30.0,
        per_chat_interval_s: float = 1.0,
        max_retries: int = 5,
        margin: float = 0.05,
    ) -> None:
        # A small margin: the server measures arrival times, which jitter around our send times.
        self.overall = Pacer((1.0 / overall_per_s) * (1 + margin)) if overall_per_s else None
        self.per_chat_interval_s = per_chat_interval_s * (1 + margin)
        self.max_retries = max_retries
        self.chats: dict[str, Pacer] = {}
        self.retries = 0  # RetryAfter answers received (the bench reports them)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _chat(self, chat_id: str) -> Pacer:
        if len(self.chats) > 4096:  # forget chats whose next slot is long past
            now = time.monotonic()
            self.chats = {k: p for k, p in self.chats.items() if p.next_slot > now}
        pacer = self.chats.get(chat_id)
        if pacer is None:
            pacer = self.chats[chat_id] = Pacer(self.per_chat_interval_s)
        return pacer

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        paced = chat_id is not None and endpoint.startswith(_PACED_PREFIXES)
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            if paced:
                await self._chat(str(chat_id)).wait()
                if self.overall is not None:
                    await self.overall.wait()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.retries += 1
                delay = retry_after_seconds(exc) + 0.1
                if attempt == retries:
                    raise
                log.info("flood control on %s: retrying in %.1f s", endpoint, delay)
                if paced:
                    self._chat(str(chat_id)).hold(delay)
                else:
                    await asyncio.sleep(delay)
        raise AssertionError("unreachable")
