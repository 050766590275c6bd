"""The Telegram adapter against the strict fake Bot API: real python-telegram-bot over real HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application

from bot import scheduler
from bot.commands import buttons
from bot.delivery import FanOut
from bot.platform import ChatMoved, ChatUnreachable, PostProgress, Superseded
from bot.telegram.app import build_application, poster_of, run_polling
from bot.telegram.html import CAPTION_LIMIT, paginate, paper_blocks
from bot.telegram.poster import TelegramPoster
from bot.telegram.ratelimit import ChatRateLimiter, retry_after_seconds
from digest.models import Digest
from digest.settings import Settings
from digest.store.base import Store, Subscription
from tests.fakes.base import Fault
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.telegram_support import DAY, callback_update, message_update, stored_day, telegram_settings

CHAT = 4242
GROUP = -1001234567890


@pytest.fixture
async def bot_env(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> AsyncIterator[tuple[Application, Store, Digest, FakeTelegram]]:  # type: ignore[type-arg]
    settings = telegram_settings(
        make_settings, fake_telegram, public_url="https://digest.example.org", delivery_backoff_s=0.0
    )
    store, digest = await stored_day(settings)
    # No per-chat spacing here (the bench measures it); the fake enforces nothing unless a test asks.
    app = build_application(settings, store, polling=False, rate_limiter=ChatRateLimiter(per_chat_interval_s=0))
    app.bot_data["settings"] = settings
    async with app:
        yield app, store, digest, fake_telegram
    await store.close()


def fits_caption(digest: Digest, item: Any) -> bool:
    pieces = paginate(paper_blocks(item, digest.lang, digest.date, "https://digest.example.org"))
    return len(pieces) == 1 and len(pieces[0].text.encode("utf-16-le")) // 2 <= CAPTION_LIMIT


async def feed(app: Application, update: dict[str, Any]) -> None:  # type: ignore[type-arg]
    await app.process_update(Update.de_json(update, app.bot))


def keys_of(message: Any) -> list[dict[str, Any]]:
    return [b for row in message.reply_markup["inline_keyboard"] for b in row]


async def fan_out(app: Application, store: Store, digest: Digest, *chats: int) -> Any:  # type: ignore[type-arg]
    """The morning delivery to `chats` (subscribed in the store) through the application's poster."""
    settings: Settings = app.bot_data["settings"]
    subs = [s for s in await store.list_subscriptions("telegram") if int(s.chat_id) in chats]
    slots = [scheduler.Slot(sub=sub, day=digest.date, at=datetime.now(UTC)) for sub in subs]
    return await FanOut(settings, store, {"telegram": poster_of(app)}, "test-sender").run(slots)


async def test_morning_post_header_then_one_message_per_paper_with_section_buttons(bot_env: Any) -> None:
    app, _, digest, fake = bot_env
    first = await poster_of(app).post_digest(str(CHAT), digest)

    sent = fake.sent(CHAT)
    assert len(sent) == 1 + len(digest.items) == 6
    assert first == str(sent[0].message_id)
    header = sent[0]
    assert header.parse_mode == "HTML" and "2026-02-13" in header.text
    for item in digest.items:
        assert item.paper.title in header.text
    for item, message in zip(digest.items, sent[1:], strict=True):
        assert message.text.startswith(f"{item.rank}. {item.paper.title}")
        assert f"https://digest.example.org/d/2026-02-13#{item.rank}" in json.dumps(message.entities)
        pressed = [buttons.decode(b["callback_data"]) for b in keys_of(message)]
        assert {"risks", "actions", "dev", "abstract"} <= {b.section for b in pressed if b}
        assert all(b is not None and b.paper_id == item.paper.id and b.rank is None for b in pressed)
        assert all(len(b["callback_data"].encode()) <= 64 for b in keys_of(message))
        # the thumbnail: a photo when the message fits in a caption, else the link preview above the text
        if item.paper.thumbnail and fits_caption(digest, item):
            assert message.photo == item.paper.thumbnail and len(message.text) <= CAPTION_LIMIT
        elif item.paper.thumbnail:
            assert message.photo is None and message.preview["url"] == item.paper.thumbnail


async def test_a_thumbnail_telegram_cannot_fetch_costs_the_picture_not_the_message(bot_env: Any) -> None:
    app, _, digest, fake = bot_env
    fake.bad_photos.update(i.paper.thumbnail for i in digest.items if i.paper.thumbnail)
    await poster_of(app).post_digest(str(CHAT), digest)
    sent = fake.sent(CHAT)
    assert len(sent) == 6 and not any(m.photo for m in sent)
    assert (
        len(fake.calls_to("/sendPhoto"))
        == sum(1 for i in digest.items if i.paper.thumbnail and fits_caption(digest, i))
        > 0
    )


async def test_html_telegram_cannot_parse_goes_again_as_plain_text(bot_env: Any) -> None:
    app, _, digest, fake = bot_env
    fake.fail_next(
        Fault(
            400,
            body={"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities: test"},
            path="sendMessage",
        )
    )
    await poster_of(app).post_digest(str(CHAT), digest)
    sent = fake.sent(CHAT)
    assert len(sent) == 6
    assert sent[0].parse_mode is None and "2026-02-13" in sent[0].text and "<b>" not in sent[0].text


async def test_flood_control_is_waited_out_and_the_post_completes(bot_env: Any) -> None:
    app, _, digest, fake = bot_env
    body = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    fake.fail_next(Fault(429, body=body, path="sendMessage"), Fault(429, body=body, path="sendMessage"))
    await poster_of(app).post_digest(str(CHAT), digest)
    texts = [m.text for m in fake.sent(CHAT)]
    assert len(texts) == 6 and len(set(texts)) == 6  # nothing lost, nothing twice


def test_retry_after_is_read_as_int_or_timedelta() -> None:
    assert retry_after_seconds(RetryAfter(3)) == 3.0
    assert retry_after_seconds(RetryAfter(timedelta(seconds=2.5))) == 2.5


async def test_a_blocked_bot_unsubscribes_the_chat_after_three_failed_mornings(bot_env: Any, caplog: Any) -> None:
    app, store, digest, fake = bot_env
    await store.put_subscription(Subscription(platform="telegram", chat_id=str(CHAT)))
    fake.blocked.add(CHAT)
    caplog.set_level(logging.INFO)
    for morning in range(3):  # the same digest on three days: one failed morning each
        day = digest.model_copy(update={"date": DAY + timedelta(days=morning)})
        await store.save_digest(day)
        report = await fan_out(app, store, day, CHAT)
        assert report.results["unreachable"] == 1
        sub = await store.get_subscription("telegram", str(CHAT))
        assert (sub.failures if sub else None) == (morning + 1 if morning < 2 else None)
    assert len([r for r in caplog.records if r.getMessage().startswith("unsubscribed")]) == 1
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


async def test_a_poster_only_reports_what_happened_the_delivery_decides(bot_env: Any) -> None:
    app, store, digest, fake = bot_env
    await store.put_subscription(Subscription(platform="telegram", chat_id=str(CHAT)))
    fake.blocked.add(CHAT)
    with pytest.raises(ChatUnreachable):
        await poster_of(app).post_digest(str(CHAT), digest)
    sub = await store.get_subscription("telegram", str(CHAT))
    assert sub is not None and sub.failures == 0  # counting failures is bot/delivery's job, not the poster's


async def test_a_migrated_group_moves_its_subscription_to_the_new_chat_id(bot_env: Any) -> None:
    app, store, digest, fake = bot_env
    old, new = -4001, -1004001
    await store.put_subscription(Subscription(platform="telegram", chat_id=str(old), topics=["llm"]))
    fake.migrated[old] = new
    with pytest.raises(ChatMoved) as raised:
        await poster_of(app).post_digest(str(old), digest)
    assert raised.value.new_chat_id == str(new)
    report = await fan_out(app, store, digest, old)
    assert report.results["sent"] == 1 and report.moved == 1
    assert await store.get_subscription("telegram", str(old)) is None
    moved = await store.get_subscription("telegram", str(new))
    assert moved is not None and moved.topics == ["llm"]
    assert fake.sent(new)


async def test_paper_3_risks_is_answered_from_the_store(bot_env: Any) -> None:
    app, _, digest, fake = bot_env
    await feed(app, message_update(CHAT, "/paper 3 risks"))
    (reply,) = fake.sent(CHAT)
    assert reply.parse_mode == "HTML"
    assert digest.items[2].paper.title in reply.text
    assert "리스크" in reply.text
    for risk in digest.items[2].brief.risks:
        assert risk in reply.text


async def test_a_bad_command_gets_a_short_reply_with_a_working_example(bot_env: Any) -> None:
    app, _, _, fake = bot_env
    await feed(app, message_update(CHAT, "/paper 99 <b>"))
    (reply,) = fake.sent(CHAT)
    assert "/paper" in reply.text and len(reply.text) < 1000


async def test_a_section_button_edits_the_paper_message_and_is_always_answered(bot_env: Any) -> None:
    app, _, digest, fake = bot_env
    await poster_of(app).post_digest(str(CHAT), digest)
    fake.bad_photos.clear()
    paper3 = fake.sent(CHAT)[3]
    data = next(b["callback_data"] for b in keys_of(paper3) if buttons.decode(b["callback_data"]).section == "risks")  # type: ignore[union-attr]
    await feed(app, callback_update(fake, CHAT, paper3.message_id, data))
    assert len(fake.callback_answers) == 1
    after = fake.sent(CHAT)
    risks = digest.items[2].brief.risks
    if paper3.photo:  # a photo caption is not edited: the section comes as a reply
        assert len(after) == 7 and all(r in after[-1].text for r in risks)
    else:
        assert len(after) == 6 and after[3].edits == 1 and all(r in after[3].text for r in risks)
    # a stale button (the digest is gone) still gets an answer, with an alert
    await feed(app, callback_update(fake, CHAT, paper3.message_id, "s|2020-01-01|ko|3|risks"))
    assert len(fake.callback_answers) == 2 and fake.callback_answers[-1].get("show_alert") in ("true", "True", True)


async def test_subscribe_settings_unsubscribe_in_a_private_chat(bot_env: Any) -> None:
    app, store, _, fake = bot_env
    await feed(app, message_update(CHAT, "/subscribe"))
    assert await store.get_subscription("telegram", str(CHAT)) is not None
    await feed(app, message_update(CHAT, "/settings time 07:30"))
    await feed(app, message_update(CHAT, "/settings timezone Europe/Berlin"))
    await feed(app, message_update(CHAT, "/settings topics llm, agents"))
    await feed(app, message_update(CHAT, "/settings timezone Mars/Base"))
    sub = await store.get_subscription("telegram", str(CHAT))
    assert sub is not None and sub.post_time.strftime("%H:%M") == "07:30"  # type: ignore[union-attr]
    assert sub.timezone == "Europe/Berlin" and sub.topics == ["llm", "agents"]
    assert "Asia/Seoul" in fake.sent(CHAT)[-1].text  # the bad timezone got an example
    await feed(app, message_update(CHAT, "/unsubscribe"))
    assert await store.get_subscription("telegram", str(CHAT)) is None


async def test_in_groups_only_admins_change_the_subscription(bot_env: Any) -> None:
    app, store, _, fake = bot_env
    fake.admins[GROUP].add(1)
    await feed(app, message_update(GROUP, "/subscribe@paper_digest_test_bot", user_id=2))
    assert await store.get_subscription("telegram", str(GROUP)) is None
    assert "관리자" in fake.sent(GROUP)[-1].text
    await feed(app, message_update(GROUP, "/subscribe@paper_digest_test_bot", user_id=1))
    assert await store.get_subscription("telegram", str(GROUP)) is not None
    await feed(app, message_update(GROUP, "/unsubscribe", user_id=2))
    assert await store.get_subscription("telegram", str(GROUP)) is not None


async def test_polling_mode_registers_commands_and_answers(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(settings, store, stop))
    fake_telegram.push_update(message_update(CHAT, "/help"))
    for _ in range(500):  # wait for the reply (not a timing assertion: the deadline only bounds a hang)
        if fake_telegram.sent(CHAT) or task.done():
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    assert [c["command"] for c in fake_telegram.commands] == [
        "start",
        "help",
        "paper",
        "digest",
        "sections",
        "subscribe",
        "unsubscribe",
        "settings",
    ]
    assert fake_telegram.sent(CHAT) and "/paper" in fake_telegram.sent(CHAT)[0].text
    await store.close()


async def test_progress_after_each_message_and_a_resumed_post_sends_only_the_missing_papers(bot_env: Any) -> None:
    app, _, digest, fake = bot_env
    poster: TelegramPoster = poster_of(app)
    seen: list[PostProgress] = []

    async def on_progress(progress: PostProgress) -> None:
        seen.append(progress)
        if progress.done == 3:
            raise Superseded("stop here, as a sender that died after recording message 3")

    with pytest.raises(Superseded):
        await poster.post_digest(str(CHAT), digest, on_progress=on_progress)
    first = str(fake.sent(CHAT)[0].message_id)
    assert seen == [PostProgress(n, first) for n in (1, 2, 3)] and len(fake.sent(CHAT)) == 3
    seen.clear()
    assert await poster.post_digest(str(CHAT), digest, resume=PostProgress(3, first), on_progress=on_progress) == first
    sent = fake.sent(CHAT)
    assert seen == [PostProgress(n, first) for n in (4, 5, 6)]
    # One header, five papers, each once: exactly what an uninterrupted post gives.
    assert len(sent) == 6 and sum(1 for m in sent if "2026-02-13" in m.text and m.reply_markup is None) == 1
    assert [m.text.split(".")[0] for m in sent[1:]] == [str(item.rank) for item in digest.items]


async def test_every_command_is_answered_but_one_addressed_to_another_bot_is_left_alone(bot_env: Any) -> None:
    app, _, _, fake = bot_env
    for text in ("/sections", "/whatever", "/paper@paper_digest_test_bot 3 risks"):
        before = len(fake.sent(GROUP))
        await feed(app, message_update(GROUP, text))
        assert len(fake.sent(GROUP)) > before, text
    before = len(fake.sent(GROUP))
    await feed(app, message_update(GROUP, "/paper@some_other_bot 3 risks"))
    assert len(fake.sent(GROUP)) == before
