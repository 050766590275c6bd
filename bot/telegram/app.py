"""The python-telegram-bot Application, built in one place for both modes (polling and webhook)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from telegram import Bot, BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

from bot.chatqueue import ChatQueue
from bot.commands.texts import text
from bot.telegram import handlers
from bot.telegram.handlers import COMMANDS, Deps
from bot.telegram.platform import TelegramSettings
from bot.telegram.poster import TelegramPoster
from bot.telegram.ratelimit import ChatRateLimiter
from bot.telegram.updates import answer_once, chat_key
from digest.models import LANGS, Lang
from digest.settings import ConfigError, Settings
from digest.store.base import Store

log = logging.getLogger(__name__)

MAX_QUEUED = 1000  # updates waiting or being answered (a webhook answers 503 past this; polling stops fetching)
MAX_CHATS_AT_ONCE = 32  # chats answered at the same time (the connection pool has 64)
DRAIN_S = 20.0  # on shutdown, queued updates get this long to be answered


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


async def run_polling(
    settings: Settings, store: Store, stop: asyncio.Event, ready: Callable[[], None] | None = None
) -> None:
    """Telegram in polling mode until `stop` is set (one of `digestbot run`'s listeners). `ready` is called once
    Telegram answered (getMe, the webhook removed). Fetched updates are answered as the webhook's are: once per
    update_id, in order within a chat, chats concurrently; fetching waits while the queue is full."""
    app = build_application(settings, store)
    queue = ChatQueue("telegram polling", max_pending=MAX_QUEUED, max_running=MAX_CHATS_AT_ONCE)
    async with app:
        await register_commands(app.bot, settings.lang)
        assert app.updater is not None
        await app.updater.start_polling(allowed_updates=["message", "callback_query"])
        log.info("telegram: polling as @%s", app.bot.username)
        if ready is not None:
            ready()
        try:
            await _answer_fetched(app, store, queue, stop)
        finally:
            await app.updater.stop()
            await queue.drain(DRAIN_S)


async def _answer_fetched(app: Application, store: Store, queue: ChatQueue, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    """Move what the Updater fetched into the queue until `stop` is set."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            fetching = asyncio.ensure_future(app.update_queue.get())
            await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetching.done():
                fetching.cancel()
                return
            update = fetching.result()
            if isinstance(update, Update):
                await queue.put(chat_key(update), functools.partial(answer_once, app, store, update))
    finally:
        stopping.cancel()
