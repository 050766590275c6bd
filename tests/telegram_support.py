"""Helpers for the Telegram tests: settings pointing at the fake, a stored sample day, update JSON."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

from digest import pipeline
from digest.models import Digest
from digest.settings import Settings
from digest.store import open_store
from digest.store.base import Store
from tests.fakes.telegram import TOKEN, FakeTelegram

DAY = date(2026, 2, 13)
SECRET = "webhook-secret-for-tests"
_message_ids = itertools.count(1000)


def telegram_settings(make_settings: Callable[..., Settings], fake: FakeTelegram, **extra: Any) -> Settings:
    return make_settings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake.url + "/bot",  # type: ignore[attr-defined]
        telegram_webhook_secret=SECRET,
        **extra,
    )


async def stored_day(settings: Settings) -> tuple[Store, Digest]:
    store = open_store(settings)
    result = await pipeline.build(settings, store, DAY, source="sample")
    return store, result.digest


def user(user_id: int = 7) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}", "language_code": "ko"}


def chat(chat_id: int) -> dict[str, Any]:
    kind = "private" if chat_id > 0 else "supergroup"
    return {"id": chat_id, "type": kind, **({"first_name": "Kim"} if kind == "private" else {"title": "Lab"})}


def message_update(chat_id: int, text: str, user_id: int = 7) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": 1770940800,
        "chat": chat(chat_id),
        "from": user(user_id),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_message_ids), "message": message}


def callback_update(fake: FakeTelegram, chat_id: int, message_id: int, data: str, user_id: int = 7) -> dict[str, Any]:
    sent = next(m for m in fake.sent(chat_id) if m.message_id == message_id)
    return {
        "update_id": next(_message_ids),
        "callback_query": {
            "id": f"cb{next(_message_ids)}",
            "from": user(user_id),
            "chat_instance": "instance-1",
            "data": data,
            "message": fake._message_json(sent),
        },
    }
