"""Which platforms this deployment talks to: the posters for the morning fan-out and the listeners of `digestbot run`.

The one place that knows the adapters' constructors, so bot/delivery and bot/scheduler stay platform-free.
A platform is on when its bot token is set.
"""

from __future__ import annotations

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
        telegram = _telegram_poster(settings)
        if telegram is not None:
            posters["telegram"] = telegram
    return posters


def _telegram_poster(settings: Settings) -> Poster | None:
    # HOOK(issue-6): the Telegram adapter's poster, once its branch is merged.
    try:
        from bot.telegram.poster import make_poster  # type: ignore[import-not-found]
    except ImportError:
        log.warning("TELEGRAM_BOT_TOKEN is set but this build has no Telegram adapter; Telegram chats are skipped")
        return None
    return make_poster(settings)  # type: ignore[no-any-return]


def listeners(settings: Settings, store: Store) -> dict[str, Coroutine[Any, Any, None]]:
    """The long-running listeners of `digestbot run`: Slack Socket Mode (needs SLACK_APP_TOKEN too) and
    Telegram long polling. `digestbot serve` covers the HTTP ways in (Slack events, Telegram webhook)."""
    out: dict[str, Coroutine[Any, Any, None]] = {}
    if settings.slack_bot_token is not None and settings.slack_app_token is not None:
        from bot.slack.socket_mode import run_socket_mode

        out["slack socket mode"] = run_socket_mode(settings, store)
    if settings.telegram_bot_token is not None:
        # HOOK(issue-6): Telegram long polling, once its branch is merged.
        try:
            from bot.telegram.polling import run_polling  # type: ignore[import-not-found]
        except ImportError:
            pass
        else:
            out["telegram polling"] = run_polling(settings, store)
    return out
