"""POST /telegram/webhook on the real ASGI app of `digestbot serve`, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bot.web import create_app
from digest.settings import Settings
from tests.fakes.base import ServerThread
from tests.fakes.telegram import FakeTelegram
from tests.telegram_support import SECRET, message_update, stored_day, telegram_settings

CHAT = 777


async def test_webhook_checks_the_secret_then_handles_the_update(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, digest = await stored_day(settings)
    update = message_update(CHAT, "/paper 3 risks")
    with ServerThread(create_app(settings, store)) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            url = "/telegram/webhook"
            missing = await client.post(url, json=update)
            wrong = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert (missing.status_code, wrong.status_code) == (403, 403)
            assert fake_telegram.sent(CHAT) == []
            ok = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert ok.status_code == 200
            (reply,) = fake_telegram.sent(CHAT)
            assert digest.items[2].paper.title in reply.text and "리스크" in reply.text
            garbage = await client.post(url, content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert garbage.status_code == 400
    await store.close()


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
