"""The scheduler loop of `digestbot run`: every process competes for the leader lock; the leader builds and delivers.

A tick reads only the chats whose next post is within the build lead (the store's schedule index), serves the
due ones, and plans each of them again (bot.scheduler.next_post): a served chat moves to its next morning, so
the work of a tick grows with the chats that are due, not with the subscriptions. It also prunes what the
store's retention lets go (the embedded store; Redis expires keys by itself).

Why only the leader delivers (every process could, the ledger would keep that safe): the platforms' rate limits
are per bot token, not per process, so one sender keeps them without a distributed rate limiter, and the logs
have one summary line per morning instead of one per process. Fail-over is the catch-up path: when the leader
dies its lock expires after `leader_ttl_s`, another process takes it, finds the chats not yet served (claims of
the dead one expire after `claim_ttl_s`) and serves them. A leader paused past its lock's expiry and a new one
may overlap for a moment; the ledger claims keep even that from posting twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from bot import metrics, scheduler
from bot.delivery import FanOut, FanOutReport, skip_reason
from bot.leader import Leader, process_id
from bot.platform import Poster
from digest import pipeline
from digest.models import Digest, Lang
from digest.settings import Settings
from digest.store import Store, StoreUnavailable
from digest.store.base import NextPost, Planned, Platform

log = logging.getLogger(__name__)

Builder = Callable[[date, Lang], Awaitable[Digest]]
Clock = Callable[[], datetime]
BUILD_RETRY_S = 300.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        posters: Mapping[Platform, Poster],
        *,
        builder: Builder | None = None,
        clock: Clock = utcnow,
        owner: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.posters = posters
        self.clock = clock
        self.owner = owner or process_id()
        self.builder = builder or self._default_build
        self.leader = Leader(store, settings.leader_ttl_s)
        self._build_failed: dict[tuple[date, Lang], float] = {}
        self.last_report: FanOutReport | None = None

    async def _default_build(self, day: date, lang: Lang) -> Digest:
        result = await pipeline.build(self.settings, self.store, day, source=self.settings.build_source, lang=lang)
        return result.digest

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: lead when possible, tick, sleep until the next event (or the next tick)."""
        log.info("worker %s: scheduler started (%s, mode %s)", self.owner, self.settings.timezone,
                 self.settings.delivery_mode)  # fmt: skip
        try:
            while not stop.is_set():
                delay = self.settings.scheduler_tick_s
                if await self.leader.acquire():
                    try:
                        await self.tick(stop)
                    except StoreUnavailable as exc:
                        log.warning("scheduler tick: store unavailable, trying again: %s", exc)
                    delay = self._sleep_s()
                else:
                    # Followers check often enough to take over within a lock ttl of the leader's death.
                    delay = min(delay, self.settings.leader_ttl_s / 3)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            await self.leader.release()
            log.info("worker %s: scheduler stopped", self.owner)

    def _sleep_s(self) -> float:
        return self.settings.scheduler_tick_s

    async def tick(self, stop: asyncio.Event | None = None) -> FanOutReport | None:
        """One pass: build what is due and missing, then serve every due chat not served yet, then plan them."""
        now = self.clock()
        await self.store.prune()
        await self.store.reset_schedule(scheduler.plan_basis(self.settings))
        planned = await self.store.due_subscriptions(now + timedelta(minutes=self.settings.build_lead_minutes))
        subs = [p.sub for p in planned]
        due = scheduler.due(now, subs, self.settings)
        for day in scheduler.builds_due(now, subs, self.settings):
            langs = dict.fromkeys(
                [self.settings.lang, *(s.sub.lang for s in scheduler.slots(subs, day, self.settings))]
            )
            for lang in langs:
                await self.ensure_built(day, lang)
        report = None
        if due:
            halt = asyncio.Event()
            watcher = asyncio.create_task(self._halt_when_stopped_or_lost(stop, halt))
            try:
                report = await FanOut(self.settings, self.store, self.posters, self.owner, stop=halt).run(due)
            finally:
                watcher.cancel()
            self.last_report = report
        await self._plan(now, planned, due)
        return report

    async def _plan(self, now: datetime, planned: Sequence[Planned], due: Sequence[scheduler.Slot]) -> None:
        """The next post of every chat this tick looked at: past the days the ledger says are done (sent, or
        given up for the day), else the slot still waiting (a retry, a claim another sender holds)."""
        done: dict[tuple[str, str], set[date]] = defaultdict(set)
        for day in sorted({slot.day for slot in due}):
            chats = [slot.key for slot in due if slot.day == day]
            for row in await self.store.deliveries_of(day, chats):
                if skip_reason(row, now, self.settings) in ("already", "failed"):
                    done[(row.platform, row.chat_id)].add(day)
        now_ms = now.timestamp() * 1000
        due_chats = {slot.key for slot in due}
        plans = []
        for n, entry in enumerate(planned, 1):
            if n % 500 == 0:
                await asyncio.sleep(0)  # planning every chat (after an upgrade) must not hold the loop for long
            key = (entry.sub.platform, entry.sub.chat_id)
            if entry.mark > now_ms and key not in due_chats:
                continue  # planned and coming up within the lead: nothing to change yet
            at = scheduler.next_post(entry.sub, now, self.settings, done.get(key, ()))
            if at is None or at.timestamp() * 1000 != entry.mark:
                plans.append(NextPost(entry.sub.platform, entry.sub.chat_id, entry.mark, at))
        await self.store.set_next_posts(plans)

    async def _halt_when_stopped_or_lost(self, stop: asyncio.Event | None, halt: asyncio.Event) -> None:
        """Stop starting new posts on shutdown or lost leadership; posts in flight finish and get recorded."""
        waits = [asyncio.create_task(self.leader.lost.wait())]
        if stop is not None:
            waits.append(asyncio.create_task(stop.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            halt.set()
        finally:
            for task in waits:
                task.cancel()

    async def ensure_built(self, day: date, lang: Lang) -> bool:
        """Build (day, lang) unless stored; a failed build is tried again after BUILD_RETRY_S, not every tick."""
        if await self.store.get_digest(day, lang) is not None:
            return True
        failed_at = self._build_failed.get((day, lang))
        if failed_at is not None and time.monotonic() - failed_at < BUILD_RETRY_S:
            return False
        started = time.monotonic()
        log.info("building the digest of %s (%s)", day, lang)
        try:
            digest = await self.builder(day, lang)
        except (pipeline.BuildFailed, StoreUnavailable) as exc:
            metrics.BUILDS.labels("failed").inc()
            self._build_failed[(day, lang)] = time.monotonic()
            log.error("build of %s (%s) failed, retrying in %.0fs: %s", day, lang, BUILD_RETRY_S, exc)
            return False
        metrics.build_done(digest.usage.input_tokens, digest.usage.output_tokens, time.monotonic() - started)
        log.info("built the digest of %s (%s): %d papers in %.1fs", day, lang, len(digest.items),
                 time.monotonic() - started)  # fmt: skip
        return True
