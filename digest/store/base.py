"""The Store: small protocols by concern, composed into one; two backends (Redis, embedded SQLite) implement it.

A caller that touches one concern types its store as that protocol (the brief cache: DigestStore; the full-text
cache: FullTextStore; the LLM budget: SpendStore; the leader lock: DeliveryLedger), which says what it touches
and lets a test stand in with a small double. Every backend passes the same contract tests (tests/test_store_contract.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from digest.fulltext.model import Entry as FullTextEntry
from digest.models import Brief, Digest, Lang

# A chat platform's name: a plain string here, checked against the registry of chat adapters where
# it comes in (settings, the command line), so the core names no platform and a new one needs no change here.
Platform = str
DeliveryStatus = Literal["claimed", "sent", "failed"]
SPEND_KEEP_DAYS = 3  # how long a day's LLM spend is kept (a build may run a little after its day ends)
RETENTION_DAYS = 30  # default: ledger rows, their counts and once-keys live this long after their last change

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class StoreUnavailable(Exception):
    """The backend cannot be reached right now; callers answer "temporarily unavailable" and try again later."""


class Subscription(BaseModel):
    """A chat that gets the morning post. None means "the deployment's default" (DIGEST_POST_TIME etc.)."""

    platform: Platform
    chat_id: str
    lang: Lang = "ko"
    post_time: time | None = None
    timezone: str | None = None
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])  # Monday = 0
    topics: list[str] = Field(default_factory=list)
    team_id: str | None = None  # the workspace the chat belongs to, on platforms that have them
    created_by: str | None = None
    created_at: datetime | None = None
    failures: int = 0  # consecutive delivery failures that point at the chat itself (blocked, kicked, archived)


class Delivery(BaseModel):
    """One row of the delivery ledger: (platform, chat, day)."""

    platform: Platform
    chat_id: str
    day: date
    status: DeliveryStatus
    owner: str | None = None
    message_id: str | None = None  # the post's first message (the parent or header), once it is out
    error: str | None = None
    attempts: int = 0
    updated_at: datetime | None = None
    expires_at: datetime | None = None  # a claim past this is taken over by the next claimer
    progress: int = 0  # how many of the post's messages are out (bot.platform.PostProgress.done)
    took_over: str | None = None  # the owner whose expired claim this claim replaced: it died mid-post


@dataclass(frozen=True)
class LastSent:
    platform: Platform
    chat_id: str
    at: datetime


@dataclass
class DayCounts:
    """The ledger of one digest day in numbers, kept as rows change (never counted from the rows when read)."""

    day: date
    rows: dict[tuple[Platform, DeliveryStatus], int] = field(default_factory=dict)
    last_sent: LastSent | None = None  # the row that most recently became "sent"

    def by_status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_, status), n in self.rows.items():
            out[status] = out.get(status, 0) + n
        return out


@dataclass(frozen=True)
class Planned:
    """A subscription with its mark in the schedule index: the epoch milliseconds of its next post, or a
    negative number while it is waiting to be planned (it changed, or the schedule's basis did)."""

    sub: Subscription
    mark: float


@dataclass(frozen=True)
class NextPost:
    """The scheduler's plan for one chat: `at` replaces the index mark only if the mark is still `mark`."""

    platform: Platform
    chat_id: str
    mark: float
    at: datetime | None  # None: the chat never posts (no weekday) until it changes


@runtime_checkable
class FullTextStore(Protocol):
    """Parsed full texts (digest.fulltext), one per (paper id, version), stored compressed with a time to live."""

    async def get_fulltext(self, paper_id: str, version: int) -> FullTextEntry | None:
        """The stored parse or the remembered "no full text"; None when there is none, it expired, or the stored
        body cannot be read (corrupt, or written by another parser schema version): a miss, never an error."""

    async def put_fulltext(self, entry: FullTextEntry, ttl_s: float) -> None:
        """Store (replace) the entry of (entry.paper_id, entry.version) for `ttl_s` seconds."""


@runtime_checkable
class DigestStore(Protocol):
    """Digests and the brief cache."""

    async def save_digest(self, digest: Digest) -> None:
        """Atomically replace the digest of (digest.date, digest.lang) and update the latest date."""

    async def get_digest(self, day: date, lang: Lang) -> Digest | None: ...

    async def find_digest(self, lang: Lang, day: date | None = None) -> Digest | None:
        """The digest of `day`, or the latest one in `lang` when `day` is None: what every follow-up reads first.

        One round trip in Redis. The result may be shared with later callers (a parse cache): treat it as read-only."""

    async def latest_date(self, lang: Lang) -> date | None: ...

    async def list_dates(self, lang: Lang) -> list[date]:
        """Days with a stored digest in `lang`, newest first."""

    async def published_ids(self, before: date, days: int) -> set[str]:
        """Ids of papers shown in any digest of the `days` days before `before` (any language)."""

    async def get_brief(self, key: str) -> Brief | None: ...

    async def put_brief(self, key: str, brief: Brief) -> None: ...


@runtime_checkable
class SpendStore(Protocol):
    """The LLM spend of each calendar day (in DIGEST_TIMEZONE), shared by every build of that day."""

    async def add_spend(self, day: date, usd: float) -> float:
        """Atomically add `usd` (negative to give back a reservation) to the spend of `day`; returns the new total.

        Kept for a few days only: it serves the daily budget, not accounting."""

    async def get_spend(self, day: date) -> float:
        """The spend recorded for `day`; 0 when none."""


@runtime_checkable
class SubscriptionStore(Protocol):
    """The chats that get the morning post, on every platform."""

    async def put_subscription(self, sub: Subscription) -> None: ...

    async def get_subscription(self, platform: Platform, chat_id: str) -> Subscription | None: ...

    async def delete_subscription(self, platform: Platform, chat_id: str) -> bool:
        """True when there was one to delete."""

    async def list_subscriptions(self, platform: Platform | None = None) -> list[Subscription]: ...

    async def move_subscription(self, platform: Platform, old_chat_id: str, new_chat_id: str) -> bool:
        """A chat changed id (a group upgraded to a supergroup): keep its settings and its ledger under the new id."""

    # The schedule index: every subscription by the instant of its next post, so a scheduler tick reads only the
    # chats that are due. put/move mark a subscription "to be planned"; the scheduler (bot/) plans it.

    async def due_subscriptions(self, until: datetime) -> list[Planned]:
        """Subscriptions whose next post is at or before `until`, and those waiting to be planned."""

    async def set_next_posts(self, plans: Sequence[NextPost]) -> None:
        """Record each plan unless its subscription changed since it was read (its mark is no longer `mark`)."""

    async def reset_schedule(self, basis: str) -> bool:
        """When `basis` (what the plans were computed from: the deployment's defaults) differs from the stored
        one, mark every subscription to be planned again and store `basis`; True when it did."""


@runtime_checkable
class DeliveryLedger(Protocol):
    """Who was posted what on which day, claims while posting, and the short-lived locks and once-keys that
    keep several processes from doing the same work twice."""

    async def claim_delivery(self, platform: Platform, chat_id: str, day: date, owner: str, ttl_s: float) -> bool:
        """Claim (platform, chat, day) for `owner` before sending. False when it is already sent, or claimed by
        another owner whose claim has not expired. A failed row may be claimed again (a retry).

        The row keeps `progress` and `message_id`, so the new owner resumes the post where it stopped; `took_over`
        names the previous owner when this claim replaced another owner's expired claim (else None)."""

    async def mark_progress(
        self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str | None, done: int, ttl_s: float
    ) -> bool:
        """Record that the first `done` messages of the post are out (`message_id`: the first one's) and extend
        the claim to `ttl_s` from now. Only while `owner` still holds the claim (even past its expiry, as long
        as nobody took it over): False otherwise, and the row is left alone."""

    async def mark_sent(self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str) -> None:
        """Final: the row is never claimed again. Keeps `progress` and `took_over`."""

    async def mark_failed(self, platform: Platform, chat_id: str, day: date, owner: str, error: str) -> None:
        """Record the failure and release the claim so a later attempt may claim it again (and resume: the
        row keeps `progress` and `message_id`). Never downgrades a sent row."""

    async def get_delivery(self, platform: Platform, chat_id: str, day: date) -> Delivery | None: ...

    async def list_deliveries(self, day: date) -> list[Delivery]: ...

    async def deliveries_of(self, day: date, chats: Sequence[tuple[Platform, str]]) -> list[Delivery]:
        """The rows of `chats` on `day` (those that exist): what a fan-out of those chats needs, and no more."""

    async def delivery_counts(self, day: date) -> DayCounts:
        """Rows of `day` per platform and status, and the last row sent: constant work, whatever the ledger holds."""

    async def prune(self) -> int:
        """Remove ledger rows, counts, once-keys and locks past their expiry (Redis expires them by itself);
        returns how many records went."""

    # Short-lived locks (leader election) and once-only keys (a platform's retried events)
    async def acquire_lock(self, name: str, token: str, ttl_s: float) -> bool: ...

    async def renew_lock(self, name: str, token: str, ttl_s: float) -> bool:
        """Extend the lock only if `token` still holds it."""

    async def release_lock(self, name: str, token: str) -> bool:
        """Delete the lock only if `token` holds it (compare-and-delete)."""

    async def first_time(self, key: str, ttl_s: float) -> bool:
        """True the first time `key` is seen within `ttl_s` (deduplicates retried events)."""


@runtime_checkable
class Store(DigestStore, FullTextStore, SpendStore, SubscriptionStore, DeliveryLedger, Protocol):
    """Everything the bot stores, in one backend."""

    async def ping(self) -> None:
        """Raise StoreUnavailable when the backend cannot be reached."""

    def describe(self) -> str:
        """Where the data lives, for operators ("the embedded store at /path", "Redis at redis://host:6379/0");
        never a password."""
        ...

    async def close(self) -> None: ...
