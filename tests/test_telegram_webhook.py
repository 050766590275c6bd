"""POST /telegram/webhook on the real ASGI app of `digestbot serve`, over real HTTP: the secret, the update's
shape, the acknowledgement before the answer, one answer per update_id, per-chat order, a bounded queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from bot.chatqueue import ChatQueue
from bot.telegram.webhook import TelegramWebhook
from bot.web import create_app
from digest.settings import Settings
from digest.store.base import Store
from digest.store.redis import RedisStore
from tests.fakes.base import ServerThread
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.redis_server import free_port
from tests.slack_support import wait_for
from tests.telegram_support import SECRET, chat, message_update, stored_day, telegram_settings, user

CHAT = 777
OTHER_CHAT = 778
HOOK = "/telegram/webhook"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
ANSWER_S = 30.0  # how long a test waits for an answer: a bound on a hang, not a measurement


def post(base_url: str, update: Any, **kwargs: Any) -> httpx.Response:
    content = update if isinstance(update, bytes) else json.dumps(update).encode()
    return httpx.post(base_url + HOOK, content=content, headers=HEADERS, timeout=30, **kwargs)


def hook_of(app: Starlette) -> TelegramWebhook:
    (hook,) = [r.endpoint.__self__ for r in app.routes if isinstance(r, Route) and r.path == HOOK]  # type: ignore[attr-defined]
    assert isinstance(hook, TelegramWebhook)
    return hook


@contextmanager
def served(settings: Settings, store: Store, **server: Any) -> Iterator[tuple[str, TelegramWebhook]]:
    app = create_app(settings, store)
    with ServerThread(app, **server) as thread:
        yield thread.url, hook_of(app)


def texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text for m in fake.sent(chat_id)]


async def test_webhook_checks_the_secret_then_answers_after_acknowledging(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, digest = await stored_day(settings)
    update = message_update(CHAT, "/paper 3 risks")
    with served(settings, store) as (url, _):
        missing = httpx.post(url + HOOK, json=update)
        wrong = httpx.post(url + HOOK, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
        assert (missing.status_code, wrong.status_code) == (403, 403)
        assert fake_telegram.sent(CHAT) == []
        assert post(url, update).status_code == 200
        (reply,) = wait_for(lambda: fake_telegram.sent(CHAT), "the reply", ANSWER_S)
        assert digest.items[2].paper.title in reply.text and "리스크" in reply.text
        assert post(url, b"{not json").status_code == 400
    await store.close()


async def test_the_acknowledgement_waits_for_neither_the_bot_api_nor_its_getme(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    """Every Bot API call is held (getMe of the first update included) while Telegram's request is answered."""
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    api = fake_telegram.hold()
    try:
        with served(settings, store) as (url, _):
            assert post(url, message_update(CHAT, "/paper 1 summary")).status_code == 200
            assert fake_telegram.sent(CHAT) == []  # acknowledged, not answered
            api.set()
            wait_for(lambda: fake_telegram.sent(CHAT), "the reply once the Bot API answers", ANSWER_S)
    finally:
        api.set()
        await store.close()


async def test_the_same_update_sent_twice_is_answered_once(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    update = message_update(CHAT, "/paper 2 risks")
    with served(settings, store) as (url, _):
        assert [post(url, update).status_code for _ in range(2)] == [200, 200]  # Telegram's retry after a lost 200
        # Replies to one chat keep their order, so once the next update's reply is out both copies were handled.
        post(url, message_update(CHAT, "/help"))
        wait_for(lambda: len(fake_telegram.sent(CHAT)) >= 2, "the reply to /help", ANSWER_S)
    sent = texts(fake_telegram, CHAT)
    assert len(sent) == 2 and sent[0].startswith("2. ") and "/paper" in sent[1]
    await store.close()


async def test_one_chat_is_answered_in_order_and_a_slow_chat_holds_up_no_other(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, digest = await stored_day(settings)
    slow = fake_telegram.hold("sendMessage", CHAT)
    try:
        with served(settings, store) as (url, _):
            for text in ("/paper 1 summary", "/paper 2 summary", "/paper 3 summary"):
                assert post(url, message_update(CHAT, text)).status_code == 200
            assert post(url, message_update(OTHER_CHAT, "/paper 4 summary")).status_code == 200
            wait_for(lambda: fake_telegram.sent(OTHER_CHAT), "the other chat's reply", ANSWER_S)
            assert fake_telegram.sent(CHAT) == []
            slow.set()
            wait_for(lambda: len(fake_telegram.sent(CHAT)) == 3, "the slow chat's three replies", ANSWER_S)
    finally:
        slow.set()
    titles = [item.paper.title for item in digest.items[:3]]
    assert [next(t for t in titles if t in text) for text in texts(fake_telegram, CHAT)] == titles
    await store.close()


async def test_a_full_queue_answers_503_and_the_update_sent_again_is_answered(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    api = fake_telegram.hold("sendMessage")
    try:
        with served(settings, store) as (url, hook):
            hook.queue = ChatQueue("small", max_pending=2)
            updates = [message_update(chat_id, "/help") for chat_id in (1, 2, 3)]
            assert [post(url, u).status_code for u in updates] == [200, 200, 503]
            api.set()
            wait_for(lambda: fake_telegram.sent(1) and fake_telegram.sent(2), "the two queued replies", ANSWER_S)
            assert fake_telegram.sent(3) == []
            wait_for(lambda: post(url, updates[2]).status_code == 200, "room in the queue", ANSWER_S)  # the retry
            wait_for(lambda: fake_telegram.sent(3), "the retried update's reply", ANSWER_S)
            stopped = ChatQueue("stopped")
            await stopped.drain(0)  # what the server's shutdown does to its queue
            hook.queue = stopped
            assert post(url, message_update(4, "/help")).status_code == 503
    finally:
        api.set()
        await store.close()


def _nested(depth: int) -> bytes:
    return b'{"update_id": 1, "message": ' + b"[" * depth + b"]" * depth + b"}"


MALFORMED: dict[str, bytes] = {
    "empty object": b"{}",
    "a list": b"[1, 2, 3]",
    "a string": b'"update"',
    "not JSON": b"{not json",
    "not UTF-8": b'{"update_id": 1, "x": "\xff\xfe' + bytes([0xFF, 0xFE]) + b'"}',
    "nested 100,000 deep": _nested(100_000),
    "nested 33 deep": _nested(33),
    "an update_id of 5,000 digits": b'{"update_id": ' + b"9" * 5000 + b"}",
    "an update_id past 2**63": b'{"update_id": 99999999999999999999999}',
    "an update_id of 1e999": b'{"update_id": 1e999}',
    "an update_id as text": b'{"update_id": "12"}',
    "a negative update_id": b'{"update_id": -1}',
    "a chat without id": json.dumps(
        {"update_id": 5, "message": {"message_id": 1, "date": 1, "chat": {"type": "private"}, "text": "/help"}}
    ).encode(),
    "a chat id as text": json.dumps(
        {
            "update_id": 6,
            "message": {"message_id": 1, "date": 1, "chat": {"id": "x", "type": "private"}, "text": "/help"},
        }
    ).encode(),
    "a date past any clock": json.dumps(
        {"update_id": 7, "message": {"message_id": 1, "date": 10**30, "chat": chat(CHAT), "text": "/help"}}
    ).encode(),
    "text that is a number": json.dumps(
        {"update_id": 8, "message": {"message_id": 1, "date": 1, "chat": chat(CHAT), "text": 5}}
    ).encode(),
    "a message that is a list": b'{"update_id": 9, "message": [1, 2]}',
    "a button press from nobody": json.dumps({"update_id": 10, "callback_query": {"id": "q", "data": "x"}}).encode(),
}


async def test_malformed_updates_with_the_secret_get_400_and_the_next_update_is_still_answered(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    with served(settings, store) as (url, _):
        got = {name: post(url, body) for name, body in MALFORMED.items()}
        assert {name: r.status_code for name, r in got.items()} == {name: 400 for name in MALFORMED}
        assert all(len(r.content) < 300 for r in got.values())  # says what is wrong, never echoes the body
        assert post(url, message_update(CHAT, "/help")).status_code == 200
        wait_for(lambda: fake_telegram.sent(CHAT), "the reply after the malformed updates", ANSWER_S)
    assert [m.chat_id for m in fake_telegram.sent()] == [CHAT]  # nothing was sent for the malformed ones
    assert all(len(record.getMessage()) < 500 for record in caplog.records)
    await store.close()


@pytest.mark.parametrize("data", [None, "", "garbage|with|pipes", "p|2026-13-45|ko|x|risks"])
async def test_a_button_that_is_not_ours_is_answered_also_without_a_message(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings], data: str | None
) -> None:
    """Clients spin until answerCallbackQuery: every press gets one, even one on an inline message (no chat)."""
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    query: dict[str, Any] = {"id": "q-1", "from": user(), "chat_instance": "i-1", "inline_message_id": "im-1"}
    if data is not None:
        query["data"] = data
    with served(settings, store) as (url, _):
        assert post(url, {"update_id": 4001, "callback_query": query}).status_code == 200
        (answer,) = wait_for(lambda: fake_telegram.callback_answers, "answerCallbackQuery", ANSWER_S)
    assert answer["callback_query_id"] == "q-1" and answer.get("show_alert") in (True, "true", "True")
    await store.close()


async def test_subscribe_while_the_store_is_down_gets_the_same_answer_as_paper(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    down = RedisStore(f"redis://127.0.0.1:{free_port()}/0", connect_timeout_s=0.2)
    with served(settings, down) as (url, _):
        for text in ("/paper 3 risks", "/subscribe 07:30", "/settings"):
            assert post(url, message_update(CHAT, text)).status_code == 200
        wait_for(lambda: len(fake_telegram.sent(CHAT)) == 3, "three replies", ANSWER_S)
    paper, subscribe, settings_reply = texts(fake_telegram, CHAT)
    assert "잠시 사용할 수 없습니다" in paper and subscribe == paper and settings_reply == paper
    await down.close()


async def test_stopping_the_server_first_answers_what_is_queued(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    api = fake_telegram.hold("sendMessage")
    app = create_app(settings, store)
    hook = hook_of(app)
    closing = threading.Event()
    drain = hook.queue.drain

    async def drain_and_tell(timeout_s: float) -> int:
        closing.set()
        return await drain(timeout_s)

    hook.queue.drain = drain_and_tell  # type: ignore[method-assign]
    server = ServerThread(app, lifespan="on").__enter__()
    try:
        assert post(server.url, message_update(CHAT, "/paper 5 risks")).status_code == 200
        stopping = threading.Thread(target=server.__exit__, args=(None, None, None))
        stopping.start()
        assert closing.wait(ANSWER_S), "the server never began its shutdown"
        api.set()  # the reply can go out only now, while the server is shutting down
        stopping.join(ANSWER_S)
        assert not stopping.is_alive()
    finally:
        api.set()
    (reply,) = fake_telegram.sent(CHAT)
    assert reply.text.startswith("5. ")


async def test_without_a_configured_secret_every_request_is_refused(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram).model_copy(update={"telegram_webhook_secret": None})
    store, _ = await stored_day(settings)
    with ServerThread(create_app(settings, store)) as server:
        response = httpx.post(server.url + "/telegram/webhook", json=message_update(CHAT, "/help"))
    assert response.status_code == 403 and fake_telegram.sent(CHAT) == []
    await store.close()


def test_digestbot_telegram_webhook_points_telegram_at_serve_and_registers_commands(
    fake_telegram: FakeTelegram, tmp_path
) -> None:
    import os
    import subprocess
    import sys

    from tests.fakes.telegram import TOKEN

    env = {
        **os.environ,
        "DIGEST_DATA_DIR": str(tmp_path),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake_telegram.url + "/bot",  # type: ignore[attr-defined]
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }

    def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "telegram-webhook", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = cli("https://digest.example.org/telegram/webhook")
    assert done.returncode == 0, done.stderr
    assert fake_telegram.webhook["url"] == "https://digest.example.org/telegram/webhook"
    assert fake_telegram.webhook["secret_token"] == SECRET
    assert set(fake_telegram.commands_by_language) == {"", "ko", "en"}
    assert {c["command"] for c in fake_telegram.commands_by_language["en"]} >= {"paper", "digest", "subscribe"}
    assert TOKEN not in done.stdout + done.stderr
    # A wrong URL and a missing secret are usage mistakes: exit 2 and say what would work.
    wrong = cli("http://digest.example.org/hook")
    assert wrong.returncode == 2 and "https://YOUR-HOST/telegram/webhook" in wrong.stderr
    env.pop("TELEGRAM_WEBHOOK_SECRET")
    no_secret = cli("https://digest.example.org/telegram/webhook")
    assert no_secret.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET" in no_secret.stderr


def test_two_serve_processes_sharing_redis_answer_an_update_once(
    fake_telegram: FakeTelegram, tmp_path: Any, redis_url: str, redis_prefix: str
) -> None:
    """The same update delivered to two `digestbot serve` processes (a retry landing on the other replica)."""
    from tests.test_cli import ROOT

    env = {
        **os.environ,
        "DIGEST_DATA_DIR": str(tmp_path),
        "REDIS_URL": redis_url,
        "DIGEST_KEY_PREFIX": redis_prefix,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake_telegram.url + "/bot",  # type: ignore[attr-defined]
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:
            wait_for(lambda url=url: _up(url), f"{url} to serve", 60)
        update = message_update(CHAT, "/help")
        assert [post(url, update).status_code for url in urls] == [200, 200]
        # Per-chat order in each process: once each one's next reply is out, each has handled its copy.
        for n, url in enumerate(urls):
            post(url, message_update(CHAT, f"/nosuchcommand{n}"))
        wait_for(lambda: len(fake_telegram.sent(CHAT)) >= 3, "both processes' next replies", ANSWER_S)
    finally:
        for process in servers:
            process.terminate()
        logs = [process.communicate(timeout=60)[1].decode() for process in servers]
    sent = texts(fake_telegram, CHAT)
    assert len(sent) == 3, sent
    assert sum("nosuchcommand" in text for text in sent) == 2
    assert TOKEN not in "".join(logs) and TOKEN.split(":")[1] not in "".join(logs)


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
