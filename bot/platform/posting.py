"""What the morning delivery needs from a chat platform, and the errors it understands.

Each adapter implements `Poster`; bot/delivery drives it through the ledger and never looks at a platform's
own exceptions: adapters translate theirs into the classes below. What to do about a failing chat (count it,
unsubscribe it, move it) is decided by bot/delivery alone; a poster only says what happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
    """The chat has a new id (a group upgraded to a supergroup): move the subscription and post there."""

    retryable = True

    def __init__(self, message: str, new_chat_id: str) -> None:
        super().__init__(message)
        self.new_chat_id = new_chat_id


class Superseded(Exception):
    """Raised by an `on_progress` callback when this sender no longer holds the chat's ledger claim (it was paused
    past the claim's expiry and another sender took over): the poster stops at once and the other one finishes.
    Deliberately not a DeliveryError, so no adapter swallows or retries it."""


@dataclass(frozen=True)
class PostProgress:
    """How far one chat's morning post got: the first `done` messages of the post, in the order the poster sends
    them, are out (accepted by the platform, or given up on by the poster), and `first_id` is the id of message 1
    (the parent or header the rest of the post hangs on).

    The order is fixed by the digest: the same digest always gives the same sequence of messages, so a later
    sender can skip the first `done` of them and send only the rest."""

    done: int = 0
    first_id: str | None = None

    def __post_init__(self) -> None:
        if self.done < 0 or (self.done > 0 and not self.first_id):
            raise ValueError(f"inconsistent post progress: {self}")


OnProgress = Callable[[PostProgress], Awaitable[None]]


class Poster(Protocol):
    platform: Platform

    async def post_digest(
        self,
        chat_id: str,
        digest: Digest,
        *,
        resume: PostProgress | None = None,
        on_progress: OnProgress | None = None,
    ) -> str:
        """Post the whole morning digest to one chat; return the id of the first (parent/header) message.

        `resume`: skip the messages a previous attempt already got out (`resume.done` of them) and hang the rest
        on `resume.first_id`. `on_progress`: awaited after each message, with the progress so far, before the
        next one is sent (the delivery records it in the ledger; it raises Superseded to stop the post).

        Honours the platform's rate limits itself, falls back to a shorter or plain form rather than lose
        the post, and raises a DeliveryError subclass when the chat cannot get it now."""
        ...
