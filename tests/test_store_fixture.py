"""Stores written by the first stored-data version (tests/data/store-v1.*, made by make_store_fixtures.py) still
work: follow-ups answer from them, `status` lists their ledger, and a fan-out never posts again to a served chat."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import scheduler
from bot.delivery import FanOut
from bot.wiring import make_posters
from digest.settings import Settings
from digest.store import open_store
from tests.fakes.slack import Channel, FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.redis_server import PrivateRedis

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
MANIFEST = json.loads((DATA / "store-v1.json").read_text(encoding="utf-8"))
DAY = date.fromisoformat(MANIFEST["day"])


@dataclass
class OldStore:
    backend: str
    env: dict[str, str]  # what points digestbot at it


@pytest.fixture(params=["sqlite", "redis"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OldStore]:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    env = {"DIGEST_DATA_DIR": str(data_dir), "DIGEST_KEY_PREFIX": MANIFEST["prefix"]}
    if request.param == "sqlite":
        shutil.copyfile(DATA / "store-v1.sqlite3", data_dir / "store.sqlite3")  # the fixture itself stays as made
        yield OldStore("sqlite", env)
        return
    server = PrivateRedis(dump=DATA / "store-v1.rdb")
    server.start()
    try:
        yield OldStore("redis", {**env, "REDIS_URL": server.url})
    finally:
        server.close()


def digestbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=120,
    )


def test_follow_ups_answer_from_an_old_store(old_store: OldStore) -> None:
    for lang in ("ko", "en"):
        digest = digestbot("ask", f"/digest {DAY}", "--lang", lang, env=old_store.env)
        assert digest.returncode == 0, digest.stderr
        assert f"{DAY} Daily Papers (Top 5)" in digest.stdout
        paper = digestbot("ask", f"/paper 3 risks {DAY}", "--lang", lang, "--platform", "telegram", env=old_store.env)
        assert paper.returncode == 0, paper.stderr
        assert MANIFEST["papers"][lang][2] in paper.stdout  # the third paper's links name its arXiv id
        by_id = digestbot("ask", f"/paper {MANIFEST['papers'][lang][0]} links", "--lang", lang, env=old_store.env)
        assert by_id.stdout.startswith("1. "), by_id.stdout


def test_status_lists_the_old_ledger(old_store: OldStore) -> None:
    result = digestbot("status", "--date", DAY.isoformat(), env=old_store.env)
    assert result.returncode == 0, result.stderr
    assert f"digest of {DAY} (ko): built" in result.stdout
    lines = result.stdout.splitlines()
    for row in MANIFEST["ledger"]:
        line = next((line for line in lines if f" {row['chat_id']} " in line), None)
        assert line is not None, f"{row['chat_id']} missing from:\n{result.stdout}"
        assert row["platform"] in line
        if row["status"] in ("sent", "failed"):
            assert line.split()[0] == row["status"], line
            assert row["detail"].split(":")[0] in line


async def test_a_fan_out_posts_nothing_to_a_chat_already_served(
    old_store: OldStore,
    make_settings: Callable[..., Settings],
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
) -> None:
    for chat in ("C0SERVED", "C0CLAIMED"):
        fake_slack.channels[chat] = Channel(chat, chat.lower())
    settings = make_settings(
        data_dir=Path(old_store.env["DIGEST_DATA_DIR"]),
        redis_url=old_store.env.get("REDIS_URL"),
        key_prefix=MANIFEST["prefix"],
        slack_bot_token=fake_slack.token,
        slack_api_base_url=fake_slack.api_url,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake_telegram.url + "/bot",  # type: ignore[attr-defined]
        delivery_backoff_s=0.0,
    )
    store = open_store(settings)
    try:
        subs = await store.list_subscriptions()
        assert {(s.platform, s.chat_id) for s in subs} == {
            (s["platform"], s["chat_id"]) for s in MANIFEST["subscriptions"]
        }
        berlin = next(s for s in subs if s.chat_id == "4242")
        assert (berlin.lang, berlin.timezone, berlin.topics) == (
            "en",
            "Europe/Berlin",
            MANIFEST["subscriptions"][2]["topics"],
        )
        assert await store.get_brief(MANIFEST["brief_key"]) is not None
        if old_store.backend == "sqlite":  # Redis keeps a day's spend for a few days only, by design
            assert await store.get_spend(DAY) == pytest.approx(MANIFEST["spend_usd"])
        slots = [scheduler.Slot(sub=sub, day=DAY, at=datetime.now(UTC)) for sub in subs]
        report = await FanOut(settings, store, make_posters(settings), "upgraded-host:1").run(slots)
    finally:
        await store.close()
    served = [row["chat_id"] for row in MANIFEST["ledger"] if row["status"] == "sent"]
    assert report.results["already"] == len(served)
    assert fake_slack.posts_to("C0SERVED") == []
    assert fake_telegram.sent(4242) == []
    assert fake_telegram.sent(-1001234) == []  # refused the bot: not today
    assert fake_slack.posts_to("C0CLAIMED"), (
        f"{report.results} {report.errors}: the claim a dead sender left behind is taken over and served"
    )


async def test_an_old_redis_layout_moves_to_hash_tagged_keys_once(tmp_path: Path) -> None:
    """The v1 dump's keys have no hash tags: the first use moves every one of them (nothing under an old name is
    left), rebuilds the day's counts from its rows, gives the ledger a retention from now, and a second store
    finds nothing left to do."""
    from redis.asyncio import Redis

    from digest.store.redis import LAYOUT, RedisStore

    server = PrivateRedis(dump=DATA / "store-v1.rdb")
    server.start()
    raw = Redis.from_url(server.url, decode_responses=True)
    try:
        before = {key async for key in raw.scan_iter(match="digestbot:*")}
        assert not any("{" in key for key in before)  # the fixture really is the old layout
        store = RedisStore(server.url, prefix=MANIFEST["prefix"])
        try:
            counts = await store.delivery_counts(DAY)
        finally:
            await store.close()
        after = {key async for key in raw.scan_iter(match="digestbot:*")}
        untagged = {key for key in after if "{" not in key}
        kinds = {key.split(":")[1] for key in untagged}
        assert kinds <= {"brief", "spend", "lock", "once", "fulltext", "layout"}, untagged
        assert int(await raw.get("digestbot:layout")) == LAYOUT
        expected: dict[tuple[str, str], int] = {}
        for row in MANIFEST["ledger"]:
            expected[(row["platform"], row["status"])] = expected.get((row["platform"], row["status"]), 0) + 1
        assert counts.rows == expected
        assert counts.last_sent is not None
        row_key = f"digestbot:{{day:{DAY}}}:dlv:slack:C0SERVED"
        assert 0 < await raw.ttl(row_key) <= 30 * 86400  # a full retention from the upgrade
        assert await raw.ttl(f"digestbot:{{digest:ko}}:day:{DAY}") == -1  # digests are kept
        again = RedisStore(server.url, prefix=MANIFEST["prefix"])
        try:
            waiting = await again.due_subscriptions(datetime(2000, 1, 1, tzinfo=UTC))  # all to be planned
            assert len(waiting) == len(MANIFEST["subscriptions"])
        finally:
            await again.close()
        assert {key async for key in raw.scan_iter(match="digestbot:*")} == after
    finally:
        await raw.aclose()
        server.close()


async def test_an_upgraded_store_moves_into_a_redis_cluster_with_redis_cli(redis_cluster_url: str) -> None:
    """The documented way from one Redis to a cluster: upgrade the layout on the single node (any first use), then
    `redis-cli --cluster import`; every key lands in its slot, and the store reads all of it through the cluster."""
    from digest.store.redis import RedisStore

    server = PrivateRedis(dump=DATA / "store-v1.rdb")
    server.start()
    try:
        single = RedisStore(server.url, prefix=MANIFEST["prefix"])
        try:
            await single.ping()  # the first use moves the keys to the tagged layout
        finally:
            await single.close()
        node = redis_cluster_url.removeprefix("redis://").removesuffix("/0")
        subprocess.run(
            ["redis-cli", "--cluster", "import", node, "--cluster-from", f"127.0.0.1:{server.port}", "--cluster-copy"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    finally:
        server.close()
    store = RedisStore(redis_cluster_url, prefix=MANIFEST["prefix"], cluster=True)
    try:
        digest = await store.find_digest("ko", DAY)
        assert digest is not None and [i.paper.id for i in digest.items] == MANIFEST["papers"]["ko"]
        assert len(await store.list_subscriptions()) == len(MANIFEST["subscriptions"])
        rows = {(r.platform, r.chat_id): r.status for r in await store.list_deliveries(DAY)}
        assert rows == {(r["platform"], r["chat_id"]): r["status"] for r in MANIFEST["ledger"]}
        assert (await store.delivery_counts(DAY)).by_status()["sent"] == 2
        assert await store.claim_delivery("slack", "C0SERVED", DAY, "cluster-host", 60) is False  # sent stays sent
    finally:
        await store.close()


async def test_an_old_sqlite_file_gets_its_counts_expiries_and_schedule_index(tmp_path: Path) -> None:
    import sqlite3

    from digest.store.sqlite import SqliteStore

    path = tmp_path / "store.sqlite3"
    shutil.copyfile(DATA / "store-v1.sqlite3", path)
    store = SqliteStore(path)
    try:
        counts = await store.delivery_counts(DAY)
        waiting = await store.due_subscriptions(datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        await store.close()
    expected: dict[tuple[str, str], int] = {}
    for row in MANIFEST["ledger"]:
        expected[(row["platform"], row["status"])] = expected.get((row["platform"], row["status"]), 0) + 1
    assert counts.rows == expected and counts.last_sent is not None
    assert len(waiting) == len(MANIFEST["subscriptions"])  # every chat to be planned by the next tick
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM deliveries WHERE expires IS NULL").fetchone()[0] == 0
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
