"""The morning fan-out: for each due slot, claim the ledger row, post through the platform's Poster, record it.

Per chat:  claim (platform, chat, day) -> poster.post_digest, mark_progress after each message -> mark_sent.
- Progress: a post is several messages (Slack: parent + thread replies; Telegram: header + one per paper). After
  each one the platform accepted, the ledger row records how many are out and the first one's id, and the
  claim is extended. A retry, a later tick, or a sender taking over a dead one's claim sends only the rest.
- RetryLater: wait (the platform's Retry-After when given, which also pauses that whole platform, else
  exponential backoff) and try again up to `delivery_retries` times; then mark_failed("retry: ...") and a
  later scheduler tick tries again while the chat's catch-up window lasts.
- ChatUnreachable: mark_failed("unreachable: ..."), not retried today; after `max_chat_failures` such days in
  a row the subscription is removed.
- ChatMoved: move the subscription (and its ledger rows) to the new id and post there.
- Superseded (our claim was taken over while we were paused past its expiry): stop; the new owner finishes.
Per platform: its pacing (bot/platform: posts started per second, at most so many in flight); chats that fail
never stop the others. One summary log line per run. What a failing chat costs (its failure count, its
subscription, a move to its new id) is decided here and nowhere else.

The crash window is one message: the one the platform accepted just before the sender died, before its
progress was written. A sender taking over the expired claim handles it per `delivery_mode`: at-least-once
sends that message again, at-most-once skips it (and when it is the first message, posts nothing and records
the chat as "in-doubt"). No platform-specific code here: only bot.platform's Poster and errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from bot import metrics
from bot.platform import ChatMoved, ChatUnreachable, DeliveryError, Poster, PostProgress, RetryLater, Superseded
from bot.platform.seam import Pacing
from bot.scheduler import Slot
from digest.models import Digest, Lang
from digest.settings import Settings
from digest.store import Store, StoreUnavailable
from digest.store.base import Delivery, Platform
from digest.topics import for_topics

log = logging.getLogger(__name__)

Result = Literal["sent", "already", "busy", "failed", "unreachable", "in-doubt", "no-digest", "no-poster", "stopped"]

UNREACHABLE = "unreachable: "
RETRY = "retry: "
IN_DOUBT = "in-doubt: "
MAX_MOVES = 2
MAX_RETRY_GAP_S = 1800.0
DEFAULT_POSTS_PER_S = 5.0  # a platform whose adapter says nothing about its pace


def skip_reason(row: Delivery | None, now: datetime, settings: Settings) -> str | None:
    """Why a slot need not be attempted now given its ledger row (None: go ahead and try to claim it)."""
    if row is None:
        return None
    if row.status == "sent":
        return "already"
    if row.status == "claimed":
        live = row.expires_at is not None and row.expires_at > now
        return "busy" if live else None
    error = row.error or ""
    if error.startswith((UNREACHABLE, IN_DOUBT)):
        return "failed"  # not today: the chat itself refused, or a post may already be there
    # A retryable failure: back off between fan-out runs, longer after each attempt.
    gap = min(settings.delivery_backoff_s * 2 ** max(row.attempts, 1), MAX_RETRY_GAP_S)
    if row.updated_at is not None and now - row.updated_at < timedelta(seconds=gap):
        return "busy"
    return None


class PlatformPace:
    """Start at most `rate` posts per second on one platform, at most `concurrency` at once; a Retry-After
    from the platform (flood control is per bot, not per chat) pauses every start on it until then."""

    def __init__(self, rate: float, concurrency: int) -> None:
        self.interval = 1.0 / rate
        self.slots = asyncio.Semaphore(concurrency)
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next, self._paused_until)
            self._next = start + self.interval
        await asyncio.sleep(start - now)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


@dataclass
class FanOutReport:
    day: date | None = None
    results: Counter[str] = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)  # "platform:chat" -> last error
    retries: int = 0
    moved: int = 0
    resumed: int = 0  # posts continued after the messages a dead sender got out
    unsubscribed: int = 0
    seconds: float = 0.0

    def summary(self, owner: str) -> str:
        parts = [f"{k}={self.results[k]}" for k in sorted(self.results)]
        line = f"fan-out day={self.day} owner={owner} slots={sum(self.results.values())} " + " ".join(parts)
        line += f" retries={self.retries} moved={self.moved} resumed={self.resumed} unsubscribed={self.unsubscribed} took={self.seconds:.1f}s"
        if self.errors:
            shown = "; ".join(f"{k} {v}" for k, v in list(self.errors.items())[:5])
            more = len(self.errors) - 5
            line += f" errors: {shown}" + (f" (+{more} more)" if more > 0 else "")
        return line


class FanOut:
    """One fan-out run over a list of slots (usually one digest day). Safe to run in several processes at once:
    the ledger claims decide who posts to a chat."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        posters: Mapping[Platform, Poster],
        owner: str,
        *,
        stop: asyncio.Event | None = None,
        pacing: Mapping[Platform, Pacing] | None = None,
    ) -> None:
        """`pacing`: per platform, from its adapter (bot/platform/registry); a platform missing from it gets
        DEFAULT_PACING."""
        self.settings = settings
        self.store = store
        self.posters = posters
        self.owner = owner
        self.stop = stop or asyncio.Event()
        if pacing is None:
            from bot.platform import registry

            pacing = {name: p.pacing() for name, p in registry.platforms(settings).items()}
        default = Pacing(DEFAULT_POSTS_PER_S, settings.delivery_concurrency)
        self.pace: dict[Platform, PlatformPace] = {
            name: PlatformPace(pace.posts_per_s, pace.concurrency)
            for name, pace in {name: pacing.get(name, default) for name in posters}.items()
        }
        self._digests: dict[tuple[date, Lang], Digest | None] = {}
        self.report = FanOutReport()
        self._unreachable: list[tuple[Platform, str]] = []
        # The first message of a post is the only one whose loss in a crash repeats a whole delivery (there is no
        # recorded parent to resume under). One at a time per process, from send to ledger write, so a crash
        # can leave at most one chat with its first message accepted but unrecorded: at most one duplicate
        # delivery per crash. The other messages, and every other wait, stay concurrent.
        self._first_message = asyncio.Lock()

    async def digest_for(self, day: date, lang: Lang) -> Digest | None:
        """The chat's language when built, else the deployment's (a post in the other language beats none)."""
        for want in dict.fromkeys([lang, self.settings.lang]):
            if (day, want) not in self._digests:
                self._digests[(day, want)] = await self.store.get_digest(day, want)
            if self._digests[(day, want)] is not None:
                return self._digests[(day, want)]
        return None

    async def run(self, slots: Sequence[Slot]) -> FanOutReport:
        started = time.monotonic()
        self.report = FanOutReport(day=min((s.day for s in slots), default=None))
        self._unreachable = []
        rows: dict[tuple[str, str, date], Delivery] = {}
        for day in sorted({s.day for s in slots}):  # the rows of these chats only, not the whole day's ledger
            chats = [s.key for s in slots if s.day == day]
            rows.update({(r.platform, r.chat_id, r.day): r for r in await self.store.deliveries_of(day, chats)})
        now = datetime.now(UTC)
        todo = []
        for slot in slots:
            reason = skip_reason(rows.get((slot.sub.platform, slot.sub.chat_id, slot.day)), now, self.settings)
            if reason is None:
                todo.append(slot)
            else:
                self.report.results[reason] += 1
        # Each digest once, before the chats start: hundreds of concurrent first reads would each fetch it.
        for day, lang in sorted({(slot.day, slot.sub.lang) for slot in todo}):
            await self.digest_for(day, lang)
        results = await asyncio.gather(*(self._one(slot) for slot in todo), return_exceptions=True)
        for slot, result in zip(todo, results, strict=True):
            if isinstance(result, BaseException):
                log.error("delivery to %s:%s crashed: %r", slot.sub.platform, slot.sub.chat_id, result)
                self.report.errors[f"{slot.sub.platform}:{slot.sub.chat_id}"] = f"crash: {result!r}"
                result = "failed"
            self.report.results[result] += 1
        await self._count_failures(len(todo))
        self.report.seconds = time.monotonic() - started
        if slots:
            log.info("%s", self.report.summary(self.owner))
        return self.report

    async def _one(self, slot: Slot) -> Result:
        poster = self.posters.get(slot.sub.platform)
        if poster is None:
            return "no-poster"
        digest = await self.digest_for(slot.day, slot.sub.lang)
        if digest is None:
            return "no-digest"
        digest = for_topics(digest, slot.sub.topics)  # a chat with topics gets only the papers matching them
        pace = self.pace[slot.sub.platform]  # every platform with a poster has one
        async with pace.slots:
            if self.stop.is_set():
                return "stopped"
            return await self._deliver(slot, poster, pace, digest)

    async def _deliver(self, slot: Slot, poster: Poster, pace: PlatformPace, digest: Digest) -> Result:
        platform, chat, day = slot.sub.platform, slot.sub.chat_id, slot.day
        key = f"{platform}:{chat}"
        last_error = ""
        moves = 0
        moved = False
        attempt = 0
        progress: PostProgress | None = None  # how far the post got; read from the ledger after the first claim
        while attempt <= self.settings.delivery_retries:
            if not await self.store.claim_delivery(platform, chat, day, self.owner, self.settings.claim_ttl_s):
                row = await self.store.get_delivery(platform, chat, day)
                return "already" if row is not None and row.status == "sent" else "busy"
            if progress is None:
                progress = await self._resume_point(platform, chat, day)
                if progress is None:
                    self.report.errors[key] = "in-doubt (sender died mid-post)"
                    return "in-doubt"
            await pace.wait_turn()
            holding = False
            if progress.done == 0:
                await self._first_message.acquire()
                holding = True

            def let_go() -> None:
                nonlocal holding
                if holding:
                    holding = False
                    self._first_message.release()

            async def record(done: PostProgress, chat: str = chat) -> None:
                nonlocal progress
                progress = done
                try:
                    await self._record_progress(platform, chat, day, done)
                finally:
                    let_go()

            try:
                if moved:
                    moved = False  # the ledger row came along with the old chat's progress: none of it is here
                    await self._record_progress(platform, chat, day, progress)
                message_id = await poster.post_digest(
                    chat, digest, resume=progress if progress.done else None, on_progress=record
                )
            except Superseded as exc:
                log.warning("stopped posting to %s: %s", key, exc)
                return "busy"
            except ChatMoved as exc:
                moves += 1
                if moves > MAX_MOVES or not exc.new_chat_id:
                    last_error = f"moved too often ({exc})"
                    break
                log.info("chat %s moved to %s: moving its subscription", key, exc.new_chat_id)
                await self.store.move_subscription(platform, chat, exc.new_chat_id)
                chat, key = exc.new_chat_id, f"{platform}:{exc.new_chat_id}"
                self.report.moved += 1
                progress, moved = PostProgress(), True  # a new chat: the whole post goes there
                continue  # the claim moved with the ledger row; claim again under the new id and post there
            except ChatUnreachable as exc:
                metrics.POSTS_FAILED.labels(platform, "unreachable").inc()
                self.report.errors[key] = f"{UNREACHABLE}{exc}"
                await self.store.mark_failed(platform, chat, day, self.owner, f"{UNREACHABLE}{exc}")
                self._unreachable.append((platform, chat))
                return "unreachable"
            except Exception as exc:  # DeliveryError, or an adapter bug that must not stop the others
                kind = "retry" if isinstance(exc, DeliveryError) else "error"
                metrics.POSTS_FAILED.labels(platform, kind).inc()
                last_error = str(exc) or type(exc).__name__
                if not isinstance(exc, DeliveryError):
                    log.warning("post to %s raised %s: %s", key, type(exc).__name__, last_error)
                attempt += 1
                if attempt > self.settings.delivery_retries or self.stop.is_set():
                    break
                self.report.retries += 1
                let_go()
                await asyncio.sleep(self._backoff(exc, attempt, pace))
                continue  # `progress` holds what is out: the retry sends only the rest
            finally:
                let_go()
            await self._record_sent(platform, chat, day, message_id)
            return "sent"
        self.report.errors[key] = f"{RETRY}{last_error}"
        await self.store.mark_failed(platform, chat, day, self.owner, f"{RETRY}{last_error}")
        return "failed"

    async def _resume_point(self, platform: Platform, chat: str, day: date) -> PostProgress | None:
        """Where the post to a just-claimed chat starts: after the messages the ledger says are out. None: it
        must not be posted (at-most-once, and the sender before us may have got the first message out).

        A claim taken over from a dead sender (`took_over`) is in doubt by exactly one message: the one after
        the recorded progress, which the platform may have accepted just before the sender died. at-least-once
        sends it (again, perhaps); at-most-once skips it, and when it is the first message (the parent the
        rest hangs on) does not post at all and records the chat as in-doubt. A failed row is not in doubt:
        the sender that failed recorded each message the platform accepted."""
        row = await self.store.get_delivery(platform, chat, day)
        progress = PostProgress()
        if row is not None and row.progress > 0 and row.message_id:
            progress = PostProgress(row.progress, row.message_id)
        if row is None or row.took_over is None:
            return progress
        if self.settings.delivery_mode == "at-least-once":
            if progress.done:
                self.report.resumed += 1
                log.info("%s:%s: %s died mid-post; resuming after message %d", platform, chat, row.took_over,
                         progress.done)  # fmt: skip
            return progress
        if progress.done == 0:
            await self.store.mark_failed(platform, chat, day, self.owner, f"{IN_DOUBT}{row.took_over} died mid-post")
            return None
        skip = PostProgress(progress.done + 1, progress.first_id)
        log.info("%s:%s: %s died mid-post; at-most-once: skipping message %d, which may be out, and resuming",
                 platform, chat, row.took_over, skip.done)  # fmt: skip
        self.report.resumed += 1
        await self._record_progress(platform, chat, day, skip)  # skipped once, not again by a later takeover
        return skip

    async def _record_progress(self, platform: Platform, chat: str, day: date, progress: PostProgress) -> None:
        """Write how far the post got (extending the claim); raise Superseded when the claim is no longer ours."""
        try:
            held = await self.store.mark_progress(
                platform, chat, day, self.owner, progress.first_id, progress.done, self.settings.claim_ttl_s
            )
        except StoreUnavailable as exc:
            # Go on posting: a crash before the store is back costs at most the messages sent meanwhile, and
            # stopping now would leave the chat half-served for sure. mark_sent retries at the end.
            log.warning("%s:%s: could not record the post's progress (%d): %s", platform, chat, progress.done, exc)
            return
        if not held:
            raise Superseded(f"another sender took over the claim on {platform}:{chat}")

    def _backoff(self, exc: BaseException, attempt: int, pace: PlatformPace) -> float:
        if isinstance(exc, RetryLater) and exc.retry_after_s is not None:
            pace.pause(exc.retry_after_s)
            return exc.retry_after_s
        base = self.settings.delivery_backoff_s * 2 ** (attempt - 1)
        return base * (0.5 + random.random() / 2)  # jitter: several senders do not retry in step

    async def _record_sent(self, platform: Platform, chat: str, day: date, message_id: str) -> None:
        """The post is out; recording it is what prevents a second one, so retry a store hiccup a few times."""
        metrics.POSTS_SENT.labels(platform).inc()
        for pause in (0.1, 0.5, 2.0, None):
            try:
                await self.store.mark_sent(platform, chat, day, self.owner, str(message_id))
                break
            except StoreUnavailable as exc:
                if pause is None:
                    log.error("posted to %s:%s but could not record it: %s", platform, chat, exc)
                    return
                await asyncio.sleep(pause)
        with contextlib.suppress(StoreUnavailable):
            sub = await self.store.get_subscription(platform, chat)
            if sub is not None and sub.failures:
                await self.store.put_subscription(sub.model_copy(update={"failures": 0}))

    async def _count_failures(self, attempted: int) -> None:
        """Count a failed morning against each chat that refused, unless most chats of a platform refused at once:
        that is the platform or the bot token (revoked, suspended), and must not unsubscribe everybody."""
        per_platform = Counter(platform for platform, _ in self._unreachable)
        bot_wide = {p for p, count in per_platform.items() if count >= 4 and count * 2 > attempted}
        for platform in bot_wide:
            log.error("%d %s chats refused the post at once: a bot-wide problem, not counted against the chats",
                      per_platform[platform], platform)  # fmt: skip
        for platform, chat in self._unreachable:
            if platform not in bot_wide:
                with contextlib.suppress(StoreUnavailable):
                    await self._count_failure(platform, chat)

    async def _count_failure(self, platform: Platform, chat: str) -> None:
        sub = await self.store.get_subscription(platform, chat)
        if sub is None:
            return
        failures = sub.failures + 1
        if failures >= self.settings.max_chat_failures:
            await self.store.delete_subscription(platform, chat)
            self.report.unsubscribed += 1
            log.warning("unsubscribed %s:%s after %d failed mornings in a row", platform, chat, failures)
        else:
            await self.store.put_subscription(sub.model_copy(update={"failures": failures}))
