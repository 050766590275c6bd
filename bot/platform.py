"""What the morning delivery needs from a chat platform, and the errors it understands.

Slack and Telegram each implement `Poster`; bot/delivery drives them through the ledger and never
looks at platform-specific exceptions: adapters translate theirs into the classes below.
"""

from __future__ import annotations

from typing import Protocol

from digest.models import Digest
from digest.store.base import Platform


class DeliveryError(Exception):
    """A post failed. `retryable`: try again later (with backoff); otherwise the chat itself is the problem."""

    retryable = True


class RetryLater(DeliveryError):
    """Flood control or a passing outage; `retry_after_s` when the platform said how long to wait."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ChatUnreachable(DeliveryError):
    """Blocked, kicked, archived, not found, token revoked for this chat: repeated ones unsubscribe the chat."""

    retryable = False


class ChatMoved(DeliveryError):
    """The chat has a new id (Telegram group -> supergroup): move the subscription and post there."""

    retryable = True

    def __init__(self, message: str, new_chat_id: str) -> None:
        super().__init__(message)
        self.new_chat_id = new_chat_id


class Poster(Protocol):
    platform: Platform

    async def post_digest(self, chat_id: str, digest: Digest) -> str:
        """Post the whole morning digest to one chat; return the id of the first (parent/header) message.

        Honours the platform's rate limits itself, falls back to a shorter or plain form rather than lose
        the post, and raises a DeliveryError subclass when the chat cannot get it now."""
        ...
