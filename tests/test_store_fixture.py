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
