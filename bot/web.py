"""The ASGI app of `digestbot serve`: /healthz, and the routes each part of the bot mounts (Slack, Telegram, web)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot import webpages
from bot.slack.http import slack_routes
from digest.settings import Settings
from digest.store import Store


async def healthz(request: Request) -> JSONResponse:
    """200 with the last build and delivery while the store answers; 503 when it does not."""
    from bot.health import health

    ok, body = await health(request.app.state.store, request.app.state.settings)
    return JSONResponse(body, status_code=200 if ok else 503)


async def metrics_endpoint(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    from bot.health import ledger_metrics
    from bot.metrics import exposition

    text = exposition() + (await ledger_metrics(request.app.state.store, request.app.state.settings)).encode()
    return Response(text, media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings, store: Store) -> Starlette:
    """One app for every HTTP entry point; each adapter contributes its routes here, in one place."""
    from bot.telegram import webhook as telegram_webhook

    on_shutdown: list[Callable[[], Awaitable[None]]] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for close in on_shutdown:
            await close()

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics_endpoint)]
    routes += slack_routes(settings, store, on_shutdown)
    routes += telegram_webhook.routes(settings, store)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    webpages.install(app)  # /, /d/<date>, /feed.xml, /static and the friendly 404/500 pages
    return app
