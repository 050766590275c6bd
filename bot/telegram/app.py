"""The python-telegram-bot Application, built in one place for both modes (polling and webhook)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, BotCommand
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.telegram import handlers
from bot.telegram.handlers import COMMANDS, Deps
from bot.telegram.poster import TelegramPoster
from bot.telegram.ratelimit import ChatRateLimiter
from digest.settings import ConfigError, Settings
from digest.store.base import Store

log = logging.getLogger(__name__)


def file_url(api_base_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (the same host serves files)."""
    head, _, tail = api_base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if head else api_base_url


def build_application(
    settings: Settings, store: Store, *, polling: bool = True, rate_limiter: ChatRateLimiter | None = None
) -> Application:  # type: ignore[type-arg]
    """The Application with every handler; `polling=False` builds it without an Updater (webhook mode)."""
    if settings.telegram_bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set; create a bot with @BotFather and set its token")
    # httpx logs every request URL at INFO, and Telegram's URL carries the bot token.
    for name in ("httpx", "httpcore"):
        if logging.getLogger(name).getEffectiveLevel() < logging.WARNING or logging.getLogger(name).level == 0:
            logging.getLogger(name).setLevel(logging.WARNING)
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_url(settings.telegram_api_base_url))
        .rate_limiter(rate_limiter or ChatRateLimiter())
        .connection_pool_size(64)
        .pool_timeout(30.0)  # the rate limiter queues sends; waiting for a connection is not an error
    )
    if not polling:
        builder = builder.updater(None)
    app = builder.build()
    poster = TelegramPoster(app.bot, store, tz_name=settings.timezone, public_url=settings.public_url)
    app.bot_data["deps"] = Deps(settings, store, poster)

    app.add_handler(CommandHandler("start", handlers.on_start))
    app.add_handler(CommandHandler("help", handlers.on_help))
    app.add_handler(CommandHandler("paper", handlers.on_paper))
    app.add_handler(CommandHandler("digest", handlers.on_digest))
    app.add_handler(CommandHandler("subscribe", handlers.on_subscribe))
    app.add_handler(CommandHandler("unsubscribe", handlers.on_unsubscribe))
    app.add_handler(CommandHandler("settings", handlers.on_settings))
    app.add_handler(CallbackQueryHandler(handlers.on_section, pattern=r"^s\|"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, handlers.on_text))
    app.add_error_handler(handlers.on_error)
    return app


def poster_of(app: Application) -> TelegramPoster:  # type: ignore[type-arg]
    """The poster sharing the application's bot, so its sends share one rate limiter with the replies."""
    return app.bot_data["deps"].poster  # type: ignore[no-any-return]


async def register_commands(bot: Bot, lang: str = "ko") -> None:
    """setMyCommands: clients then list the commands with a description when the user types "/".

    Korean and English apps get their own descriptions; every other app language gets the deployment's."""
    await bot.set_my_commands([BotCommand(name, ko if lang == "ko" else en) for name, ko, en in COMMANDS])
    await bot.set_my_commands([BotCommand(name, ko) for name, ko, _ in COMMANDS], language_code="ko")
    await bot.set_my_commands([BotCommand(name, en) for name, _, en in COMMANDS], language_code="en")


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
