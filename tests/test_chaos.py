"""End-to-end: three `digestbot run` processes, real Redis (one server, and a Redis Cluster of three masters), the
real Slack and Telegram adapters against the fake Slack and Telegram servers, 200 subscribed chats. Once undisturbed, once with the leader SIGKILLed mid-fan-out
and restarted. Deliveries (whole posts) and every single message are counted per chat from the fakes' records,
not from our own ledger.

The processes are told nothing special: their post time is a few minutes ago, so they serve the morning through
the ordinary catch-up path.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands.texts import text
from digest import pipeline
from digest.settings import Settings
from digest.store.base import Subscription
from digest.store.redis import RedisStore
from tests.conftest import DATA
from tests.fakes.base import ServerThread
from tests.fakes.slack import BOT_TOKEN, Channel, FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram

CHATS_PER_PLATFORM = 100
DIGESTBOT = str(Path(sys.executable).parent / "digestbot")
WAIT_S = 240.0


@dataclass
class World:
    slack: FakeSlack
    telegram: FakeTelegram
    env: dict[str, str]
    day: date
    tmp: Path
    redis_url: str
    prefix: str
    cluster: bool


@pytest.fixture(params=["redis", "redis-cluster"])
def redis(request: pytest.FixtureRequest) -> tuple[str, bool]:
    """(url, cluster): a single Redis server, or any node of a three-master Redis Cluster."""
    cluster = request.param == "redis-cluster"
    return request.getfixturevalue("redis_cluster_url" if cluster else "redis_url"), cluster


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeTelegram]]:
    slack, telegram = FakeSlack(), FakeTelegram()
    for n in range(CHATS_PER_PLATFORM):
        slack.channels[f"C{n:04d}"] = Channel(f"C{n:04d}", f"papers-{n}")
    with ServerThread(slack.app) as s, ServerThread(telegram.app) as t:
        slack.url, telegram.url = s.url, t.url  # type: ignore[attr-defined]
        yield slack, telegram


def telegram_chats() -> list[str]:
    return [str(1000 + n) for n in range(CHATS_PER_PLATFORM)]


def slack_chats() -> list[str]:
    return [f"C{n:04d}" for n in range(CHATS_PER_PLATFORM)]


async def seed(redis_url: str, prefix: str, day: date, tmp: Path, cluster: bool) -> None:
    """200 subscriptions and the digest of `day` (the 2026-02-13 sample, re-dated), as a morning build leaves it."""
    store = RedisStore(redis_url, prefix=prefix, cluster=cluster)
    try:
        settings = Settings(DIGEST_DATA_DIR=tmp / "build")  # type: ignore[call-arg]
        built = await pipeline.build(settings, store, date(2026, 2, 13), source="sample")
        await store.save_digest(built.digest.model_copy(update={"date": day}))
        for chat in telegram_chats():
            await store.put_subscription(Subscription(platform="telegram", chat_id=chat))
        for chat in slack_chats():
            await store.put_subscription(Subscription(platform="slack", chat_id=chat))
    finally:
        await store.close()


async def ledger(redis_url: str, prefix: str, day: date, cluster: bool) -> Counter[str]:
    store = RedisStore(redis_url, prefix=prefix, cluster=cluster)
    try:
        return Counter(r.status for r in await store.list_deliveries(day))
    finally:
        await store.close()


async def claimed_by(redis_url: str, prefix: str, day: date, pid: int, cluster: bool) -> set[str]:
    store = RedisStore(redis_url, prefix=prefix, cluster=cluster)
    try:
        return {
            f"{r.platform}:{r.chat_id}"
            for r in await store.list_deliveries(day)
            if r.status == "claimed" and r.owner and f":{pid}:" in r.owner
        }
    finally:
        await store.close()


def make_world(fakes: tuple[FakeSlack, FakeTelegram], redis: tuple[str, bool], prefix: str, tmp: Path) -> World:
    redis_url, cluster = redis
    slack, telegram = fakes
    posted_at = datetime.now(UTC) - timedelta(minutes=5)  # the post time passed 5 minutes ago: catch-up
    day = posted_at.date() - timedelta(days=1)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_", "TELEGRAM_", "REDIS_"))},
        "DIGEST_CONFIG": str(DATA / "empty-settings.toml"),
        "DIGEST_DATA_DIR": str(tmp / "var"),
        "REDIS_URL": redis_url,
        "DIGEST_REDIS_CLUSTER": "1" if cluster else "0",
        "DIGEST_KEY_PREFIX": prefix,
        "DIGEST_TIMEZONE": "UTC",
        "DIGEST_POST_TIME": posted_at.strftime("%H:%M"),
        "DIGEST_CATCHUP_HOURS": "3",
        "DIGEST_SOURCE": "sample",
        "DIGEST_TICK": "1",
        "DIGEST_LEADER_TTL": "3",
        "DIGEST_CLAIM_TTL": "20",
        "DIGEST_DELIVERY_BACKOFF": "0.5",
        "DIGEST_TELEGRAM_POSTS_PER_S": "10",
        "DIGEST_SLACK_POSTS_PER_S": "20",
        "DIGEST_DELIVERY_CONCURRENCY": "40",
        "DIGEST_TELEGRAM_POLLING": "0",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_BASE_URL": slack.api_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"{telegram.url}/bot",  # type: ignore[attr-defined]
    }
    asyncio.run(seed(redis_url, prefix, day, tmp, cluster))
    return World(slack, telegram, env, day, tmp, redis_url, prefix, cluster)


def start(world: World, name: str) -> subprocess.Popen[bytes]:
    log = open(world.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([DIGESTBOT, "run"], env=world.env, stdout=log, stderr=subprocess.STDOUT)


def deliveries(world: World) -> Counter[str]:
    """Per chat, how many morning posts the platform accepted: Slack parent messages (replies are in the thread),
    Telegram header messages (the five paper messages follow it)."""
    counts: Counter[str] = Counter({f"slack:{c}": 0 for c in slack_chats()})
    counts.update({f"telegram:{c}": 0 for c in telegram_chats()})
    for message in world.slack.messages:
        if message.thread_ts is None:
            counts[f"slack:{message.channel}"] += 1
    title = text("ko", "post_title", date=world.day.isoformat(), count=5)
    for chat, sent in world.telegram.messages.items():
        counts[f"telegram:{chat}"] += sum(1 for m in sent if m.text.startswith(title))
    return counts


def messages(world: World) -> dict[str, Counter[str]]:
    """Per chat, each distinct message of the morning post (by its text; a Slack parent by "parent", since its
    text is the same in every chat anyway) and how many times the platform accepted it."""
    seen: dict[str, Counter[str]] = {f"slack:{c}": Counter() for c in slack_chats()}
    seen.update({f"telegram:{c}": Counter() for c in telegram_chats()})
    for message in world.slack.messages:
        seen[f"slack:{message.channel}"]["parent" if message.thread_ts is None else message.text] += 1
    for chat, sent in world.telegram.messages.items():
        seen[f"telegram:{chat}"].update(m.text for m in sent)
    return seen


def wait_until(predicate, what: str, procs: list[subprocess.Popen[bytes]]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def leader_of(world: World, procs: dict[str, subprocess.Popen[bytes]]) -> str | None:
    for name, proc in procs.items():
        if proc.poll() is None and b"this process leads" in (world.tmp / f"{name}.log").read_bytes():
            return name
    return None


def stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


POST_SIZE = 6  # messages in one chat's morning post (the sample digest: parent/header + five papers)


def report(world: World, kills: int) -> dict[str, int]:
    """`duplicates`/`misses`: whole posts (Slack parents, Telegram headers): a delivery is counted once per post.
    `duplicate_messages`: every message accepted more than once; `incomplete`: chats missing any message."""
    counts = deliveries(world)
    per_chat = messages(world).values()
    return {
        "chats": len(counts),
        "deliveries": sum(counts.values()),
        "duplicates": sum(max(n - 1, 0) for n in counts.values()),
        "misses": sum(1 for n in counts.values() if n == 0),
        "messages": sum(sum(c.values()) for c in per_chat),
        "duplicate_messages": sum(n - 1 for c in per_chat for n in c.values()),
        "incomplete": sum(1 for c in per_chat if len(c) < POST_SIZE),
        "kills": kills,
    }


def all_sent(world: World) -> bool:
    return asyncio.run(ledger(world.redis_url, world.prefix, world.day, world.cluster))["sent"] >= 2 * CHATS_PER_PLATFORM


@pytest.mark.slow
def test_three_processes_deliver_each_chat_exactly_once(
    fakes, redis: tuple[str, bool], redis_prefix: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    world = make_world(fakes, redis, redis_prefix, tmp_path)
    procs = {f"run{n}": start(world, f"run{n}") for n in range(3)}
    try:
        wait_until(lambda: all_sent(world), "200 sent ledger rows", list(procs.values()))
    finally:
        stop_all(procs)
    result = report(world, kills=0)
    print("chaos (no kill):", result)
    assert result == {
        "chats": 200,
        "deliveries": 200,
        "duplicates": 0,
        "misses": 0,
        "messages": 200 * POST_SIZE,
        "duplicate_messages": 0,
        "incomplete": 0,
        "kills": 0,
    }
    logs = b"".join((tmp_path / f"{n}.log").read_bytes() for n in procs)
    assert BOT_TOKEN.encode() not in logs and TOKEN.encode() not in logs
    assert sum(1 for line in logs.splitlines() if b"fan-out day=" in line) >= 1


@pytest.mark.slow
def test_sigkill_of_the_leader_mid_fan_out_misses_nothing(
    fakes, redis: tuple[str, bool], redis_prefix: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    world = make_world(fakes, redis, redis_prefix, tmp_path)
    procs = {f"run{n}": start(world, f"run{n}") for n in range(3)}
    in_flight: set[str] = set()
    try:
        wait_until(lambda: leader_of(world, procs) is not None, "a leader", list(procs.values()))
        # A random moment mid-fan-out: after between 5 and 120 posts have gone out.
        threshold = random.randint(5, 120)
        wait_until(lambda: sum(deliveries(world).values()) >= threshold, "the fan-out", list(procs.values()))
        victim = leader_of(world, procs)
        assert victim is not None
        pid = procs[victim].pid
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait(timeout=10)
        in_flight = asyncio.run(claimed_by(world.redis_url, world.prefix, world.day, pid, world.cluster))
        procs[f"{victim}-restarted"] = start(world, f"{victim}-restarted")
        wait_until(lambda: all_sent(world), "200 sent ledger rows after the kill", list(procs.values()))
    finally:
        stop_all(procs)
    counts = deliveries(world)
    result = report(world, kills=1)
    print(f"chaos (SIGKILL after {threshold} posts, {len(in_flight)} chats in flight):", result)
    assert result["chats"] == 200 and result["misses"] == 0 and result["incomplete"] == 0
    # The promise: at most one duplicate delivery per kill. A takeover resumes after the messages the ledger
    # recorded, so a whole post repeats only when the kill fell between the platform accepting a chat's FIRST
    # message and its ledger write, and only a chat the killed process had in flight can get anything twice.
    assert result["duplicates"] <= result["kills"]
    assert {chat for chat, n in counts.items() if n > 1} <= in_flight
    # Per chat at most one message twice: the one accepted just before the kill and not yet recorded (when it was
    # the first, the dead sender got nothing after it out, so the takeover's full post repeats only that one).
    for chat, seen in messages(world).items():
        if sum(seen.values()) > POST_SIZE:
            assert chat in in_flight and sum(seen.values()) == POST_SIZE + 1, (chat, seen)
    status = subprocess.run(
        [DIGESTBOT, "status", "--date", world.day.isoformat()], env=world.env, capture_output=True, check=True
    ).stdout.decode()
    (tmp_path / "status.txt").write_text(status)
    print(status[:1500])
    assert "chats: 200 — 200 sent" in status
