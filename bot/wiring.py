"""Which platforms this deployment talks to: the posters for the morning fan-out and the listeners of `digestbot run`.

The one place that knows the adapters' constructors, so bot/delivery and bot/scheduler stay platform-free.
A platform is on when its bot token is set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.platform import Poster
from digest.settings import Settings
from digest.store import Store
from digest.store.base import Platform

log = logging.getLogger(__name__)


def make_posters(settings: Settings) -> dict[Platform, Poster]:
    posters: dict[Platform, Poster] = {}
    if settings.slack_bot_token is not None:
        from bot.slack.app import web_client
        from bot.slack.poster import SlackPoster

        posters["slack"] = SlackPoster(web_client(settings), public_url=settings.public_url)
    if settings.telegram_bot_token is not None:
        posters["telegram"] = _telegram_poster(settings)
    return posters


def _telegram_poster(settings: Settings) -> Poster:
    """A poster on its own Application bot (with the adapter's flood-control limiter: 30/s overall, 1/s per chat).
    No store: the fan-out itself counts failures and moves migrated chats, so the poster must not do it too."""
    from bot.telegram.app import build_application
    from bot.telegram.poster import TelegramPoster

    app = build_application(settings, None, polling=False)  # type: ignore[arg-type]
    return TelegramPoster(app.bot, None, tz_name=settings.timezone, public_url=settings.public_url)


def listeners(settings: Settings, store: Store, stop: asyncio.Event) -> dict[str, Coroutine[Any, Any, None]]:
    """The long-running listeners of `digestbot run`: Slack Socket Mode (needs SLACK_APP_TOKEN too) and
    Telegram long polling. `digestbot serve` covers the HTTP ways in (Slack events, Telegram webhook)."""
    out: dict[str, Coroutine[Any, Any, None]] = {}
    if settings.slack_bot_token is not None and settings.slack_app_token is not None:
        from bot.slack.socket_mode import run_socket_mode

        out["slack socket mode"] = run_socket_mode(settings, store)
    if settings.telegram_bot_token is not None and settings.telegram_polling:
        from bot.telegram.app import run_polling

        out["telegram polling"] = run_polling(settings, store, stop)
    return out
