"""When to build and when each chat gets its post: pure functions of (now, subscriptions, settings).

Vocabulary:
- the *digest day* D is the day whose papers a digest shows; its ledger rows are keyed by D;
- a chat gets the digest of D on the next calendar day in the chat's own timezone, at its post time,
  so each chat's slot for D is `post_instant(D + 1, post_time, tz)`;
- a slot is *due* from its instant until `catchup_hours` after it; after that it is *missed* (a digest
  in the evening is worse than none, and the next morning brings the next one);
- the build of D runs `build_lead_minutes` before the earliest slot of D (the deployment's default
  post time counts as a slot, so there is a build even with no subscriptions: commands answer from it);
- each chat's *next post* (`next_post`) is its mark in the store's schedule index, so a tick reads only the
  chats whose next post is near (bot/worker.py); `plan_basis` is what those marks depend on besides the chat.

No I/O here and no platform code, so DST and catch-up arithmetic is tested without servers.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.settings import Settings
from digest.store.base import Subscription

log = logging.getLogger(__name__)

SlotState = Literal["early", "due", "missed"]


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def post_instant(local_day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant (aware, UTC) of wall time `at` on `local_day` in `tz`.

    Ambiguous wall time (autumn fall-back): the first occurrence (fold=0), so the post is not an hour late.
    Skipped wall time (spring-forward gap): the first valid instant after the gap, i.e. the transition
    itself (02:30 in Europe/Berlin on the last Sunday of March -> 03:00 CEST), never a guess an hour early.
    """
    naive = datetime.combine(local_day, at.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if _wall(first, tz) == naive:
        return first
    # In a gap: fold=1 resolves with the offset after the transition (earlier instant, wall time before the
    # gap) and fold=0 with the one before (later instant, wall time after it). The transition lies between;
    # find the first instant whose wall time is not before `naive` (wall time is monotonic inside the gap).
    lo, hi = sorted(int(naive.replace(tzinfo=tz, fold=f).timestamp()) for f in (0, 1))
    while hi - lo > 1:  # invariant: wall(lo) < naive <= wall(hi), in whole seconds
        mid = (lo + hi) // 2
        if _wall(datetime.fromtimestamp(mid, UTC), tz) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def zone_of(sub: Subscription, settings: Settings) -> ZoneInfo:
    """The chat's timezone; an unknown name (bad input stored by an old version) falls back to the default."""
    if sub.timezone:
        try:
            return ZoneInfo(sub.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("subscription %s:%s has unknown timezone %r; using %s", sub.platform, sub.chat_id,
                        sub.timezone, settings.timezone)  # fmt: skip
    return settings.tz


def posts_on(sub: Subscription, local_day: date) -> bool:
    """Weekdays are the chat's own (Monday = 0); values outside 0..6 are ignored, an empty list means never."""
    return local_day.weekday() in {d for d in sub.weekdays if 0 <= d <= 6}


@dataclass(frozen=True)
class Slot:
    """One chat's post of one digest day."""

    sub: Subscription
    day: date  # the digest day (ledger key)
    at: datetime  # aware UTC

    @property
    def key(self) -> tuple[str, str]:
        return (self.sub.platform, self.sub.chat_id)


def slot_for(sub: Subscription, day: date, settings: Settings) -> Slot | None:
    """The chat's slot for digest day `day`, or None when the chat does not post on that weekday."""
    local_day = day + timedelta(days=1)
    if not posts_on(sub, local_day):
        return None
    at = post_instant(local_day, sub.post_time or settings.post_time, zone_of(sub, settings))
    return Slot(sub=sub, day=day, at=at)


def grace(settings: Settings) -> timedelta:
    return timedelta(hours=settings.catchup_hours)


def state(slot: Slot, now: datetime, settings: Settings) -> SlotState:
    if now < slot.at:
        return "early"
    return "due" if now <= slot.at + grace(settings) else "missed"


def candidate_days(now: datetime) -> list[date]:
    """Digest days whose slots can fall near `now`: local dates anywhere on Earth are UTC date -1..+1,
    and a slot of D is on local day D+1 (plus a catch-up window under a day)."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=n) for n in (2, 1, 0)]


def slots(subs: Iterable[Subscription], day: date, settings: Settings) -> list[Slot]:
    return [s for sub in subs if (s := slot_for(sub, day, settings)) is not None]


def due(now: datetime, subs: Iterable[Subscription], settings: Settings) -> list[Slot]:
    """Slots within their catch-up window at `now`, oldest digest day first, then by instant."""
    subs = list(subs)
    out = [s for day in candidate_days(now) for s in slots(subs, day, settings) if state(s, now, settings) == "due"]
    return sorted(out, key=lambda s: (s.day, s.at, s.key))


def default_slot_at(day: date, settings: Settings) -> datetime:
    return post_instant(day + timedelta(days=1), settings.post_time, settings.tz)


def build_at(day: date, subs: Iterable[Subscription], settings: Settings) -> datetime:
    """When the build of `day` should run: the earliest slot of the day (the default one included) minus the lead."""
    earliest = min([default_slot_at(day, settings), *(s.at for s in slots(subs, day, settings))])
    return earliest - timedelta(minutes=settings.build_lead_minutes)


def builds_due(now: datetime, subs: Iterable[Subscription], settings: Settings) -> list[date]:
    """Digest days whose build time has come and whose last slot is not yet past its catch-up window."""
    subs = list(subs)
    out = []
    for day in candidate_days(now):
        day_slots = slots(subs, day, settings)
        latest = max([default_slot_at(day, settings), *(s.at for s in day_slots)])
        if build_at(day, subs, settings) <= now <= latest + grace(settings):
            out.append(day)
    return out


def next_event(now: datetime, subs: Iterable[Subscription], settings: Settings) -> datetime | None:
    """The next instant after `now` at which something becomes due (a slot or a build), to sleep until."""
    subs = list(subs)
    horizon = [now.astimezone(UTC).date() + timedelta(days=n) for n in (-2, -1, 0, 1)]
    instants = [s.at for day in horizon for s in slots(subs, day, settings)]
    instants += [build_at(day, subs, settings) for day in horizon]
    future = [t for t in instants if t > now]
    return min(future) if future else None


def next_post(sub: Subscription, now: datetime, settings: Settings, done: Collection[date] = ()) -> datetime | None:
    """The instant of the chat's earliest slot that is not missed at `now` and whose digest day is not `done`
    (served, or given up for the day): when it next needs the scheduler. None: it posts on no weekday."""
    first = now.astimezone(UTC).date() - timedelta(days=2)  # the oldest digest day a slot near `now` can have
    for n in range(10):  # a week of weekdays from any starting point, and the days a window may still cover
        day = first + timedelta(days=n)
        slot = slot_for(sub, day, settings)
        if slot is not None and day not in done and state(slot, now, settings) != "missed":
            return slot.at
    return None


def plan_basis(settings: Settings) -> str:
    """What a chat's next post depends on besides the chat itself: the deployment's defaults. When it changes
    (an operator moved DIGEST_POST_TIME), every chat is planned again."""
    return f"{settings.timezone}|{settings.post_time.isoformat()}|{settings.catchup_hours:g}"


def edition_day(now: datetime, settings: Settings) -> date:
    """The digest day that the deployment's chats get today ("today's digest" in `digestbot status`)."""
    return now.astimezone(settings.tz).date() - timedelta(days=1)
