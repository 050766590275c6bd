"""The fan-out logic, the leader lock and one scheduler tick, against a real store.

The poster here is a tiny recording Poster: these are unit tests of the fan-out's decisions (claim, retry,
move, unsubscribe, in-doubt). The end-to-end check with the real Slack/Telegram adapters and their fake
servers is tests/test_chaos.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from bot import scheduler
from bot.delivery import FanOut
from bot.leader import Leader
from bot.platform import ChatMoved, ChatUnreachable, DeliveryError, PostProgress, RetryLater
from bot.worker import Worker
from digest import pipeline
from digest.models import Digest
from digest.settings import Settings
from digest.store.base import Store, Subscription

DAY = date(2026, 2, 13)
EXPIRED = -1.0  # a claim TTL that sets its expiry in the past: "the sender died" without waiting for it


class RecordingPoster:
    """Records every post; `script[chat]` is a list of exceptions to raise on that chat's next attempts."""

    def __init__(self, platform: str = "telegram") -> None:
        self.platform = platform
        self.posts: list[str] = []
        self.attempts: Counter[str] = Counter()
        self.script: dict[str, list[BaseException]] = {}
        self.gate: asyncio.Event | None = None

    async def post_digest(self, chat_id: str, digest: Digest, **_: Any) -> str:
        self.attempts[chat_id] += 1
        if self.gate is not None:
            await self.gate.wait()
        errors = self.script.get(chat_id)
        if errors:
            raise errors.pop(0)
        self.posts.append(chat_id)
        return f"m-{chat_id}-{len(self.posts)}"


class MessagesPoster:
    """A post of SIZE messages, sent one by one with the progress reported after each, as the real posters do.
    `fail[(chat, n)]`: exceptions to raise instead of sending message n; `after(chat, n)`: awaited after it."""

    SIZE = 6

    def __init__(self, platform: str = "telegram") -> None:
        self.platform = platform
        self.sent: list[tuple[str, int]] = []
        self.resumes: list[PostProgress | None] = []
        self.fail: dict[tuple[str, int], list[BaseException]] = {}
        self.after: Callable[[str, int], Awaitable[None]] | None = None

    async def post_digest(
        self, chat_id: str, digest: Digest, *, resume: PostProgress | None = None, on_progress: Any = None
    ) -> str:
        self.resumes.append(resume)
        done, first = (resume.done, resume.first_id) if resume else (0, None)
        for n in range(done + 1, self.SIZE + 1):
            errors = self.fail.get((chat_id, n))
            if errors:
                raise errors.pop(0)
            self.sent.append((chat_id, n))
            first = first or f"{chat_id}-m{n}"
            if self.after is not None:
                await self.after(chat_id, n)
            if on_progress is not None:
                await on_progress(PostProgress(n, first))
        assert first is not None
        return first

    def messages(self, chat: str) -> list[int]:
        return [n for c, n in self.sent if c == chat]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        delivery_backoff_s=0.0,
        delivery_retries=2,
        telegram_posts_per_s=1000.0,
        slack_posts_per_s=1000.0,
        claim_ttl_s=60.0,
        build_source="sample",
    )


async def stored_digest(settings: Settings, store: Store) -> Digest:
    return (await pipeline.build(settings, store, DAY, source="sample")).digest


async def subscribe(store: Store, *chats: str, platform: str = "telegram") -> list[scheduler.Slot]:
    slots = []
    for chat in chats:
        sub = Subscription(platform=platform, chat_id=chat)  # type: ignore[arg-type]
        await store.put_subscription(sub)
        slots.append(scheduler.Slot(sub=sub, day=DAY, at=datetime(2026, 2, 13, 23, tzinfo=UTC)))
    return slots


async def test_each_chat_gets_one_post_and_a_rerun_posts_nothing(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "1", "2", "3")
    poster = RecordingPoster()
    report = await FanOut(settings, store, {"telegram": poster}, "p1").run(slots)
    assert sorted(poster.posts) == ["1", "2", "3"]
    assert report.results["sent"] == 3
    again = await FanOut(settings, store, {"telegram": poster}, "p2").run(slots)
    assert again.results["already"] == 3 and len(poster.posts) == 3
    row = await store.get_delivery("telegram", "2", DAY)
    assert row is not None and row.status == "sent" and row.message_id and row.message_id.startswith("m-2-")


async def test_two_senders_at_once_never_post_twice(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, *[str(n) for n in range(40)])
    poster = RecordingPoster()
    a = FanOut(settings, store, {"telegram": poster}, "a")
    b = FanOut(settings, store, {"telegram": poster}, "b")
    await asyncio.gather(a.run(slots), b.run(slots))
    assert Counter(poster.posts) == Counter({str(n): 1 for n in range(40)})


async def test_retry_later_is_retried_and_a_failing_chat_does_not_stop_the_others(
    settings: Settings, store: Store
) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "ok", "flaky", "down")
    poster = RecordingPoster()
    poster.script["flaky"] = [RetryLater("429", retry_after_s=0.01)]
    poster.script["down"] = [DeliveryError("502")] * 3
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert sorted(poster.posts) == ["flaky", "ok"]
    assert poster.attempts["down"] == 3  # first try + delivery_retries
    assert report.results == Counter({"sent": 2, "failed": 1})
    row = await store.get_delivery("telegram", "down", DAY)
    assert row is not None and row.status == "failed" and row.error == "retry: 502"


async def test_unreachable_chat_is_unsubscribed_after_max_failures(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    settings = settings.model_copy(update={"max_chat_failures": 2})
    poster = RecordingPoster()
    for n, day in enumerate([DAY, DAY + timedelta(days=1)], 1):
        slots = [
            scheduler.Slot(sub=s.sub, day=day, at=s.at) for s in await subscribe_existing(store, "blocked", "fine")
        ]
        if day != DAY:
            await store.save_digest((await store.get_digest(DAY, "ko")).model_copy(update={"date": day}))  # type: ignore[union-attr]
        poster.script["blocked"] = [ChatUnreachable("403 bot was blocked by the user")]
        report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
        assert report.results["unreachable"] == 1
        sub = await store.get_subscription("telegram", "blocked")
        if n == 1:
            assert sub is not None and sub.failures == 1
            # Not retried again the same day: the chat itself refused.
            rerun = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
            assert rerun.results["failed"] == 1 and poster.attempts["blocked"] == 1
        else:
            assert sub is None and report.unsubscribed == 1
    assert await store.get_subscription("telegram", "fine") is not None


async def subscribe_existing(store: Store, *chats: str) -> list[scheduler.Slot]:
    existing = {s.chat_id for s in await store.list_subscriptions("telegram")}
    new = [c for c in chats if c not in existing]
    await subscribe(store, *new)
    subs = [s for s in await store.list_subscriptions("telegram") if s.chat_id in chats]
    return [scheduler.Slot(sub=s, day=DAY, at=datetime(2026, 2, 13, 23, tzinfo=UTC)) for s in subs]


async def test_moved_chat_gets_its_post_under_the_new_id(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "-100")
    poster = RecordingPoster()
    poster.script["-100"] = [ChatMoved("migrated", new_chat_id="-100200")]
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert poster.posts == ["-100200"] and report.moved == 1
    assert await store.get_subscription("telegram", "-100") is None
    row = await store.get_delivery("telegram", "-100200", DAY)
    assert row is not None and row.status == "sent"


async def test_a_dead_senders_claim_is_taken_over_after_expiry_at_least_once(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "x")
    assert await store.claim_delivery("telegram", "x", DAY, "dead", ttl_s=60)
    poster = RecordingPoster()
    live = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert live.results["busy"] == 1 and poster.posts == []  # the claim is still live: hands off
    assert await store.claim_delivery("telegram", "x", DAY, "dead", ttl_s=EXPIRED)  # then the sender dies
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert report.results["sent"] == 1 and poster.posts == ["x"]


async def test_at_most_once_records_an_expired_claim_as_in_doubt_and_does_not_post(
    settings: Settings, store: Store
) -> None:
    await stored_digest(settings, store)
    settings = settings.model_copy(update={"delivery_mode": "at-most-once"})
    slots = await subscribe(store, "x", "y")
    assert await store.claim_delivery("telegram", "x", DAY, "dead", ttl_s=EXPIRED)
    poster = RecordingPoster()
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert poster.posts == ["y"] and report.results["in-doubt"] == 1
    row = await store.get_delivery("telegram", "x", DAY)
    assert row is not None and row.status == "failed" and (row.error or "").startswith("in-doubt: dead")


async def dead_sender(store: Store, chat: str, done: int, *, first: str = "h1") -> None:
    """A sender that claimed `chat`, got `done` messages out and recorded them, then died (its claim expires)."""
    assert await store.claim_delivery("telegram", chat, DAY, "dead", ttl_s=60)
    if done:
        assert await store.mark_progress("telegram", chat, DAY, "dead", first, done, ttl_s=EXPIRED)
    else:
        assert await store.claim_delivery("telegram", chat, DAY, "dead", ttl_s=EXPIRED)


async def test_a_takeover_resumes_after_the_messages_the_dead_sender_recorded(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "x", "fresh")
    await dead_sender(store, "x", 3)
    poster = MessagesPoster()
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert report.results["sent"] == 2 and report.resumed == 1
    assert poster.messages("x") == [4, 5, 6] and poster.messages("fresh") == [1, 2, 3, 4, 5, 6]
    assert PostProgress(3, "h1") in poster.resumes
    row = await store.get_delivery("telegram", "x", DAY)
    assert row is not None and (row.status, row.message_id, row.progress, row.took_over) == ("sent", "h1", 6, "dead")


async def test_a_takeover_with_nothing_recorded_posts_it_all_at_least_once(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "x")
    await dead_sender(store, "x", 0)
    poster = MessagesPoster()
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert report.results["sent"] == 1 and report.resumed == 0 and poster.messages("x") == [1, 2, 3, 4, 5, 6]


async def test_at_most_once_skips_the_one_message_in_doubt_and_sends_the_rest(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    settings = settings.model_copy(update={"delivery_mode": "at-most-once"})
    slots = await subscribe(store, "x")
    await dead_sender(store, "x", 3)
    poster = MessagesPoster()
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert report.results["sent"] == 1 and poster.messages("x") == [5, 6]  # 4 may be out: never twice
    row = await store.get_delivery("telegram", "x", DAY)
    assert row is not None and (row.status, row.message_id, row.progress) == ("sent", "h1", 6)


async def test_a_retry_after_a_failure_mid_post_sends_only_the_rest(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "x", "y")
    poster = MessagesPoster()
    poster.fail[("x", 3)] = [RetryLater("flood", retry_after_s=0.01)]
    poster.fail[("y", 4)] = [DeliveryError("502")] * 3  # every try of this run: a later tick resumes it
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert poster.messages("x") == [1, 2, 3, 4, 5, 6] and report.results == Counter({"sent": 1, "failed": 1})
    assert poster.messages("y") == [1, 2, 3]
    row = await store.get_delivery("telegram", "y", DAY)
    assert row is not None and (row.status, row.progress, row.message_id) == ("failed", 3, "y-m1")
    again = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert again.results == Counter({"sent": 1, "already": 1}) and poster.messages("y") == [1, 2, 3, 4, 5, 6]
    row = await store.get_delivery("telegram", "y", DAY)
    assert row is not None and (row.status, row.message_id) == ("sent", "y-m1")


async def test_first_messages_go_out_one_at_a_time_the_rest_concurrently(settings: Settings, store: Store) -> None:
    """A crash can then leave at most one chat with its first message out but unrecorded: one duplicate at most."""
    await stored_digest(settings, store)
    slots = await subscribe(store, *[str(n) for n in range(10)])
    poster = MessagesPoster()
    between: Counter[str] = Counter()  # first / later messages sent but not yet recorded, right now and at most
    most: Counter[str] = Counter()

    async def slow_platform(chat: str, n: int) -> None:
        kind = "first" if n == 1 else "later"
        between[kind] += 1
        most[kind] = max(most[kind], between[kind])
        await asyncio.sleep(0.01)
        between[kind] -= 1

    poster.after = slow_platform
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert report.results["sent"] == 10 and most["first"] == 1 and most["later"] > 1


async def test_a_sender_whose_claim_was_taken_over_stops_posting(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "x")
    poster = MessagesPoster()

    async def paused_past_expiry(chat: str, n: int) -> None:
        if n == 2:  # meanwhile another sender found the claim expired and took it
            await store.mark_failed("telegram", chat, DAY, "p", "expired")
            assert await store.claim_delivery("telegram", chat, DAY, "thief", 60)

    poster.after = paused_past_expiry
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert report.results["busy"] == 1 and poster.messages("x") == [1, 2]
    row = await store.get_delivery("telegram", "x", DAY)
    assert row is not None and (row.status, row.owner) == ("claimed", "thief")


async def test_a_moved_chat_gets_the_whole_post_under_its_new_id(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "-100")
    poster = MessagesPoster()
    poster.fail[("-100", 2)] = [ChatMoved("migrated", new_chat_id="-100200")]
    await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert poster.messages("-100200") == [1, 2, 3, 4, 5, 6]
    row = await store.get_delivery("telegram", "-100200", DAY)
    assert row is not None and row.status == "sent" and row.message_id == "-100200-m1"


async def test_one_summary_line_per_run_and_no_line_when_nothing_to_do(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, "1", "2")
    poster = RecordingPoster()
    poster.script["2"] = [ChatUnreachable("kicked")]
    with caplog.at_level(logging.INFO, logger="bot.delivery"):
        await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fan-out ")]
    assert len(lines) == 1
    assert "sent=1" in lines[0] and "unreachable=1" in lines[0] and "telegram:2 unreachable: kicked" in lines[0]


async def test_no_digest_or_no_poster_is_reported_not_raised(settings: Settings, store: Store) -> None:
    slots = await subscribe(store, "1")
    report = await FanOut(settings, store, {"telegram": RecordingPoster()}, "p").run(slots)
    assert report.results["no-digest"] == 1
    await stored_digest(settings, store)
    report = await FanOut(settings, store, {}, "p").run(slots)
    assert report.results["no-poster"] == 1


# --- the leader lock


async def test_only_one_leader_and_only_the_owner_releases(settings: Settings, store: Store) -> None:
    a, b = Leader(store, ttl_s=5), Leader(store, ttl_s=5)
    assert await a.acquire()
    assert not await b.acquire()
    assert not await store.release_lock("leader", b.token)
    await a.release()
    assert await b.acquire()
    await b.release()


async def test_a_leader_whose_lock_was_taken_notices_it(settings: Settings, store: Store) -> None:
    a = Leader(store, ttl_s=0.3)
    assert await a.acquire()
    # Simulate a pause past expiry: the lock is taken by someone else, so the next renewal fails.
    await store.release_lock("leader", a.token)
    assert await store.acquire_lock("leader", "usurper", 5)
    await asyncio.wait_for(a.lost.wait(), timeout=5)
    assert not a.held
    await a.release()
    assert not await store.acquire_lock("leader", "third", 5)  # a's release did not delete the usurper's lock


# --- one scheduler tick


async def test_a_tick_after_the_post_time_builds_once_and_catches_up(settings: Settings, store: Store) -> None:
    await subscribe(store, "1", "2")
    await store.put_subscription(Subscription(platform="slack", chat_id="C9", post_time=time(9, 0)))
    built: list[tuple[date, str]] = []

    async def builder(day: date, lang: Any) -> Digest:
        built.append((day, lang))
        return (await pipeline.build(settings, store, day, source="sample", lang=lang)).digest

    tg, sl = RecordingPoster("telegram"), RecordingPoster("slack")
    now = datetime(2026, 2, 13, 23, 5, tzinfo=UTC)  # 08:05 KST: restarted five minutes late
    worker = Worker(settings, store, {"telegram": tg, "slack": sl}, builder=builder, clock=lambda: now)
    await worker.tick()
    assert built == [(DAY, "ko")]
    assert sorted(tg.posts) == ["1", "2"] and sl.posts == []  # the Slack chat posts at 09:00
    now = datetime(2026, 2, 14, 0, 0, tzinfo=UTC)
    await worker.tick()
    assert built == [(DAY, "ko")] and sl.posts == ["C9"] and len(tg.posts) == 2


async def test_a_bot_wide_refusal_does_not_count_against_the_chats(settings: Settings, store: Store) -> None:
    await stored_digest(settings, store)
    slots = await subscribe(store, *[str(n) for n in range(6)])
    poster = RecordingPoster()
    for n in range(6):
        poster.script[str(n)] = [ChatUnreachable("Slack refused the bot token (token_revoked)")]
    settings = settings.model_copy(update={"max_chat_failures": 1})
    report = await FanOut(settings, store, {"telegram": poster}, "p").run(slots)
    assert report.results["unreachable"] == 6 and report.unsubscribed == 0
    assert all(s.failures == 0 for s in await store.list_subscriptions())
