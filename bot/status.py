"""Where the morning delivery of one digest day stands, per chat: for `digestbot status`, `post --dry-run`, /healthz."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot import scheduler
from bot.delivery import IN_DOUBT, UNREACHABLE
from digest.models import Digest
from digest.settings import Settings
from digest.store import Store
from digest.store.base import Delivery, Subscription


@dataclass
class ChatStatus:
    platform: str
    chat_id: str
    state: str  # sent, sending, failed, pending, due, missed, not-today, unsubscribed
    detail: str


@dataclass
class DayStatus:
    day: date
    digest: Digest | None
    chats: list[ChatStatus]

    @property
    def counts(self) -> Counter[str]:
        return Counter(c.state for c in self.chats)


def _local(instant: datetime | None, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if instant else "?"


def chat_status(
    sub: Subscription, row: Delivery | None, day: date, now: datetime, settings: Settings
) -> tuple[str, str]:
    tz = scheduler.zone_of(sub, settings)
    slot = scheduler.slot_for(sub, day, settings)
    if row is not None and row.status == "sent":
        resumed = f"; resumed after {row.took_over} died mid-post" if row.took_over else ""
        return "sent", f"message {row.message_id} at {_local(row.updated_at, tz)}{resumed}"
    if row is not None and row.status == "claimed" and row.expires_at and row.expires_at > now:
        return "sending", f"claimed by {row.owner} (attempt {row.attempts}, {row.progress} messages out)"
    if row is not None and row.status == "failed":
        final = (row.error or "").startswith((UNREACHABLE, IN_DOUBT))
        if slot is not None and not final and scheduler.state(slot, now, settings) == "due":
            return (
                "failed",
                f"{row.error} (attempt {row.attempts}; retried until {_local(slot.at + scheduler.grace(settings), tz)})",
            )
        return "failed", f"{row.error} (attempt {row.attempts})"
    if slot is None:
        return "not-today", f"weekdays {sub.weekdays}"
    when = _local(slot.at, tz)
    state = scheduler.state(slot, now, settings)
    if state == "early":
        return "pending", f"posts at {when}"
    if state == "due":
        expired = ""
        if row is not None and row.status == "claimed":
            expired = f" (a sender died after {row.progress} messages; the next tick resumes there)"
        return "due", f"was due at {when}, served on the next tick{expired}"
    return "missed", f"was due at {when}; the catch-up window ({settings.catchup_hours:g} h) has passed"


async def day_status(store: Store, settings: Settings, day: date, now: datetime | None = None) -> DayStatus:
    now = now or datetime.now(UTC)
    subs = await store.list_subscriptions()
    rows = {(r.platform, r.chat_id): r for r in await store.list_deliveries(day)}
    chats = []
    for sub in subs:
        state, detail = chat_status(sub, rows.pop((sub.platform, sub.chat_id), None), day, now, settings)
        chats.append(ChatStatus(sub.platform, sub.chat_id, state, detail))
    for (platform, chat), row in rows.items():  # ledger rows of chats that left (unsubscribed, moved)
        chats.append(ChatStatus(platform, chat, row.status, f"no longer subscribed; {row.error or row.message_id}"))
    return DayStatus(day=day, digest=await store.get_digest(day, settings.lang), chats=chats)


ORDER = ["failed", "missed", "sending", "due", "pending", "sent", "not-today", "claimed"]


def render(status: DayStatus, settings: Settings) -> str:
    lines = []
    if status.digest is None:
        lines.append(f"digest of {status.day}: not built yet")
    else:
        built = _local(status.digest.generated_at, settings.tz)
        lines.append(f"digest of {status.day} ({status.digest.lang}): built {built}, {len(status.digest.items)} papers")
    counts = status.counts
    total = len(status.chats)
    summary = ", ".join(f"{counts[k]} {k}" for k in ORDER if counts[k])
    lines.append(f"chats: {total}" + (f" — {summary}" if summary else ""))
    rank = {k: n for n, k in enumerate(ORDER)}
    for chat in sorted(status.chats, key=lambda c: (rank.get(c.state, 99), c.platform, c.chat_id)):
        lines.append(f"  {chat.state:<9} {chat.platform:<8} {chat.chat_id:<24} {chat.detail}")
    return "\n".join(lines) + "\n"
