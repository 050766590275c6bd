"""The python-telegram-bot Application, built in one place for both modes (polling and webhook)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, BotCommand
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

from bot.commands.texts import text
from bot.telegram import handlers
from bot.telegram.handlers import COMMANDS, Deps
from bot.telegram.platform import TelegramSettings
from bot.telegram.poster import TelegramPoster
from bot.telegram.ratelimit import ChatRateLimiter
from digest.models import LANGS, Lang
from digest.settings import ConfigError, Settings
from digest.store.base import Store

log = logging.getLogger(__name__)


def file_url(api_base_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (the same host serves files)."""
    head, _, tail = api_base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if head else api_base_url


def build_application(
    settings: Settings, store: Store | None, *, polling: bool = True, rate_limiter: ChatRateLimiter | None = None
) -> Application:  # type: ignore[type-arg]
    """The Application with every handler; `polling=False` builds it without an Updater (webhook mode).
    `store` None: an Application that only sends (the morning poster), never handles updates."""
    own = TelegramSettings.of(settings, "telegram")
    if own.bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set; create a bot with @BotFather and set its token")
    # httpx logs every request URL at INFO, and Telegram's URL carries the bot token.
    for name in ("httpx", "httpcore", "telegram.ext.Updater"):
        if logging.getLogger(name).getEffectiveLevel() < logging.WARNING or logging.getLogger(name).level == 0:
            logging.getLogger(name).setLevel(logging.WARNING)
    builder = (
        ApplicationBuilder()
        .token(own.bot_token.get_secret_value())
        .base_url(own.api_base_url)
        .base_file_url(file_url(own.api_base_url))
        .rate_limiter(rate_limiter or ChatRateLimiter())
        .connection_pool_size(64)
        .pool_timeout(30.0)  # the rate limiter queues sends; waiting for a connection is not an error
    )
    if not polling:
        builder = builder.updater(None)
    app = builder.build()
    app.bot_data["poster"] = TelegramPoster(app.bot, tz_name=settings.timezone, public_url=settings.public_url)
    if store is None:
        return app
    app.bot_data["deps"] = Deps(settings, store)
    # One handler for every command, so each one (also /sections, also an unknown one) gets the engine's answer.
    app.add_handler(MessageHandler(filters.COMMAND, handlers.on_command))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, handlers.on_text))
    app.add_handler(CallbackQueryHandler(handlers.on_button))  # every button, ours or not, is answered
    app.add_error_handler(handlers.on_error)
    return app


def poster_of(app: Application) -> TelegramPoster:  # type: ignore[type-arg]
    """The poster sharing the application's bot, so its sends share one rate limiter with the replies."""
    return app.bot_data["poster"]  # type: ignore[no-any-return]


def _bot_commands(lang: Lang) -> list[BotCommand]:
    return [BotCommand(name, text(lang, f"cmd_{name}")) for name in COMMANDS]


async def register_commands(bot: Bot, lang: Lang = "ko") -> None:
    """setMyCommands: clients then list the commands with a description when the user types "/".

    Each language of the bot gets its own descriptions; every other app language gets the deployment's."""
    await bot.set_my_commands(_bot_commands(lang))
    for each in LANGS:
        await bot.set_my_commands(_bot_commands(each), language_code=each)


async def run_polling(settings: Settings, store: Store, stop: asyncio.Event) -> None:
    """Telegram in polling mode until `stop` is set (what `digestbot run` calls, next to Slack and the scheduler)."""
    app = build_application(settings, store)
    async with app:
        await register_commands(app.bot, settings.lang)
        assert app.updater is not None
        await app.updater.start_polling(allowed_updates=["message", "callback_query"])
        await app.start()
        log.info("telegram: polling as @%s", app.bot.username)
        try:
            await stop.wait()
        finally:
            await app.updater.stop()
            await app.stop()
