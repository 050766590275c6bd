"""Helpers for the Slack tests: a stored sample digest, the served app, signed requests, waiting for the fake."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from digest import pipeline
from digest.models import Digest, Lang
from digest.settings import Settings
from digest.store.sqlite import SqliteStore
from tests.fakes.slack import BOT_TOKEN, TEAM_ID, FakeSlack, signed_headers

SECRET = "test-signing-secret-0123456789"
DAY = date(2026, 2, 13)


def slack_settings(make_settings: Callable[..., Settings], fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SECRET,
        "slack_api_base_url": fake.api_url,
    }
    return make_settings(**(values | overrides))


def store_for(settings: Settings) -> SqliteStore:
    return SqliteStore(Path(settings.data_dir) / "store.sqlite3", prefix=settings.key_prefix)


async def build_day(settings: Settings, day: date = DAY, lang: Lang = "ko") -> Digest:
    """The sample day, built offline and stored, with a store of its own (the server opens another)."""
    store = store_for(settings)
    try:
        return (await pipeline.build(settings, store, day, source="sample", lang=lang)).digest
    finally:
        await store.close()


def build_day_sync(settings: Settings, day: date = DAY) -> Digest:
    return asyncio.run(build_day(settings, day))


def command_body(command: str, text: str, fake: FakeSlack, *, user: str = "U0MEMBER", channel: str = "C0PAPERS") -> str:
    return urlencode(
        {
            "token": "deprecated",
            "team_id": TEAM_ID,
            "channel_id": channel,
            "user_id": user,
            "command": command,
            "text": text,
            "response_url": fake.response_url_for(f"{command.strip('/')}-{time.monotonic_ns()}"),
            "trigger_id": "1.2.3",
            "api_app_id": "A0TEST",
        }
    )


def action_body(fake: FakeSlack, action: dict[str, Any], *, message_ts: str, channel: str = "C0PAPERS") -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": "U0MEMBER"},
        "api_app_id": "A0TEST",
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "message": {"ts": message_ts, "type": "message"},
        "response_url": fake.response_url_for(f"action-{time.monotonic_ns()}"),
        "trigger_id": "1.2.3",
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})


def event_body(event_id: str, text: str, *, channel: str = "C0PAPERS", ts: str = "1770940000.000001") -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "api_app_id": "A0TEST",
            "event_id": event_id,
            "event_time": 1770940000,
            "event": {"type": "app_mention", "user": "U0MEMBER", "text": text, "channel": channel, "ts": ts},
        }
    )


def post_signed(
    base_url: str, body: str, *, secret: str = SECRET, timestamp: int | None = None, form: bool = True, **headers: str
) -> httpx.Response:
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    all_headers = {"Content-Type": kind, **signed_headers(secret, body, timestamp=timestamp), **headers}
    return httpx.post(f"{base_url}/slack/events", content=body, headers=all_headers, timeout=10)


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 10.0) -> Any:
    """Poll until `condition()` is truthy (the answer goes out after the ack); fail naming what never came."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
