"""`POST /slack/events` in the ASGI app of `digestbot serve`: slash commands, interactions and events over HTTP.

The request's signature (SLACK_SIGNING_SECRET, 5-minute window) is checked here before bolt sees the request:
bolt logs the whole body of every request it refuses, and nobody's body belongs in a log. bolt checks it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.slack.app import build_app, close_app
from bot.slack.platform import SlackSettings
from digest.settings import Settings
from digest.store import Store

PATH = "/slack/events"

log = logging.getLogger(__name__)


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
    verifier = SignatureVerifier(own.signing_secret.get_secret_value())
    if on_shutdown is not None:
        on_shutdown(lambda: close_app(app))

    async def events(request: Request) -> Response:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        # A timestamp that is not a number would make the verifier raise: refuse it like any bad signature.
        signed = timestamp.isdigit() and verifier.is_valid(
            await request.body(), timestamp, request.headers.get("x-slack-signature", "")
        )
        if not signed:
            log.info("slack: refused a request with a missing or wrong signature")
            return PlainTextResponse("invalid request", status_code=401)
        return await handler.handle(request)  # the same Request: bolt reads the body already read above

    return [Route(PATH, events, methods=["POST"])]
