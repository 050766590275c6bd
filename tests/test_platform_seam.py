"""One way for every chat platform: the same words on Slack and Telegram (through each adapter's real code path
against its fake server), buttons that carry the paper and not its rank, links in the reader's language, a core
that names no platform, and a registry that a new platform can join without touching the core."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot import scheduler
from bot.commands import buttons
from bot.delivery import FanOut
from bot.platform import registry
from bot.platform.seam import ChatPlatform, Pacing, PlatformSettings
from bot.telegram.app import build_application, poster_of
from bot.telegram.ratelimit import ChatRateLimiter
from bot.web import create_app
from digest.settings import ConfigError, Settings
from digest.store.base import Subscription
from digest.store.redis import RedisStore
from tests.fakes.base import ServerThread
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.slack_support import (
    build_day_sync,
    command_body,
    event_body,
    post_signed,
    slack_settings,
    store_for,
    wait_for,
)
from tests.telegram_support import DAY, callback_update, message_update, stored_day, telegram_settings

ROOT = Path(__file__).resolve().parents[1]
CHAT = 4242
PUBLIC = "https://digest.example.org"


# ---- the same words on both platforms ----------------------------------------------------------------------


def _words(text: str) -> str:
    """What a reader sees, without either platform's markup, with each platform's name for the subscribe command
    written as the other's (Slack's slash commands need a longer, workspace-unique name)."""
    text = html.unescape(re.sub(r"<[^|>]+\|([^>]+)>", r"\1", text))  # Slack links: <url|label> -> label
    text = re.sub(r"[*_•]|:warning:", " ", text)
    text = text.replace("/digest-subscribe status", "/settings").replace("/digest-subscribe", "/subscribe")
    return " ".join(text.split())


def _slack_words(payload: dict[str, Any]) -> str:
    texts = []
    for block in payload["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [element["text"] for element in block["elements"]]
    return _words("\n".join(texts))


async def _telegram_answers(
    fake: FakeTelegram, make_settings: Callable[..., Settings], commands: list[str]
) -> list[str]:
    settings = telegram_settings(make_settings, fake, public_url=PUBLIC)
    store, _ = await stored_day(settings)
    app = build_application(settings, store, polling=False, rate_limiter=ChatRateLimiter(per_chat_interval_s=0))
    answers = []
    try:
        async with app:
            for command in commands:
                before = len(fake.sent(CHAT))
                await app.process_update(Update.de_json(message_update(CHAT, command), app.bot))
                answers.append(_words("\n".join(m.text for m in fake.sent(CHAT)[before:])))
    finally:
        await store.close()
    return answers


@pytest.fixture
def slack_served(fake_slack: FakeSlack, make_settings: Callable[..., Settings]) -> Iterator[tuple[str, FakeSlack]]:
    settings = slack_settings(make_settings, fake_slack, public_url=PUBLIC)
    build_day_sync(settings)
    with ServerThread(create_app(settings, store_for(settings))) as server:
        yield server.url, fake_slack


def _slack_answers(url: str, fake: FakeSlack, commands: list[tuple[str, str]]) -> list[str]:
    """Slash commands answered through respond(); a mention ("@", text) answered in the channel's thread."""
    answers = []
    for n, (command, text) in enumerate(commands, 1):
        if command == "@":
            before = len(fake.messages)
            post_signed(url, event_body(f"Ev{n}", f"<@U0BOT> {text}"), form=False)
            wait_for(lambda before=before: len(fake.messages) > before, f"the answer to @ {text}")  # type: ignore[misc]
            answers.append(_slack_words({"blocks": fake.messages[-1].blocks}))
            continue
        before = len(fake.responses)
        post_signed(url, command_body(command, text, fake, user="U0ADMIN"))
        wait_for(lambda before=before: len(fake.responses) > before, f"the answer to {command} {text}")  # type: ignore[misc]
        answers.append(_slack_words(fake.responses[-1].payload))
    return answers


async def test_subscribe_settings_and_sections_say_the_same_on_slack_and_telegram(
    slack_served: tuple[str, FakeSlack], fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    telegram = await _telegram_answers(
        fake_telegram,
        make_settings,
        ["/subscribe", "/settings", "/subscribe 07:30 topics agents", "/sections", "/help", "/start", "/nonsense"],
    )
    url, fake = slack_served
    slack = _slack_answers(
        url,
        fake,
        [
            ("/digest-subscribe", ""),
            ("/digest-subscribe", "status"),
            ("/digest-subscribe", "07:30 topics agents"),
            ("/sections", ""),
            ("@", "help"),  # Slack has no /help, /start of its own: a mention asks for them
            ("@", "start"),
            ("@", "/nonsense"),
        ],
    )
    assert telegram[0] == slack[0] and "08:00 (Asia/Seoul)" in telegram[0]
    assert telegram[1] == slack[1]
    assert telegram[2] == slack[2] and "07:30" in telegram[2] and "agents" in telegram[2]
    assert telegram[3] == slack[3] and "risks" in telegram[3]
    assert telegram[4] == slack[4] and "/subscribe" in telegram[4]
    assert telegram[5] == slack[5]
    assert telegram[6] == slack[6] and "/nonsense" in telegram[6] and "/sections" in telegram[6]  # the help


# ---- buttons carry the paper, not its rank -------------------------------------------------------------------


async def _telegram_app(
    fake: FakeTelegram, make_settings: Callable[..., Settings], **extra: Any
) -> tuple[Application, Any, Any, Settings]:  # type: ignore[type-arg]
    settings = telegram_settings(make_settings, fake, public_url=PUBLIC, **extra)
    store, digest = await stored_day(settings)
    app = build_application(settings, store, polling=False, rate_limiter=ChatRateLimiter(per_chat_interval_s=0))
    return app, store, digest, settings


async def test_a_telegram_button_after_a_reordering_rebuild_opens_the_paper_it_was_posted_for(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    app, store, digest, _ = await _telegram_app(fake_telegram, make_settings)
    try:
        async with app:
            await poster_of(app).post_digest(str(CHAT), digest)
            fake_telegram.bad_photos.clear()
            second = fake_telegram.sent(CHAT)[2]  # header, then paper 1, then paper 2
            posted_for = digest.items[1]
            data = next(
                b["callback_data"]
                for row in second.reply_markup["inline_keyboard"]
                for b in row
                if buttons.decode(b["callback_data"]).section == "risks"  # type: ignore[union-attr]
            )
            # A rebuild that reverses the order: rank 2 is now another paper.
            reordered = [item.model_copy(update={"rank": n}) for n, item in enumerate(reversed(digest.items), 1)]
            await store.save_digest(digest.model_copy(update={"items": reordered}))
            assert (await store.get_digest(DAY, "ko")).item(2).paper.id != posted_for.paper.id  # type: ignore[union-attr]

            before = len(fake_telegram.sent(CHAT))
            await app.process_update(
                Update.de_json(callback_update(fake_telegram, CHAT, second.message_id, data), app.bot)
            )
            answered = fake_telegram.sent(CHAT)[before:] or [fake_telegram.sent(CHAT)[2]]
            text = "\n".join(m.text for m in answered)
            assert posted_for.paper.title in text
            assert all(risk in text for risk in posted_for.brief.risks)
            assert fake_telegram.callback_answers[-1].get("show_alert") in (None, False, "false", "False")

            # Buttons already in chats carry the old form (the rank): they keep working, by that rank.
            await app.process_update(
                Update.de_json(callback_update(fake_telegram, CHAT, second.message_id, f"s|{DAY}|ko|1|risks"), app.bot)
            )
            assert len(fake_telegram.callback_answers) == 2
    finally:
        await store.close()


async def test_a_button_that_is_not_ours_is_answered_with_an_alert(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    app, store, digest, _ = await _telegram_app(fake_telegram, make_settings)
    try:
        async with app:
            await poster_of(app).post_digest(str(CHAT), digest)
            header = fake_telegram.sent(CHAT)[0]
            for data in ("something-else", "p|2020-01-01|ko|2602.00001|risks", "x" * 64):
                await app.process_update(
                    Update.de_json(callback_update(fake_telegram, CHAT, header.message_id, data), app.bot)
                )
            alerts = fake_telegram.callback_answers[-3:]
            assert len(alerts) == 3 and all(a.get("show_alert") in (True, "true", "True") for a in alerts)
            assert all("버튼" in a.get("text", "") for a in alerts)
    finally:
        await store.close()


def test_one_button_encoding_fits_telegram_and_reads_the_older_forms() -> None:
    data = buttons.encode(DAY, "en", "2602.12205", "uncertainty")
    assert data is not None and len(data.encode()) <= 64
    assert buttons.decode(data) == buttons.SectionButton(DAY, "en", "uncertainty", paper_id="2602.12205")
    assert buttons.decode(f"s|{DAY}|ko|3|risks") == buttons.SectionButton(DAY, "ko", "risks", rank=3)
    assert buttons.decode(f"{DAY}|ko|2602.12205|links") == buttons.SectionButton(DAY, "ko", "links", "2602.12205")
    for junk in ("", "s|x|ko|3|risks", "p|2026-02-13|fr|1|risks", "p|2026-02-13|ko|1|nope", "a|b|c"):
        assert buttons.decode(junk) is None


# ---- the full view link keeps the reader's language -------------------------------------------------------


async def test_an_english_chats_full_view_link_ends_in_lang_en_and_the_paper(
    fake_telegram: FakeTelegram, fake_slack: FakeSlack, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    app, store, _, settings = await _telegram_app(fake_telegram, make_settings)
    from digest import pipeline

    english = (await pipeline.build(settings, store, DAY, source="sample", lang="en")).digest
    want = re.compile(r"/d/2026-02-13\?lang=en#3\b")
    try:
        async with app:  # Telegram: the morning post's paper message
            await poster_of(app).post_digest(str(CHAT), english)
            paper3 = fake_telegram.sent(CHAT)[3]
            assert want.search(json.dumps(paper3.entities)), paper3.entities
    finally:
        await store.close()

    from bot.slack.app import web_client
    from bot.slack.platform import SlackSettings
    from bot.slack.poster import SlackPoster

    slack_own = SlackSettings(SLACK_BOT_TOKEN=fake_slack.token, SLACK_API_BASE_URL=fake_slack.api_url)
    await SlackPoster(web_client(slack_own), public_url=PUBLIC).post_digest("C0PAPERS", english)
    assert want.search(json.dumps(fake_slack.posts_to("C0PAPERS")[0].blocks))

    env = {
        "DIGEST_DATA_DIR": str(settings.data_dir),
        "DIGEST_PUBLIC_URL": PUBLIC,
        "DIGEST_KEY_PREFIX": settings.key_prefix,
    }
    for platform in ("plain", "slack", "telegram"):
        asked = subprocess.run(
            [sys.executable, "-m", "bot.cli", "ask", "/paper 3 risks", "--lang", "en", "--platform", platform],
            capture_output=True, text=True, env={**_clean_env(), **env}, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        assert want.search(asked.stdout), asked.stdout


def _clean_env() -> dict[str, str]:
    import os

    return dict(os.environ)


# ---- the core names no platform; the registry is the only list ------------------------------------------


def test_the_core_names_no_chat_platform() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "digest").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"slack|telegram", line, re.IGNORECASE)
    ]
    assert offenders == []


def test_help_and_ask_import_no_platform_sdk(tmp_path: Path) -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['digestbot', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('bot.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('slack_bolt', 'slack_sdk', 'telegram')}))\n"
    )
    for args in (["--help"], ["ask", "/help"]):
        result = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
            env={**_clean_env(), "DIGEST_DATA_DIR": str(tmp_path)},
        )  # fmt: skip
        assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


class _Pigeon(ChatPlatform):
    name = "pigeon"
    settings_model = PlatformSettings

    def configured(self) -> bool:
        return True


async def test_a_platform_the_core_never_heard_of_is_stored_listed_and_paced(
    redis_url: str, redis_prefix: str, make_settings: Callable[..., Settings]
) -> None:
    store = RedisStore(redis_url, prefix=redis_prefix)
    try:
        await store.put_subscription(Subscription(platform="pigeon", chat_id="coop-1"))
        await store.put_subscription(Subscription(platform="telegram", chat_id="7"))
        assert {(s.platform, s.chat_id) for s in await store.list_subscriptions()} == {
            ("pigeon", "coop-1"),
            ("telegram", "7"),
        }
        settings = make_settings()
        sent: list[str] = []

        class Poster:
            platform = "pigeon"

            async def post_digest(self, chat_id: str, digest: Any, **_: Any) -> str:
                sent.append(chat_id)
                return "m1"

        digest = (await stored_day(settings))[1]
        await store.save_digest(digest)
        subs = await store.list_subscriptions("pigeon")
        slots = [scheduler.Slot(sub=sub, day=DAY, at=datetime.now(UTC)) for sub in subs]
        fan_out = FanOut(settings, store, {"pigeon": Poster()}, "test", pacing={"slack": Pacing(1.0, 1)})
        report = await fan_out.run(slots)  # no pacing for it: the default, not a KeyError
        assert report.results["sent"] == 1 and sent == ["coop-1"]
    finally:
        await store._r.delete(*[k async for k in store._r.scan_iter(match=f"{redis_prefix}:*")])
        await store.close()


def test_platform_names_and_settings_tables_are_checked_where_they_come_in(
    make_settings: Callable[..., Settings],
) -> None:
    assert registry.names() == ("slack", "telegram")
    with pytest.raises(ConfigError, match="did you mean 'slack'"):
        registry.check_name("slak")
    with pytest.raises(ConfigError, match=r"unknown settings table \[slak\]; did you mean 'slack'"):
        registry.platforms(make_settings().model_copy(update={"sections": {"slak": {}}}))
    with pytest.raises(ConfigError, match=r"\[telegram\] bot_tokn: unknown setting; did you mean 'bot_token'"):
        registry.platforms(make_settings().model_copy(update={"sections": {"telegram": {"bot_tokn": "x"}}}))
    configured = registry.configured(make_settings(telegram_bot_token="1:x", telegram_posts_per_s=2.5))
    assert list(configured) == ["telegram"] and configured["telegram"].pacing().posts_per_s == 2.5
