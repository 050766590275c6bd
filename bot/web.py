"""The ASGI app of `digestbot serve`: /healthz, /metrics, each chat platform's routes, and the archive pages."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot import webpages, wiring
from digest.settings import Settings
from digest.store import Store

log = logging.getLogger(__name__)


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


class Closers:
    """What the adapters opened, closed when the server stops (newest first), then the store: the app's lifespan."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.closers: list[Callable[[], Awaitable[None]]] = []

    def add(self, close: Callable[[], Awaitable[None]]) -> None:
        self.closers.append(close)

    async def _close_store(self) -> None:
        await self.store.close()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for close in [*reversed(self.closers), self._close_store]:
                try:
                    await close()
                except Exception:  # one failing close must not keep the others open
                    log.exception("shutdown: %s failed", getattr(close, "__qualname__", close))


def create_app(settings: Settings, store: Store) -> Starlette:
    """One app for every HTTP entry point; each chat platform contributes its routes (bot/wiring) and registers
    what it must close on shutdown (`closers.add`). The app owns `store` and closes it when the server stops."""
    closers = Closers(store)
    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics_endpoint)]
    routes += wiring.routes(settings, store, on_shutdown=closers.add)
    app = Starlette(routes=routes, lifespan=closers.lifespan)
    app.state.settings = settings
    app.state.store = store
    webpages.install(app)  # /, /d/<date>, /feed.xml, /static and the friendly 404/500 pages
    return app
