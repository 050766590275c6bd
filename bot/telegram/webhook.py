"""POST /telegram/webhook: Telegram's updates in webhook mode, checked against TELEGRAM_WEBHOOK_SECRET.

The request only checks the secret and the update, queues it and answers 200: what the reply costs (a slow Bot
API, a 40-message answer, the Application's first getMe) is paid in the background, never by Telegram's request.
A full queue is a 503, which Telegram retries later; the once-key in the store makes a retried or twice-delivered
update answered once.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram.ext import Application

from bot import metrics
from bot.chatqueue import ChatQueue, QueueClosed
from bot.telegram.app import DRAIN_S, MAX_CHATS_AT_ONCE, MAX_QUEUED, build_application, register_commands
from bot.telegram.platform import TelegramSettings
from bot.telegram.updates import BadUpdate, answer_once, chat_key, read_update
from digest.settings import Settings
from digest.store.base import Store

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramWebhook:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        secret = TelegramSettings.of(settings, "telegram").webhook_secret
        self.secret = secret.get_secret_value().encode() if secret else None
        # Built now (no network); initialized (getMe) by the first queued update, off the request path.
        self.app: Application = build_application(settings, store, polling=False)  # type: ignore[type-arg]
        self.queue = ChatQueue("telegram webhook", max_pending=MAX_QUEUED, max_running=MAX_CHATS_AT_ONCE)
        self._init_lock = asyncio.Lock()
        self._initialized = False
        if self.secret is None:
            log.warning("TELEGRAM_WEBHOOK_SECRET is not set: /telegram/webhook refuses every request")

    async def ready(self) -> None:
        """Initialize the Application once (its bot's getMe); a failure is retried by the next update."""
        async with self._init_lock:
            if not self._initialized:
                await self.app.initialize()
                self._initialized = True

    def authorized(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return self.secret is not None and hmac.compare_digest(given, self.secret)

    async def handle(self, request: Request) -> Response:
        if not self.authorized(request):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        try:
            update = read_update(await request.body(), self.app.bot)
        except BadUpdate as exc:
            metrics.update_received("telegram", "malformed")
            log.info("telegram: refused a malformed update: %s", exc)
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)

        async def answer() -> None:
            await answer_once(self.app, self.store, update, ready=self.ready)

        try:
            queued = self.queue.submit(chat_key(update), answer)
        except QueueClosed:  # the server is stopping: Telegram keeps the update and sends it again
            return JSONResponse({"ok": False, "error": "shutting down, retry later"}, status_code=503)
        if not queued:
            metrics.update_received("telegram", "refused")
            log.warning("telegram: %d updates queued already; 503 so Telegram sends %d again later",
                        self.queue.pending, update.update_id)  # fmt: skip
            return JSONResponse({"ok": False, "error": "busy, retry later"}, status_code=503)
        metrics.update_received("telegram", "queued")
        return JSONResponse({"ok": True})

    async def close(self) -> None:
        """Answer what is queued (for up to DRAIN_S), then shut the Application down if it was initialized."""
        await self.queue.drain(DRAIN_S)
        async with self._init_lock:
            if self._initialized:
                await self.app.shutdown()
                self._initialized = False


async def set_webhook(settings: Settings, store: Store, url: str) -> None:
    """Point Telegram at `url` (…/telegram/webhook) with the secret, and register the commands."""
    secret = TelegramSettings.of(settings, "telegram").webhook_secret
    if secret is None:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET is not set; Telegram would send updates nobody can verify")
    app = build_application(settings, store, polling=False)
    async with app:
        await app.bot.set_webhook(
            url,
            secret_token=secret.get_secret_value(),
            allowed_updates=["message", "callback_query"],
        )
        await register_commands(app.bot, settings.lang)


def routes(
    settings: Settings, store: Store, on_shutdown: Callable[[Callable[[], Awaitable[None]]], None] | None = None
) -> list[BaseRoute]:
    """The webhook route when a bot token is configured; none otherwise. `on_shutdown` registers what the
    server must do when it stops (answer the queued updates, shut the Application down)."""
    if TelegramSettings.of(settings, "telegram").bot_token is None:
        return []
    hook = TelegramWebhook(settings, store)
    if on_shutdown is not None:
        on_shutdown(hook.close)
    return [Route("/telegram/webhook", hook.handle, methods=["POST"])]
