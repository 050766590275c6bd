"""The ASGI app of `digestbot serve`: /healthz, and the routes each part of the bot mounts (Slack, Telegram, web)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.slack.http import slack_routes
from digest.settings import Settings
from digest.store import Store


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def create_app(settings: Settings, store: Store) -> Starlette:
    """One app for every HTTP entry point; each adapter contributes its routes here, in one place."""
    routes: list[BaseRoute] = [Route("/healthz", healthz)]
    routes += slack_routes(settings, store)
    app = Starlette(routes=routes)
    app.state.settings = settings
    app.state.store = store
    return app
