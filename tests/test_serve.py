"""The `digestbot serve` app as a whole: /metrics counts the follow-ups both adapters answer, and stopping the
server shuts down what the adapters started (the Telegram Application) and closes the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Route
from telegram.ext import Application

from bot.telegram.webhook import TelegramWebhook
from bot.web import create_app
from digest.settings import Settings
from tests.fakes.base import ServerThread
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.slack_support import build_day_sync, command_body, post_signed, slack_settings, store_for, wait_for
from tests.telegram_support import SECRET, message_update

CHAT = 4242
HOOK_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def both_settings(make_settings: Callable[..., Settings], slack: FakeSlack, telegram: FakeTelegram) -> Settings:
    return slack_settings(
        make_settings,
        slack,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=telegram.url + "/bot",  # type: ignore[attr-defined]
        telegram_webhook_secret=SECRET,
    )


def answered(base_url: str) -> dict[tuple[str, str], float]:
    """digest_commands_answered by (platform, kind), read from the served /metrics."""
    response = httpx.get(base_url + "/metrics")
    assert response.status_code == 200
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "digest_commands_answered_total":
                counts[(sample.labels["platform"], sample.labels["kind"])] = sample.value
    return counts


def test_metrics_count_the_follow_ups_each_adapter_answers(
    fake_slack: FakeSlack, fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = both_settings(make_settings, fake_slack, fake_telegram)
    build_day_sync(settings)
    with ServerThread(create_app(settings, store_for(settings)), lifespan="on") as server:
        before = answered(server.url)
        assert post_signed(server.url, command_body("/paper", "3 risks", fake_slack)).status_code == 200
        assert post_signed(server.url, command_body("/paper", "9 risks", fake_slack)).status_code == 200
        wait_for(lambda: len(fake_slack.responses) >= 2, "both Slack answers")
        for text in ("/paper 3 risks", "/help", "/paper banana"):
            hook = httpx.post(server.url + "/telegram/webhook", json=message_update(CHAT, text), headers=HOOK_HEADERS)
            assert hook.status_code == 200
        after = answered(server.url)
    grown = {key: after[key] - before.get(key, 0.0) for key in after if after[key] != before.get(key, 0.0)}
    assert grown == {
        ("slack", "answer"): 1,
        ("slack", "error"): 1,
        ("telegram", "answer"): 1,
        ("telegram", "help"): 1,
        ("telegram", "error"): 1,
    }


def test_stopping_the_server_shuts_the_telegram_application_down_and_closes_the_store(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings], monkeypatch: Any
) -> None:
    settings = make_settings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake_telegram.url + "/bot",  # type: ignore[attr-defined]
        telegram_webhook_secret=SECRET,
    )
    build_day_sync(settings)
    store = store_for(settings)
    closed: list[str] = []
    original_close = store.close

    async def close() -> None:
        closed.append("store")
        await original_close()

    monkeypatch.setattr(store, "close", close)
    app = create_app(settings, store)
    (hook,) = [r.endpoint.__self__ for r in app.routes if isinstance(r, Route) and r.path == "/telegram/webhook"]
    assert isinstance(hook, TelegramWebhook)
    with ServerThread(app, lifespan="on") as server:
        response = httpx.post(
            server.url + "/telegram/webhook", json=message_update(CHAT, "/help"), headers=HOOK_HEADERS
        )
        assert response.status_code == 200
        application: Application = hook._app  # type: ignore[assignment]  # built by the first update
        assert application is not None and application.bot._requests_initialized
        assert closed == []
    assert hook._app is None and not application.bot._requests_initialized  # Bot.shutdown closed its HTTP client
    assert application.bot.request._client.is_closed  # type: ignore[attr-defined]
    assert closed == ["store"]


async def test_digestbot_build_counts_its_build_and_tokens(make_settings: Callable[..., Settings]) -> None:
    from bot.cli.build import build_day
    from bot.metrics import REGISTRY
    from tests.telegram_support import DAY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (value("digest_builds_total", outcome="ok"), value("digest_build_duration_seconds_count"))
    await build_day(make_settings(), DAY, "sample", None, False)
    after = (value("digest_builds_total", outcome="ok"), value("digest_build_duration_seconds_count"))
    assert after == (before[0] + 1, before[1] + 1)
    assert REGISTRY.get_sample_value("digest_llm_tokens_total", {"direction": "input"}) is not None
