"""`POST /slack/events` in the ASGI app of `digestbot serve`: slash commands, interactions and events over HTTP.

bolt verifies each request's signature (SLACK_SIGNING_SECRET, 5-minute window) before any listener runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.slack.app import build_app, close_app
from bot.slack.platform import SlackSettings
from digest.settings import Settings
from digest.store import Store

PATH = "/slack/events"


def slack_routes(
    settings: Settings, store: Store, on_shutdown: Callable[[Callable[[], Awaitable[None]]], None] | None = None
) -> list[BaseRoute]:
    """The route; `on_shutdown` registers what the app opens and must close when the server stops."""
    own = SlackSettings.of(settings, "slack")
    if own.bot_token is None or own.signing_secret is None:

        async def not_configured(request: Request) -> Response:
            return PlainTextResponse(
                "Slack is not configured here: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET", status_code=503
            )

        return [Route(PATH, not_configured, methods=["POST"])]

    app = build_app(settings, store)
    handler = AsyncSlackRequestHandler(app)
    if on_shutdown is not None:
        on_shutdown(lambda: close_app(app))

    async def events(request: Request) -> Response:
        # A timestamp that is not a number would make the verifier raise: refuse it like any bad signature.
        if not request.headers.get("x-slack-request-timestamp", "").isdigit():
            return PlainTextResponse("invalid request", status_code=401)
        return await handler.handle(request)

    return [Route(PATH, events, methods=["POST"])]
