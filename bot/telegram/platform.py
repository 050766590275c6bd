"""Telegram as a ChatPlatform: its settings, and how the rest of the bot reaches its poster, listeners, routes and
its `digestbot telegram-webhook` command.

Imports nothing from python-telegram-bot at module level (see bot/platform/seam.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator

from bot.platform.seam import ChatPlatform, OnShutdown, PlatformSettings
from digest.settings import http_url

if TYPE_CHECKING:
    import typer
    from starlette.routing import BaseRoute

    from bot.commands.reply import Reply
    from bot.platform.posting import Poster
    from digest.store import Store


class TelegramSettings(PlatformSettings):
    bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN"))
    webhook_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET"))
    api_base_url: str = Field("https://api.telegram.org/bot", validation_alias=AliasChoices("TELEGRAM_API_BASE_URL"))
    # `digestbot run` long-polls Telegram; Telegram allows one poller per bot (409 Conflict otherwise), so
    # with several `run` processes (or a webhook via `serve`) turn it off on all but one.
    polling: bool = Field(True, validation_alias=AliasChoices("DIGEST_TELEGRAM_POLLING"))
    # Morning posts started per second (the adapter's limiter keeps 30 messages/s overall, 1/s per chat).
    posts_per_s: float = Field(5.0, gt=0, validation_alias=AliasChoices("DIGEST_TELEGRAM_POSTS_PER_S"))

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str | None:
        return http_url(value)


class Telegram(ChatPlatform):
    name = "telegram"
    settings_model = TelegramSettings
    # The bot token (123456:AA…), also inside a Bot API URL (/bot123456:AA…/sendMessage).
    token_shapes = (r"(?:bot)?\d{6,12}:[A-Za-z0-9_-]{30,}",)
    subscribe_command = "/subscribe"
    own: TelegramSettings

    def configured(self) -> bool:
        return self.own.bot_token is not None

    def poster(self) -> Poster:
        """A poster on its own Application bot (with the adapter's flood-control limiter)."""
        from bot.telegram.app import build_application
        from bot.telegram.poster import TelegramPoster

        app = build_application(self.settings, None, polling=False)
        return TelegramPoster(app.bot, tz_name=self.settings.timezone, public_url=self.settings.public_url)

    def listeners(self, store: Store, stop: asyncio.Event) -> dict[str, Coroutine[Any, Any, None]]:
        if self.own.bot_token is None or not self.own.polling:
            return {}
        from bot.telegram.app import run_polling

        return {"telegram polling": run_polling(self.settings, store, stop)}

    def routes(self, store: Store, on_shutdown: OnShutdown) -> list[BaseRoute]:
        from bot.telegram import webhook

        return webhook.routes(self.settings, store, on_shutdown=on_shutdown)

    @classmethod
    def render(cls, reply: Reply) -> str:
        from bot.telegram.html import reply_to_messages

        return json.dumps(reply_to_messages(reply), ensure_ascii=False, indent=2)

    @classmethod
    def add_commands(cls, app: typer.Typer) -> None:
        from bot.telegram.cli import telegram_webhook

        app.command("telegram-webhook")(telegram_webhook)


PLATFORM = Telegram
