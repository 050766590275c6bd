"""Socket Mode for `digestbot run`: no public URL, Slack connects over a websocket opened with SLACK_APP_TOKEN."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.slack.app import build_app, close_app
from bot.slack.platform import SlackSettings
from digest.settings import ConfigError, Settings
from digest.store import Store


def socket_mode_handler(settings: Settings, store: Store) -> AsyncSocketModeHandler:
    app_token = SlackSettings.of(settings, "slack").app_token
    if app_token is None:
        raise ConfigError("SLACK_APP_TOKEN (xapp-…) is not set; Socket Mode needs an app-level token (README, Slack)")
    app = build_app(settings, store, socket_mode=True)
    return AsyncSocketModeHandler(app, app_token.get_secret_value())


async def run_socket_mode(settings: Settings, store: Store) -> None:
    """Connect and serve until cancelled; `digestbot run` awaits this beside Telegram and the scheduler."""
    handler = socket_mode_handler(settings, store)
    try:
        await handler.start_async()
    finally:
        await handler.close_async()
        await close_app(handler.app)
