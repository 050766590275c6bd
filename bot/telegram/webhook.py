"""POST /telegram/webhook: Telegram's updates in webhook mode, checked against TELEGRAM_WEBHOOK_SECRET."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.ext import Application

from bot.telegram.app import build_application, register_commands
from bot.telegram.platform import TelegramSettings
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
        self._app: Application | None = None  # type: ignore[type-arg]
        self._lock = asyncio.Lock()
        if self.secret is None:
            log.warning("TELEGRAM_WEBHOOK_SECRET is not set: /telegram/webhook refuses every request")

    async def application(self) -> Application:  # type: ignore[type-arg]
        """Built and initialized on the first update, on the server's own event loop."""
        async with self._lock:
            if self._app is None:
                app = build_application(self.settings, self.store, polling=False)
                await app.initialize()
                self._app = app
            return self._app

    def authorized(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return self.secret is not None and hmac.compare_digest(given, self.secret)

    async def handle(self, request: Request) -> Response:
        if not self.authorized(request):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        try:
            data = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse({"ok": False, "error": "body is not JSON"}, status_code=400)
        app = await self.application()
        update = Update.de_json(data, app.bot) if isinstance(data, dict) else None
        if update is None:
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)
        # Handled before answering: Telegram sends the chat's next update only after this one is acknowledged.
        await app.process_update(update)
        return JSONResponse({"ok": True})

    async def close(self) -> None:
        """Shut the Application down (its bot's HTTP connections) if an update ever built it."""
        async with self._lock:
            app, self._app = self._app, None
        if app is not None:
            await app.shutdown()


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
    server must close when it stops (the Application, built on the first update)."""
    if TelegramSettings.of(settings, "telegram").bot_token is None:
        return []
    hook = TelegramWebhook(settings, store)
    if on_shutdown is not None:
        on_shutdown(hook.close)
    return [Route("/telegram/webhook", hook.handle, methods=["POST"])]
